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


def command_group(groups: argparse._SubParsersAction, name: str, help: str,
                  description: str) -> argparse._SubParsersAction:
    """A group of commands, ``nasbench NAME COMMAND``: the action its commands are added to."""
    group = groups.add_parser(name, help=help, description=description)
    return group.add_subparsers(dest="command", metavar="COMMAND", required=True)


def command(sub: argparse._SubParsersAction, name: str, help: str, run,
            *example_lines: str) -> argparse.ArgumentParser:
    """One command of a group (see :func:`command_group`), carried out by ``run(args)``, with
    usage examples in its ``--help``."""
    parser = sub.add_parser(name, help=help, **examples(*example_lines))
    parser.set_defaults(func=run)
    return parser


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
