"""The ``nasbench`` command line.

``main`` imports the command modules inside its own ``try``: Ctrl-C at any moment, even while
the imports run, ends in one line and exit code 130.
"""
from __future__ import annotations

import signal
import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """``nasbench``: run one command.

    Args:
        argv: the arguments after ``nasbench`` (None: ``sys.argv[1:]``).

    Returns:
        The exit status: 0 done, 1 some runs failed, 2 a user error (one line on stderr, no
        traceback), 130 interrupted.
    """
    try:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # see app.main's re-exec
        from .app import main as run

        return run(argv)
    except KeyboardInterrupt as exc:
        cluster = sys.modules.get("harness.cluster")   # (not imported: no Ray run to end)
        if cluster is not None and isinstance(exc, cluster.Terminated):   # SIGTERM, Ray run
            print("nasbench: terminated", file=sys.stderr)
            return 128 + signal.SIGTERM
        print("nasbench: interrupted", file=sys.stderr)
        return 130


__all__ = ["main"]
