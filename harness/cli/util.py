"""Small helpers shared by the command groups."""
from __future__ import annotations

import argparse
import math
from pathlib import Path

from benchmark.errors import InputError


def examples(*lines: str) -> dict:
    """Keyword arguments for ``add_parser`` that show usage examples in ``--help``."""
    return {"epilog": "examples:\n" + "\n".join(f"  {line}" for line in lines),
            "formatter_class": argparse.RawDescriptionHelpFormatter}


def folder_path(text: str) -> Path:
    """An argparse type: a path that is not empty (``Path('')`` would silently mean '.')."""
    if not text.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    return Path(text)


def positive_times(text: str) -> list[float]:
    """``--times``: comma-separated finite positive numbers of seconds."""
    try:
        times = [float(t) for t in text.split(",")]
    except ValueError:
        times = []
    if not times or not all(math.isfinite(t) and t > 0 for t in times):
        raise InputError(f"--times {text!r}: comma-separated positive finite numbers of "
                         "seconds, e.g. 1e5,1e6")
    return times
