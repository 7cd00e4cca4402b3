"""Import Keras 3 with a usable backend: ``KERAS_BACKEND`` if set, else the first installed of
JAX (the ``trainer`` extra), TensorFlow (``trainer-tf``) and PyTorch.  Every trainer module
imports Keras through :func:`keras`."""
from __future__ import annotations

import importlib.util
import logging
import os
from types import ModuleType

from benchmark.space.errors import UserError

_BACKENDS = (("jax", "jax"), ("tensorflow", "tensorflow"), ("torch", "torch"))


class TrainerUnavailable(UserError, ImportError):
    """The trainer extra (Keras 3 plus a backend) is not installed."""


def keras() -> ModuleType:
    """The ``keras`` module, with a backend chosen before its first import."""
    if "KERAS_BACKEND" not in os.environ:
        for backend, module in _BACKENDS:
            if importlib.util.find_spec(module) is not None:
                os.environ["KERAS_BACKEND"] = backend
                break
        else:
            raise TrainerUnavailable(
                "the trainer needs Keras 3 and one of TensorFlow, JAX or PyTorch: "
                "pip install 'nasbench-harness[trainer]'")
    # JAX logs at INFO that it found no TPU on every start; that is not news.
    logging.getLogger("jax._src.xla_bridge").setLevel(logging.WARNING)
    try:
        import keras as module
    except ImportError as exc:
        raise TrainerUnavailable(f"the trainer needs Keras 3 ({exc}): "
                                 "pip install 'nasbench-harness[trainer]'") from None
    if int(module.__version__.split(".")[0]) < 3:
        raise TrainerUnavailable(f"the trainer needs Keras 3, found {module.__version__}")
    return module
