"""Drop-in versions of the APIs researchers' code is written against, over our stores.

- :mod:`benchmark.compat.nasbench_api`: google-research/nasbench's ``nasbench.api``
  (``import benchmark.compat.nasbench_api as api`` runs the original colab unchanged).
- :mod:`benchmark.compat.nas_benchmarks`: automl/nas_benchmarks' ``tabular_benchmarks``
  ``NASCifar10A/B/C``, the code behind the paper's optimizer comparison.
- :mod:`benchmark.compat.hpobench`: HPOBench's ``NASCifar10{A,B,C}Benchmark``.

Each keeps the original's names, arguments, return structures and errors; where the original
used a process-wide RNG (``random``, ``np.random``) these draw from a ``numpy.random.Generator``
seeded from the constructor's ``seed``/``rng``.
"""
