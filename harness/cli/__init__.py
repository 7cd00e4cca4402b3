"""The ``nasbench`` command line.

``main`` imports the command modules inside its own ``try``: Ctrl-C at any moment, even while
the imports run, ends in one line and exit code 130.
"""
from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Sequence

from harness.interrupts import Terminated, sigterm_handler


def main(argv: Sequence[str] | None = None) -> int:
    """``nasbench``: run one command.

    Args:
        argv: the arguments after ``nasbench`` (None: ``sys.argv[1:]``).

    Returns:
        The exit status: 0 done, 1 some runs failed, 2 a user error (one line on stderr, no
        traceback), 3 an internal error (a bug: one line naming the file that holds its
        traceback), 130 interrupted (Ctrl-C), 143 terminated (SIGTERM).
    """
    main_thread = threading.current_thread() is threading.main_thread()
    # SIGTERM ends a command as Ctrl-C does; a Ray run installs the same while Ray runs
    # (:func:`harness.cluster.ray_session`)
    previous = signal.signal(signal.SIGTERM, sigterm_handler()) if main_thread else None
    try:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # see app.main's re-exec
        from .app import main as run

        return run(argv)
    except Terminated:
        print("nasbench: terminated", file=sys.stderr)
        return 128 + signal.SIGTERM
    except KeyboardInterrupt:
        print("nasbench: interrupted", file=sys.stderr)
        return 130
    finally:
        if main_thread and previous is not None:   # None: a handler set outside Python
            signal.signal(signal.SIGTERM, previous)


__all__ = ["main"]
