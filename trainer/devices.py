"""Where a run trains: the backend's default device, one chosen device, or data parallel over
every device of a kind (Keras ``DataParallel`` on JAX, a ``tf.distribute`` strategy on
TensorFlow: ``MirroredStrategy`` for CPUs/GPUs, ``TPUStrategy`` for TPUs).

Batch normalisation statistics: over the whole batch on JAX (one SPMD program), per device
under ``MirroredStrategy`` (as the original's TPU shards)."""
from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

from benchmark.space.errors import InputError

from .backend import keras as _keras
from .config import TrainConfig

log = logging.getLogger(__name__)


@contextlib.contextmanager
def placement(config: TrainConfig) -> Iterator[int]:
    """Build, compile and train inside this; yields the number of devices a batch is split over."""
    keras = _keras()
    kind = config.device
    if not config.data_parallel:
        if kind is None:
            yield 1
        else:
            with keras.device(f"{kind}:0"):
                yield 1
        return
    backend = keras.backend.backend()
    if backend == "jax":
        devices = keras.distribution.list_devices(kind)
        _check_split(config, len(devices), kind)
        with keras.distribution.DataParallel(devices=devices).scope():
            yield len(devices)
    elif backend == "tensorflow":
        strategy = _tf_strategy(kind)
        _check_split(config, strategy.num_replicas_in_sync, kind)
        with strategy.scope():
            yield strategy.num_replicas_in_sync
    else:
        raise InputError(f"data parallel training needs the JAX or TensorFlow backend, not "
                         f"{backend}")


def jit_compile(config: TrainConfig) -> bool:
    """Whether to compile with XLA: TensorFlow cannot run an XLA-compiled step over a
    ``MirroredStrategy``'s per-device variables, so data parallel TF on CPUs/GPUs runs without."""
    keras = _keras()
    if (config.xla and config.data_parallel and config.device != "tpu"
            and keras.backend.backend() == "tensorflow"):
        log.info("XLA is off for data parallel training with TensorFlow's MirroredStrategy")
        return False
    return config.xla


def _check_split(config: TrainConfig, n: int, kind: str | None) -> None:
    devices = f"{kind} devices" if kind else "devices"
    if n < 1:
        raise InputError(f"no {devices} for data parallel training")
    if config.batch_size % n:
        raise InputError(f"batch size {config.batch_size} does not split over {n} {devices}")


def _tf_strategy(kind: str | None):
    import tensorflow as tf

    if kind == "tpu":
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return tf.distribute.TPUStrategy(resolver)
    devices = [d.name for d in tf.config.list_logical_devices((kind or "gpu").upper())]
    return tf.distribute.MirroredStrategy(devices=devices or None)
