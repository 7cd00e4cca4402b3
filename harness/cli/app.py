"""Entry point of ``nasbench``: builds the parser from the command groups and maps errors to exits.

Every error a user can cause ends as one line on stderr (``nasbench: error: ...``) and exit code 2;
anything else is a bug: one line says so and names the file that holds its traceback (exit 3).
"""
from __future__ import annotations

import argparse
import errno
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from . import data, space

EXAMPLES = """examples:
  nasbench run experiments/demo.yaml
  nasbench report results/demo
  nasbench analyze surrogate --out analysis
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
    from . import analyze, optimizers, report, run, train
    return [run, report, optimizers, data, space, train, analyze]


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
    # Ray's notice on every start of a local Ray that token authentication is on (its default;
    # the harness's local Ray listens on 127.0.0.1 only) is not worth a line per command.
    logging.getLogger(RAY_TOKEN_NOTICE).setLevel(logging.ERROR)
    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:
        return 0
    except Exception as exc:  # noqa: BLE001 - a user's mistake, else a bug
        if is_user_error(exc):
            print(f"nasbench: error: {one_line(exc)}", file=sys.stderr)
            return EXIT_USER_ERROR
        where = write_traceback()
        print(f"nasbench: internal error (a bug, please report it): {type(exc).__name__}: "
              f"{one_line(exc)[:300]}; traceback in {where}", file=sys.stderr)
        return EXIT_BUG


#: The logger of Ray's token-authentication notice.
RAY_TOKEN_NOTICE = "ray._private.authentication.authentication_token_setup"

#: Exit statuses: a user's mistake (one line naming it) and a bug (a traceback file).
EXIT_USER_ERROR, EXIT_BUG = 2, 3


def is_user_error(exc: BaseException) -> bool:
    """A mistake in the user's input (:class:`benchmark.errors.UserError`: a value, file,
    flag or data) or the environment's refusal of a path the user named (an ``OSError`` with a
    file name: permission denied, disk full; or a full or read-only disk, where a library's
    write did not name its file).  Everything else is a bug."""
    from benchmark.errors import UserError

    return isinstance(exc, UserError) or (isinstance(exc, OSError) and (
        exc.filename is not None or exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS)))


def write_traceback() -> Path:
    """The current exception's traceback, in a new file under the cache dir's ``crashes``."""
    import tempfile
    import time
    import traceback

    from benchmark.fileutil import atomic_write_text, cache_dir

    name = f"nasbench-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}.txt"
    text = f"nasbench {' '.join(sys.argv[1:])}\n\n{traceback.format_exc()}"
    try:
        path = cache_dir() / "crashes" / name
        atomic_write_text(path, text)
    except (OSError, ValueError):   # an unusable cache folder: the traceback goes to tmp
        path = Path(tempfile.gettempdir()) / name
        atomic_write_text(path, text)
    return path


def one_line(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, KeyError) and exc.args:
        text = str(exc.args[0])
    return " ".join(text.split())

