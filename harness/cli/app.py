"""Entry point of ``nasbench``: builds the parser from the command groups and maps errors to exits.

Every error a user can cause ends as one line on stderr (``nasbench: error: ...``) and exit code 2;
an unexpected failure keeps its traceback, since that is a bug to report.
"""
from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import Sequence

from . import data, space

EXAMPLES = """examples:
  nasbench run experiments/demo.yaml
  nasbench report results/demo
  nasbench optimizers
  nasbench space info
  nasbench space hash --matrix '[[0,1],[0,0]]' --ops input,output
  nasbench data convert nasbench_only108.tfrecord --out ~/nb101
  nasbench data query --hash 28cfc7874f6d200472e1a9dcd8650aa0 --data ~/nb101
  nasbench data cifar10 --dir ~/data
  nasbench train --matrix '[[0,1],[0,0]]' --ops input,output --dry-run
  nasbench build-table --sample 10 --epochs 4 --data ~/data/cifar-10-python.tar.gz --out t
"""


class Parser(argparse.ArgumentParser):
    """argparse with its errors as one line (not usage + error), like every other error here."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="nasbench", description="NAS-Bench-101: search space, table and optimizer harness.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    groups = parser.add_subparsers(dest="group", metavar="COMMAND", required=True)
    for module in _command_modules():
        module.register(groups)
    return parser


def _command_modules():
    from . import optimizers, report, run, train
    return [run, report, optimizers, data, space, train]


def main(argv: Sequence[str] | None = None) -> int:
    if argv is None and os.environ.get("PYTHONHASHSEED") != "0":
        # Some optimizer libraries (SMAC) iterate over sets of strings, whose order follows
        # Python's per-process hash seed; a fixed seed makes runs reproducible byte for byte.
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        # Ctrl-C waits (blocked, kept pending across exec) until harness.cli.main unblocks it
        # inside its try: the new interpreter's start-up cannot be cut into a traceback.
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            os.execve(sys.executable, [sys.executable, "-m", "harness.cli", *sys.argv[1:]], env)
        finally:  # only reached if exec failed
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, or a bad flag (one line already printed)
        return int(exc.code or 0)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:
        return 0
    except Exception as exc:  # noqa: BLE001 - classify, then re-raise what is a bug
        if not is_user_error(exc):
            raise
        print(f"nasbench: error: {one_line(exc)}", file=sys.stderr)
        return 2


def is_user_error(exc: BaseException) -> bool:
    """Errors caused by input: bad values, missing or corrupt files, our own data errors."""
    from benchmark.errors import BenchmarkError

    return (isinstance(exc, (BenchmarkError, ValueError, OSError, KeyError))
            or getattr(exc, "user_error", False))


def one_line(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, KeyError) and exc.args:
        text = str(exc.args[0])
    return " ".join(text.split())

