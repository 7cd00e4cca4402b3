"""The shipped result of the fit: per-cell predictions, noise parameters and their provenance.

One zip file (``nb101-surrogate-v2.npz``, a few MB) beside this module, written by
``python -m benchmark.surrogate.fit`` with fixed timestamps so the same fit gives the same bytes:

    meta.json      version, the cells' checksum, provenance (sha256 of the real sample and
                   fixtures, model settings, library versions), noise parameters, realism scores
    scores.npy     (423624, 4) float16  normal score of each cell's validation accuracy at
                   4/12/36/108 epochs: the prediction with the cell's drawn deviation and
                   failure (:mod:`.latent`), ranked over all cells -> standard normal quantiles
    time108.npy    (423624,) float32    predicted 108-epoch training time [s]
    knots_z.npy    (K,) float64         normal-score grid
    knots.npy      (4, K) float64       real one-run validation accuracy at each grid point

Rows are the enumeration's hash order; ``cells_sha256`` (of the sorted hash array) ties them to it.
"""
from __future__ import annotations

import hashlib
import io
import json
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import StoreError
from ..fileutil import atomic_write_bytes
from ..space.constants import BUDGETS
from ..space.enumeration import NUM_CELLS

ARTIFACT_VERSION = 2
ARTIFACT_PATH = Path(__file__).with_name(f"nb101-surrogate-v{ARTIFACT_VERSION}.npz")
REBUILD = "rebuild it with 'python -m benchmark.surrogate.fit' (needs the real sample)"
_ARRAYS = {"scores": ("float16", (NUM_CELLS, len(BUDGETS))), "time108": ("float32", (NUM_CELLS,)),
           "knots_z": ("float64", None), "knots": ("float64", None)}
_DATE = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class Artifact:
    meta: dict[str, Any]
    scores: np.ndarray
    time108: np.ndarray
    knots_z: np.ndarray
    knots: np.ndarray

    @property
    def num_real_cells(self) -> int:
        return int(self.meta["sample"]["valued_rows"])

    @property
    def label(self) -> str:
        """What every output calls a table built from this artifact."""
        return f"surrogate fitted to {self.num_real_cells:,} real cells, not NAS-Bench-101 results"


def cells_checksum(hashes: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(hashes, dtype="S32").tobytes()).hexdigest()


def write_artifact(path: str | Path, artifact: Artifact) -> None:
    """Write atomically; the same artifact gives the same bytes."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        def member(name: str, data: bytes) -> None:
            info = zipfile.ZipInfo(name, _DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data, compresslevel=9)

        meta = {**artifact.meta, "version": ARTIFACT_VERSION}
        member("meta.json", (json.dumps(meta, indent=1, sort_keys=True) + "\n").encode())
        for name, (dtype, _) in _ARRAYS.items():
            arr = io.BytesIO()
            np.lib.format.write_array(arr, np.ascontiguousarray(getattr(artifact, name), dtype),
                                      allow_pickle=False)
            member(f"{name}.npy", arr.getvalue())
    atomic_write_bytes(path, buf.getvalue())


def load_artifact(path: str | Path = ARTIFACT_PATH) -> Artifact:
    """Read and check an artifact; a ``StoreError`` naming the file for anything amiss."""
    path = Path(path)

    def bad(why: str) -> StoreError:
        return StoreError(f"surrogate artifact {path}: {why}; {REBUILD}")

    if not path.is_file():
        raise bad("missing")
    try:
        with zipfile.ZipFile(path) as zf:
            meta = json.loads(zf.read("meta.json"))
            if not isinstance(meta, dict) or meta.get("version") != ARTIFACT_VERSION:
                version = meta.get("version") if isinstance(meta, dict) else None
                raise bad(f"version {version!r}, this code reads version {ARTIFACT_VERSION}")
            arrays = {name: np.lib.format.read_array(io.BytesIO(zf.read(f"{name}.npy")),
                                                     allow_pickle=False) for name in _ARRAYS}
    except KeyError as exc:
        raise bad(f"no member {exc}") from None
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as exc:
        raise bad(f"truncated or corrupt ({exc})") from None
    for name, (dtype, shape) in _ARRAYS.items():
        arr = arrays[name]
        if str(arr.dtype) != dtype or (shape is not None and arr.shape != shape):
            raise bad(f"{name} is {arr.dtype}{arr.shape}, expected {dtype}{shape or ''}")
    if arrays["knots"].shape != (len(BUDGETS), len(arrays["knots_z"])):
        raise bad(f"knots shape {arrays['knots'].shape} does not match knots_z")
    missing = {"cells_sha256", "noise", "sample"} - set(meta)
    if missing:
        raise bad(f"meta.json lacks {sorted(missing)}")
    return Artifact(meta=meta, **arrays)
