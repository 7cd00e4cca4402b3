"""Hyperparameters of the pipeline that produced NAS-Bench-101 (the original ``config.py``)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from benchmark.space.constants import (
    NUM_LABELS,
    NUM_MODULES_PER_STACK,
    NUM_STACKS,
    STEM_FILTER_SIZE,
)
from benchmark.space.errors import InputError

#: Kinds of device a run can be placed on (``TrainConfig.device``).
DEVICE_KINDS = ("cpu", "gpu", "tpu")

#: Images of each split in the original pipeline (train = batches 1-4, valid = batch 5).
TRAIN_IMAGES = 40_000
EVAL_IMAGES = 10_000


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run except the cell, the budget and the seed.

    The defaults are the values used for the whole table: learning rate 0.1 scaled by the
    2 TPU shards, RMSProp (decay 0.9, momentum 0.9, epsilon 1.0), cosine decay by step,
    L2 1e-4 on every trainable variable, batch 256, BN momentum 0.997 and epsilon 1e-5.
    """

    stem_channels: int = STEM_FILTER_SIZE
    num_stacks: int = NUM_STACKS
    modules_per_stack: int = NUM_MODULES_PER_STACK
    num_labels: int = NUM_LABELS
    batch_size: int = 256
    learning_rate: float = 0.2
    momentum: float = 0.9
    rms_decay: float = 0.9
    rms_epsilon: float = 1.0
    weight_decay: float = 1e-4
    bn_momentum: float = 0.997
    bn_epsilon: float = 1e-5
    #: Fractions of the budget with an evaluation besides step 0 (the last one must be 1).
    evaluations: tuple[float, ...] = (0.5, 1.0)
    #: A run whose loss becomes NaN is started again, at most this many attempts in all.
    max_attempts: int = 5
    #: Training images used (None: all 40,000) and images per evaluated split (None: 10,000).
    train_images: int | None = None
    eval_images: int | None = None
    #: bfloat16 compute with float32 variables (Keras ``mixed_bfloat16``).
    mixed_precision: bool = False
    #: Compile the train and evaluation steps with XLA (Keras ``jit_compile``).
    xla: bool = True
    #: Training steps per compiled call (Keras ``steps_per_execution``): fewer host round trips.
    steps_per_execution: int = 1
    #: "cpu", "gpu" or "tpu" (None: the backend's default device).
    device: str | None = None
    #: Split every batch over all devices of that kind (see ``trainer.devices``).
    data_parallel: bool = False

    def __post_init__(self) -> None:
        for name in ("stem_channels", "num_stacks", "modules_per_stack", "num_labels",
                     "batch_size", "max_attempts", "steps_per_execution"):
            if int(getattr(self, name)) < 1:
                raise InputError(f"TrainConfig.{name} must be >= 1, got {getattr(self, name)!r}")
        if self.device is not None and self.device not in DEVICE_KINDS:
            raise InputError(f"TrainConfig.device must be cpu, gpu or tpu, got {self.device!r}")
        if not self.evaluations or list(self.evaluations) != sorted(self.evaluations) \
                or self.evaluations[-1] != 1.0 or self.evaluations[0] <= 0:
            raise InputError(f"TrainConfig.evaluations must rise to 1.0, got {self.evaluations}")

    @classmethod
    def tiny(cls, **changes) -> TrainConfig:
        """A network and data small enough for CPU tests: 16 channels, one cell per stack.

        2,000 training images at batch 50 make 40 steps per epoch, far too few for BN moving
        averages with momentum 0.997 to settle, so the tiny run uses 0.9.
        """
        base = dict(stem_channels=16, modules_per_stack=1, batch_size=50, train_images=2000,
                    eval_images=500, learning_rate=0.1, bn_momentum=0.9)
        return cls(**{**base, **changes})

    def replace(self, **changes) -> TrainConfig:
        return dataclasses.replace(self, **changes)

    def network(self) -> dict[str, int]:
        """The keyword arguments of ``benchmark.space.params.trainable_parameters``."""
        return dict(stem_channels=self.stem_channels, num_stacks=self.num_stacks,
                    modules_per_stack=self.modules_per_stack, num_labels=self.num_labels)

    def steps(self, epochs: float, train_images: int) -> int:
        """Steps after ``epochs`` epochs: ``int(epochs * images / batch)`` as the original."""
        return int(epochs * train_images / self.batch_size)
