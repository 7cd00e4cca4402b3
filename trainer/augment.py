"""Input batches: the original's augmentation and normalisation on uint8 arrays with numpy.

Training images are padded with 4 zero pixels per side, randomly cropped back to 32x32 and
flipped left-right with probability 1/2, then normalised with the original per-channel
``RGB_MEAN`` / ``RGB_STD`` (padding happens before normalisation, as in ``cifar.py``).
The stream reshuffles every epoch and batches run across epoch boundaries, as
``shuffle_and_repeat`` + ``batch(drop_remainder=True)`` did.
"""
from __future__ import annotations

import queue
import threading
from collections.abc import Iterator

import numpy as np

from benchmark.space.errors import InputError

from .cifar import Split

RGB_MEAN = np.array([125.31, 122.95, 113.87], dtype=np.float32)
RGB_STD = np.array([62.99, 62.09, 66.70], dtype=np.float32)
PAD = 4


def normalise(images: np.ndarray) -> np.ndarray:
    """uint8 NHWC -> float32, per-channel standardised."""
    return (images.astype(np.float32) - RGB_MEAN) / RGB_STD


def augment(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Pad-crop-flip a uint8 batch (N, 32, 32, 3); returns a new uint8 array."""
    n, h, w, _ = images.shape
    padded = np.pad(images, ((0, 0), (PAD, PAD), (PAD, PAD), (0, 0)))
    oy = rng.integers(0, 2 * PAD + 1, size=n)
    ox = rng.integers(0, 2 * PAD + 1, size=n)
    rows = oy[:, None] + np.arange(h)                      # (n, h)
    cols = ox[:, None] + np.arange(w)                      # (n, w)
    flip = rng.random(n) < 0.5
    cols = np.where(flip[:, None], cols[:, ::-1], cols)
    return padded[np.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]]


def training_batches(split: Split, batch_size: int, rng: np.random.Generator,
                     ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Endless augmented, normalised batches from a per-epoch shuffled stream."""
    if len(split) < batch_size:
        raise InputError(f"{len(split)} training images are fewer than one batch ({batch_size})")
    order = np.empty(0, dtype=np.int64)
    while True:
        while len(order) < batch_size:
            order = np.concatenate([order, rng.permutation(len(split))])
        take, order = order[:batch_size], order[batch_size:]
        yield normalise(augment(split.images[take], rng)), split.labels[take]


def prefetch(batches: Iterator, depth: int = 4) -> Iterator:
    """Produce ``batches`` in a background thread (numpy releases the GIL for the copies)."""
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def work() -> None:
        try:
            for item in batches:
                while not stop.is_set():
                    try:
                        q.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            q.put(exc)

    thread = threading.Thread(target=work, daemon=True, name="nasbench-input")
    thread.start()
    try:
        while True:
            item = q.get()
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
