"""Errors of the benchmark package; each message names the culprit (file, record, key or value)."""
from __future__ import annotations

from .space.errors import InputError, MissingFileError, OutOfDomainError, UserError


class BenchmarkError(UserError):
    """Base class of the data errors below (bad data is the user's to fix, not a bug)."""


class DataFormatError(BenchmarkError):
    """A file that is not valid NAS-Bench-101 data (truncated, CRC mismatch, bad payload)."""


class StoreError(BenchmarkError):
    """A converted store that cannot be used (missing files, manifest or schema mismatch)."""


class CellNotInStoreError(BenchmarkError, KeyError):
    """A valid cell that this (partial) store does not hold."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "cell not in store"


__all__ = ["BenchmarkError", "CellNotInStoreError", "DataFormatError", "InputError",
           "MissingFileError", "OutOfDomainError", "StoreError", "UserError"]
