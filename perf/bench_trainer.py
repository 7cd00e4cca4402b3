"""Trainer throughput: images/s and seconds per epoch of the Inception-like cell at batch 256.

Baseline: TPU v2 in the dataset, 1,155.85 s for 108 epochs of 40,000 images (about 3,740
images/s); the goal on one GPU is 3x that with mixed precision and XLA.  Also the input
pipeline's batches/s.  ``BENCH_TRAIN_DATA=<cifar source>`` adds a real 4-epoch run of the same
cell (accuracies to compare with the table).  Needs the trainer extra; skipped without it.
"""
from __future__ import annotations

import importlib.util
import os
import time

import numpy as np

from .common import QUICK, row

TPU_V2_IMAGES_PER_S = 40_000 * 108 / 1155.85
INCEPTION = ([[0, 1, 1, 1, 0, 1, 0], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1],
              [0, 0, 0, 0, 1, 0, 0], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1],
              [0, 0, 0, 0, 0, 0, 0]],
             ["input", "conv1x1-bn-relu", "conv3x3-bn-relu", "conv3x3-bn-relu",
              "conv3x3-bn-relu", "maxpool3x3", "output"])


def throughput(config, steps: int, warmup: int) -> float:
    """Training images/s of the Inception-like network on random images (input thread included)."""
    from benchmark.space import ModelSpec
    from trainer.augment import prefetch, training_batches
    from trainer.backend import keras
    from trainer.cifar import Split
    from trainer.train import compiled

    keras().backend.clear_session()
    rng = np.random.default_rng(0)
    model = compiled(ModelSpec(*INCEPTION), config, rng, warmup + steps)
    split = Split(rng.integers(0, 256, (4096, 32, 32, 3), dtype=np.uint8),
                  rng.integers(0, 10, 4096).astype(np.int32))
    batches = prefetch(training_batches(split, config.batch_size, rng))
    model.fit(batches, steps_per_epoch=warmup, epochs=1, verbose=0, shuffle=False)
    t0 = time.perf_counter()
    model.fit(batches, steps_per_epoch=steps, epochs=1, verbose=0, shuffle=False)
    seconds = time.perf_counter() - t0
    batches.close()
    return steps * config.batch_size / seconds


def main() -> None:
    if importlib.util.find_spec("keras") is None:
        print("  skipped: the trainer extra (keras + a backend) is not installed")
        return
    from trainer.augment import training_batches
    from trainer.backend import keras
    from trainer.cifar import Split
    from trainer.config import TrainConfig

    k = keras()
    rng = np.random.default_rng(0)
    split = Split(rng.integers(0, 256, (4096, 32, 32, 3), dtype=np.uint8),
                  np.zeros(4096, dtype=np.int32))
    it = training_batches(split, 256, rng)
    t0 = time.perf_counter()
    for _ in range(50):
        next(it)
    row("input pipeline, batches of 256 per second (1 thread)",
        f"{50 / (time.perf_counter() - t0):.0f}")
    device = k.backend.backend()
    accelerator = False
    if device == "jax":
        import jax

        accelerator = jax.devices()[0].platform != "cpu"
        device += f" on {jax.devices()[0].device_kind}"
    print(f"  backend: {device}; TPU v2 baseline {TPU_V2_IMAGES_PER_S:,.0f} images/s")
    full = TrainConfig()
    full_run = not QUICK and (accelerator or bool(os.environ.get("BENCH_TRAINER_FULL")))
    if not full_run:
        print("  no accelerator (or PERF_QUICK): the tiny network only; the full network on a "
              "CPU takes minutes per step (BENCH_TRAINER_FULL=1 forces it)")
        variants = [("tiny network, float32, XLA", TrainConfig.tiny(batch_size=256), 5, 2)]
    else:
        variants = [("float32, XLA", full, 200, 30),
                    ("mixed bf16, XLA", full.replace(mixed_precision=True), 200, 30),
                    ("mixed bf16, XLA, 10 steps per execution",
                     full.replace(mixed_precision=True, steps_per_execution=10), 300, 30)]
    for name, config, steps, warmup in variants:
        ips = throughput(config, steps, warmup)
        row(f"Inception-like, batch 256, {name}: images/s", f"{ips:,.0f}",
            f"x{ips / TPU_V2_IMAGES_PER_S:.2f} TPU v2 (goal >= 3)",
            ips >= 3 * TPU_V2_IMAGES_PER_S if full_run else None)
        row("  seconds per epoch (40,000 images)", f"{40_000 / ips:.2f}")
    source = os.environ.get("BENCH_TRAIN_DATA")
    if source:
        from benchmark.space import ModelSpec
        from trainer.cifar import load
        from trainer.train import train

        data = load(source)
        for seed in (0, 1):
            t0 = time.perf_counter()
            result = train(ModelSpec(*INCEPTION), 4, data,
                           full.replace(mixed_precision=True, steps_per_execution=10),
                           seed=seed, progress=False)
            half, final = result.evaluations[1:]
            row(f"4-epoch run seed {seed}: train/valid/test accuracy",
                f"{final.train_accuracy:.4f}/{final.validation_accuracy:.4f}/"
                f"{final.test_accuracy:.4f}")
            row("  halfway valid, training time, wall time [s]",
                f"{half.validation_accuracy:.4f}, {final.training_time:.1f}, "
                f"{time.perf_counter() - t0:.1f}")


if __name__ == "__main__":
    main()
