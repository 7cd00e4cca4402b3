"""Train one cell at one budget and measure it as the original ``evaluate.py`` did.

One step with learning rate 0 initialises the batch-norm statistics, then the first
evaluation; then training to each fraction of the budget in ``config.evaluations`` (by
default 1/2 and 1) with an evaluation after each.  An evaluation measures accuracy on
``images // batch`` full batches (39 x 256 = 9,984 images) of batch 1 (train), batch 5
(validation) and the test set.  ``training_time`` counts training only, ``total_time``
everything.  A loss that becomes NaN restarts the run with fresh weights, up to
``config.max_attempts`` attempts.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np

from benchmark.space.errors import InputError
from benchmark.space.params import trainable_parameters
from benchmark.space.spec import ModelSpec

from .augment import normalise, prefetch, training_batches
from .backend import keras as _keras
from .cifar import Cifar10, Split
from .config import TrainConfig
from .devices import jit_compile, placement
from .network import build_network, trainable_parameter_count
from .optimizer import make_optimizer

log = logging.getLogger(__name__)


class TrainingDiverged(RuntimeError):
    """Every attempt of a run hit a NaN loss."""


class TrainingStopped(RuntimeError):
    """The run's deadline passed before it finished (``train(..., deadline=...)``)."""


@dataclass(frozen=True)
class Evaluation:
    """One ``EvaluationData`` entry of ``ModelMetrics``."""

    epoch: float
    training_time: float
    train_accuracy: float
    validation_accuracy: float
    test_accuracy: float
    steps: int


@dataclass(frozen=True)
class TrainResult:
    """The ``ModelMetrics`` of one run, plus how it was obtained."""

    module_hash: str
    epochs: int
    matrix: list[list[int]]
    ops: list[str]
    trainable_parameters: int
    evaluations: list[Evaluation]
    total_time: float
    attempts: int = 1
    images_per_second: float = field(default=0.0, compare=False)

    def run_values(self) -> tuple[float, ...]:
        """Halfway and final (training_time, train, validation, test accuracy): RUN_FIELDS order."""
        half, final = self.evaluations[-2], self.evaluations[-1]
        return tuple(float(v) for e in (half, final) for v in (
            e.training_time, e.train_accuracy, e.validation_accuracy, e.test_accuracy))


def build(spec: ModelSpec, config: TrainConfig, rng: np.random.Generator):
    """A fresh network for ``spec``; its parameter count is checked against the analytic one."""
    model = build_network(spec, config, rng)
    expected = trainable_parameters(spec.matrix, spec.ops, **config.network())
    actual = trainable_parameter_count(model)
    if actual != expected:  # a bug in the network builder: never write such a record
        raise AssertionError(f"network has {actual} trainable parameters, "
                             f"the space says {expected}")
    return model


def compiled(spec: ModelSpec, config: TrainConfig, rng: np.random.Generator, total_steps: int):
    """A fresh network, compiled with the run's optimizer for ``total_steps`` steps."""
    keras = _keras()
    model = build(spec, config, rng)
    model.compile(optimizer=make_optimizer(config, total_steps),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  jit_compile=jit_compile(config),
                  steps_per_execution=config.steps_per_execution)
    return model


def evaluation_set(split: Split, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
    """The first ``len(split) // batch_size`` full batches, normalised, and their labels."""
    n = len(split) // batch_size * batch_size
    if n == 0:
        raise InputError(f"{len(split)} evaluation images are fewer than one batch ({batch_size})")
    return normalise(split.images[:n]), split.labels[:n]


def accuracy(model, images: np.ndarray, labels: np.ndarray, batch_size: int) -> float:
    """Accuracy on an :func:`evaluation_set`."""
    chunk, model.steps_per_execution = model.steps_per_execution, 1  # see _Stepper
    try:
        logits = model.predict(images, batch_size=batch_size, verbose=0)
    finally:
        model.steps_per_execution = chunk
    return float(np.mean(np.argmax(logits, axis=1) == labels))


def train(spec: ModelSpec, epochs: int, data: Cifar10, config: TrainConfig | None = None,
          seed: int | np.random.SeedSequence = 0, progress: bool = True,
          deadline: float | None = None) -> TrainResult:
    """Train ``spec`` for ``epochs`` epochs on ``data`` and evaluate it (see module docstring).

    ``deadline`` (a ``time.time()`` instant): past it, training stops at the next step (or
    chunk of ``steps_per_execution`` steps) and :class:`TrainingStopped` is raised."""
    config = config or TrainConfig()
    if not spec.valid_spec:
        raise InputError(f"the cell {spec!r} is not valid: its input does not reach its output")
    if epochs <= 0:
        raise InputError(f"epochs must be positive, got {epochs}")
    data = data.subset(config.train_images, config.eval_images)
    sequence = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    init_seq, data_seq = sequence.spawn(2)
    init_rng, data_rng = np.random.default_rng(init_seq), np.random.default_rng(data_seq)
    # train (batch 1), validation, test: normalised once for every evaluation and attempt
    evals = [evaluation_set(split, config.batch_size)
             for split in (data.train_eval, data.valid, data.test)]
    for attempt in range(1, config.max_attempts + 1):
        _keras().backend.clear_session()  # outside the placement: it resets TF's graph
        with placement(config):
            result = _attempt(spec, epochs, data.train, evals, config, init_rng, data_rng,
                              progress, deadline)
        if result is not None:
            return TrainResult(**{**result.__dict__, "attempts": attempt})
        log.warning("%s at %d epochs: NaN loss on attempt %d of %d", spec.hash(), epochs,
                    attempt, config.max_attempts)
    raise TrainingDiverged(f"{spec.hash()} at {epochs} epochs: NaN loss in all "
                           f"{config.max_attempts} attempts")


def _attempt(spec: ModelSpec, epochs: int, train_split: Split, evals: list, config: TrainConfig,
             init_rng: np.random.Generator, data_rng: np.random.Generator,
             progress: bool, deadline: float | None) -> TrainResult | None:
    keras = _keras()
    start = time.perf_counter()
    boundaries = [config.steps(f * epochs, len(train_split)) for f in config.evaluations]
    total_steps = boundaries[-1]
    model = compiled(spec, config, init_rng, total_steps)
    batches = prefetch(training_batches(train_split, config.batch_size, data_rng))
    bar = _progress_bar(total_steps, f"{spec.hash()[:8]} {epochs} ep", progress)
    callbacks = [bar, keras.callbacks.TerminateOnNaN()]
    if deadline is not None:
        callbacks.append(_deadline_callback(deadline))
    stepper = _Stepper(model, batches, config.steps_per_execution, callbacks)
    evaluations = []
    trained = 0.0
    done = 0
    try:
        epochs_at = [0.0, *(f * epochs for f in config.evaluations)]
        for target, epoch in zip([1, *boundaries], epochs_at):
            if target > done:
                t0 = time.perf_counter()
                loss = stepper.run(target - done)
                trained += time.perf_counter() - t0
                done = target
                if deadline is not None and time.time() >= deadline:
                    raise TrainingStopped(f"{spec.hash()} at {epochs} epochs: deadline passed "
                                          f"after {_steps_done(model)} steps")
                if not np.isfinite(loss):
                    return None
                if _steps_done(model) != done:  # a Keras change would be silent
                    raise AssertionError(f"optimizer ran {_steps_done(model)} "
                                         f"steps, expected {done}")
            train_acc, valid_acc, test_acc = (accuracy(model, x, y, config.batch_size)
                                              for x, y in evals)
            evaluations.append(Evaluation(
                epoch=float(epoch), training_time=trained if epoch else 0.0,
                train_accuracy=train_acc, validation_accuracy=valid_acc, test_accuracy=test_acc,
                steps=done))
    finally:
        bar.close()
        batches.close()
    total = time.perf_counter() - start
    return TrainResult(
        module_hash=spec.hash(), epochs=int(epochs), matrix=spec.matrix.tolist(),
        ops=list(spec.ops), trainable_parameters=trainable_parameter_count(model),
        evaluations=evaluations, total_time=total,
        images_per_second=(total_steps - 1) * config.batch_size / max(trained, 1e-9))


def _steps_done(model) -> int:
    """The optimizer's step counter (a mirrored variable under a tf.distribute strategy)."""
    return int(np.asarray(model.optimizer.iterations.numpy()))


class _Stepper:
    """Runs exactly ``n`` training steps through ``model.fit``.

    Keras rounds a fit up to whole ``steps_per_execution`` chunks, so the remainder runs on a
    second, single-step train function; both compiled functions are kept and swapped.
    """

    def __init__(self, model, batches, steps_per_execution: int, callbacks: list):
        self.model, self.batches, self.chunk, self.callbacks = (
            model, batches, steps_per_execution, callbacks)
        self.functions: dict[int, object] = {}

    def run(self, n: int) -> float:
        """Train ``n`` steps; returns the last loss (NaN if training stopped on NaN)."""
        loss = float("nan")
        whole = n // self.chunk * self.chunk
        for count, per in ((whole, self.chunk), (n - whole, 1)):
            if count:
                self._use(per)
                history = self.model.fit(self.batches, steps_per_epoch=count, epochs=1,
                                         verbose=0, shuffle=False, callbacks=self.callbacks)
                loss = float(history.history.get("loss", [float("nan")])[-1])
                if not np.isfinite(loss):
                    break
        return loss

    def _use(self, per: int) -> None:
        model = self.model
        if model.steps_per_execution == per:
            return
        self.functions[model.steps_per_execution] = model.train_function
        model.steps_per_execution = per
        model.train_function = self.functions.get(per)  # None: the next fit compiles it


def _deadline_callback(deadline: float):
    """A Keras callback that stops training once ``time.time()`` passes ``deadline``."""

    class Deadline(_keras().callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if time.time() >= deadline:
                self.model.stop_training = True

    return Deadline()


def _progress_bar(total: int, desc: str, enabled: bool):
    """A Keras callback that drives a tqdm bar over training steps (``close()`` when done)."""
    from tqdm import tqdm

    class ProgressBar(_keras().callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.tqdm = tqdm(total=total, desc=desc, unit="step", disable=not enabled,
                             leave=False)
            self.base = 0

        def on_train_begin(self, logs=None):
            self.base = self.tqdm.n

        def on_train_batch_end(self, batch, logs=None):
            # ``batch`` is the last step of the chunk that ended (steps_per_execution)
            self.tqdm.update(self.base + batch + 1 - self.tqdm.n)

        def close(self):
            self.tqdm.close()

    return ProgressBar()
