"""CIFAR-10 as the original pipeline split it: 40,000 training images (batches 1-4),
10,000 validation (batch 5), 10,000 test; training accuracy is measured on batch 1.

Sources: the official ``cifar-10-python.tar.gz`` (or its extracted ``cifar-10-batches-py``
folder), or an image-folder layout ``{train,test}/<class>/NNNN.<jpg|png>`` as a folder or a
``.tar``/``.tar.gz`` of one.  An image folder has no batches; its training images are taken
in file order per class, and the last fifth of every class stands in for batch 5.
"""
from __future__ import annotations

import io
import logging
import pickle
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmark.space.errors import InputError

log = logging.getLogger(__name__)

CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
           "truck")
OFFICIAL_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
OFFICIAL_SHA256 = "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"
_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


class DatasetError(InputError):
    """A CIFAR-10 source that cannot be read (the message names the file)."""


@dataclass(frozen=True)
class Split:
    images: np.ndarray   # uint8, (N, 32, 32, 3)
    labels: np.ndarray   # int32, (N,)

    def __len__(self) -> int:
        return len(self.labels)

    def head(self, n: int | None) -> Split:
        return self if n is None else Split(self.images[:n], self.labels[:n])


@dataclass(frozen=True)
class Cifar10:
    train: Split       # batches 1-4
    valid: Split       # batch 5
    test: Split
    train_eval: Split  # batch 1: the images the training accuracy is measured on

    def subset(self, train_images: int | None, eval_images: int | None) -> Cifar10:
        """The first images of each split (a class-balanced prefix for image folders)."""
        return Cifar10(self.train.head(train_images), self.valid.head(eval_images),
                       self.test.head(eval_images), self.train_eval.head(eval_images))


def load(source: str | Path) -> Cifar10:
    """Read CIFAR-10 from any supported source (see the module docstring)."""
    path = Path(source).expanduser()
    if not path.exists():
        raise DatasetError(f"{path}: no such file or folder")
    if path.is_dir():
        if (path / "data_batch_1").exists():
            return _from_batches(lambda name: (path / name).read_bytes(), str(path))
        if (path / "cifar-10-batches-py").is_dir():
            return load(path / "cifar-10-batches-py")
        return _from_folder(_dir_files(path), str(path))
    try:
        with tarfile.open(path) as tar:
            members = {m.name.lstrip("./"): m for m in tar.getmembers() if m.isfile()}
            batches = {Path(name).name: m for name, m in members.items()
                       if Path(name).name.startswith(("data_batch_", "test_batch"))}
            if "data_batch_1" in batches:
                return _from_batches(lambda name: _read_member(tar, batches, name, path), str(path))
            files = ((name, tar.extractfile(m).read()) for name, m in sorted(members.items())
                     if name.lower().endswith(_IMAGE_SUFFIXES))
            return _from_folder(files, str(path))
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise DatasetError(f"{path}: not a readable CIFAR-10 archive ({exc})") from None


def _read_member(tar: tarfile.TarFile, members: dict, name: str, path: Path) -> bytes:
    if name not in members:
        raise DatasetError(f"{path}: {name} is missing")
    return tar.extractfile(members[name]).read()


def _from_batches(read, where: str) -> Cifar10:
    def batch(name: str) -> Split:
        try:
            d = pickle.loads(read(name), encoding="bytes")  # noqa: S301 - the official format
            data = np.asarray(d[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
            labels = np.asarray(d[b"labels"], dtype=np.int32)
        except DatasetError:
            raise
        except Exception as exc:  # noqa: BLE001 - any unpickling problem is bad input
            raise DatasetError(f"{where}/{name}: not a CIFAR-10 python batch ({exc})") from None
        return Split(np.ascontiguousarray(data.transpose(0, 2, 3, 1)), labels)

    parts = [batch(f"data_batch_{i}") for i in range(1, 6)]
    train = Split(np.concatenate([p.images for p in parts[:4]]),
                  np.concatenate([p.labels for p in parts[:4]]))
    return Cifar10(train, parts[4], batch("test_batch"), parts[0])


def _dir_files(root: Path) -> Iterator[tuple[str, bytes]]:
    for f in sorted(root.rglob("*")):
        if f.is_file() and f.suffix.lower() in _IMAGE_SUFFIXES:
            yield str(f.relative_to(root)), f.read_bytes()


def _from_folder(files, where: str) -> Cifar10:
    from PIL import Image

    by_split: dict[str, list[list[np.ndarray]]] = {
        "train": [[] for _ in CLASSES], "test": [[] for _ in CLASSES]}
    for name, data in files:
        parts = Path(name).parts
        if len(parts) < 3 or parts[-3] not in by_split or parts[-2] not in CLASSES:
            continue
        try:
            image = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.uint8)
        except Exception as exc:  # noqa: BLE001 - PIL raises many types for bad files
            raise DatasetError(f"{where}: {name} is not an image ({exc})") from None
        if image.shape != (32, 32, 3):
            raise DatasetError(f"{where}: {name} is {image.shape}, not 32x32 RGB")
        by_split[parts[-3]][CLASSES.index(parts[-2])].append(image)
    for split, classes in by_split.items():
        empty = [CLASSES[c] for c, images in enumerate(classes) if not images]
        if empty:
            raise DatasetError(f"{where}: no {split} images of class {', '.join(empty)} "
                               f"(expected {split}/<class>/NNNN.jpg)")
    train, valid, train_eval = [], [], []
    for c, images in enumerate(by_split["train"]):
        cut = len(images) * 4 // 5
        train.append((images[:cut], c))
        valid.append((images[cut:], c))
        train_eval.append((images[:cut // 4], c))
    test = [(images, c) for c, images in enumerate(by_split["test"])]
    log.info("%s: image folder, validation = last fifth of each class", where)
    return Cifar10(*(_interleave(s) for s in (train, valid, test, train_eval)))


def _interleave(per_class: list[tuple[list[np.ndarray], int]]) -> Split:
    """Class-interleaved order, so that any prefix is class-balanced."""
    longest = max(len(images) for images, _ in per_class)
    images, labels = [], []
    for i in range(longest):
        for class_images, c in per_class:
            if i < len(class_images):
                images.append(class_images[i])
                labels.append(c)
    return Split(np.stack(images), np.asarray(labels, dtype=np.int32))
