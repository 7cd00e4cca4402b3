"""The ``nasbench`` command line.

``main`` imports the command modules inside its own ``try``: Ctrl-C at any moment, even while
the imports run, ends in one line and exit code 130.
"""
from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """``nasbench``: run one command.

    Args:
        argv: the arguments after ``nasbench`` (None: ``sys.argv[1:]``).

    Returns:
        The exit status: 0 done, 1 some runs failed, 2 a user error (one line on stderr, no
        traceback), 130 interrupted (Ctrl-C), 143 terminated (SIGTERM).
    """
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminate) if main_thread else None
    try:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # see app.main's re-exec
        from .app import main as run

        return run(argv)
    except KeyboardInterrupt as exc:
        cluster = sys.modules.get("harness.cluster")   # (not imported: no Ray run to end)
        if cluster is not None and isinstance(exc, cluster.Terminated):   # SIGTERM
            print("nasbench: terminated", file=sys.stderr)
            return 128 + signal.SIGTERM
        print("nasbench: interrupted", file=sys.stderr)
        return 130
    finally:
        if main_thread and previous is not None:   # None: a handler set outside Python
            signal.signal(signal.SIGTERM, previous)


def _terminate(signum, frame) -> None:
    """SIGTERM ends a command as Ctrl-C does (runs done kept, the folder's lock released, one
    line); a Ray run installs the same while Ray runs (:func:`harness.cluster.ray_session`)."""
    from harness.cluster import Terminated

    raise Terminated


__all__ = ["main"]
