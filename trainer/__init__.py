"""The fixed NAS-Bench-101 training pipeline (Keras 3: TensorFlow, JAX or PyTorch backend).

An optional extra (``pip install nasbench-harness[trainer]``): nothing outside ``trainer``
imports it, and it depends only on :mod:`benchmark.space`.

- :mod:`trainer.backend`: imports Keras with an installed backend (TensorFlow, JAX, PyTorch).
- :mod:`trainer.config`: the paper's hyperparameters (``TrainConfig``) and a tiny CPU variant.
- :mod:`trainer.cifar`: CIFAR-10 from the official tarball or an image-folder layout.
- :mod:`trainer.augment`: padding, random crop, flip and normalisation of uint8 batches.
- :mod:`trainer.network`: the network for a cell spec, layer for layer as ``model_builder``.
- :mod:`trainer.optimizer`: RMSProp with TensorFlow 1 semantics, L2 decay, cosine schedule.
- :mod:`trainer.train`: train one (cell, budget, seed) and return its ``ModelMetrics`` fields.
"""
