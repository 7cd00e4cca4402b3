"""Ray for the harness: a local Ray on 127.0.0.1 (no dashboard, temporary files inside the
output folder) or an existing cluster (``address: auto`` or ``ray://...``), started and stopped
around a block so that no Ray process outlives the command."""
from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

from benchmark.errors import UserError

from .interrupts import Terminated, sigterm_handler


def start_ray(address: str | None, cpus: int | None) -> Path | None:
    """Join ``address`` (``auto``, ``host:port``, ``ray://...``) or start a local Ray on
    127.0.0.1 only; returns the temporary folder of a local Ray's session (logs, sockets), for
    the caller to remove.  A cluster that cannot be joined is one :class:`ClusterError` line
    saying what to check (the address, token authentication)."""
    loopback = not address or _is_loopback(address)
    if address and "RAY_AUTH_MODE" not in os.environ and _token_available():
        # Ray 2.59+ starts clusters with token authentication, but a driver joining an address
        # sends the token only in token mode; with a token at hand, send it (a cluster without
        # authentication accepts it too).
        os.environ["RAY_AUTH_MODE"] = "token"
    if loopback:
        # Ray resolves 127.0.0.1 to the machine's external address unless clustering is off
        # (read when Ray is imported); with it off every Ray process binds loopback only, and
        # a driver joining a cluster on 127.0.0.1 looks for it there.
        os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    import ray

    if ray.is_initialized():
        return None
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    if not address:
        # Ray runs its workers at niceness 15; here they are the work, so beside any busy
        # process (a build, a browser) they would all but stop (a live training took 10x longer)
        os.environ.setdefault("RAY_worker_niceness", "0")
    # Some optimizers' libraries iterate over sets of strings (SMAC): a fixed hash seed in every
    # worker keeps runs identical whichever process runs them.
    runtime_env = {"env_vars": {"PYTHONHASHSEED": "0", **{
        k: v for k, v in os.environ.items() if k in ("NASBENCH_CACHE_DIR", "PYTHONPATH")}}}
    if address:
        probe(address)
        local: dict[str, Any] = {"_node_ip_address": "127.0.0.1"} if loopback else {}
        try:
            ray.init(address=address, include_dashboard=False, log_to_driver=False,
                     logging_level=logging.WARNING, runtime_env=runtime_env, **local)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise ClusterError(
                f"cannot join the Ray cluster at {address!r} ({first_line(exc)}); "
                "check the address, and with token authentication (Ray's default) set "
                "RAY_AUTH_TOKEN or RAY_AUTH_TOKEN_PATH to the head's token ('ray "
                "get-auth-token' on the head), or RAY_AUTH_MODE=disabled on every node"
            ) from None
        return None
    # The session's files go to a short folder of the system's temp dir (Unix socket paths are
    # limited to ~107 bytes), not into the user's results, and are removed after the run.
    tmp = Path(tempfile.mkdtemp(prefix="nbray-"))
    try:
        ray.init(num_cpus=cpus or default_cpus(), include_dashboard=False,
                 _node_ip_address="127.0.0.1", _temp_dir=str(tmp), log_to_driver=False,
                 logging_level=logging.WARNING, configure_logging=False, runtime_env=runtime_env)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return tmp


class ClusterError(UserError, ConnectionError):
    """A Ray cluster that cannot be joined or used (one line: the address or node, and what to
    check)."""


#: seconds to wait for the head to accept a connection: Ray's own wait for an address nobody
#: answers is minutes of repeated warnings
PROBE_TIMEOUT = 10.0


def probe(address: str, timeout: float = PROBE_TIMEOUT) -> None:
    """Raise :class:`ClusterError` unless something accepts TCP connections at the head's
    address (``auto`` resolved as Ray does: ``RAY_ADDRESS``, then the last ``ray start`` here)."""
    target = address
    if address == "auto":
        try:
            from ray._private.services import canonicalize_bootstrap_address_or_die
        except ImportError:   # Ray moved it: leave the look-up to ray.init
            return
        try:
            target = canonicalize_bootstrap_address_or_die(address)
        except (ConnectionError, ValueError) as exc:
            raise ClusterError(f"address 'auto': no Ray cluster found ({first_line(exc)}); "
                               "start one with 'ray start --head', or give the head's "
                               "HOST:PORT as execution.address") from None
    host, _, port = target.removeprefix("ray://").rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            pass
    except ValueError:
        raise ClusterError(f"execution.address {address!r}: give HOST:PORT (the head's "
                           "'ray start --head --port'), 'auto' or ray://HOST:PORT") from None
    except OSError as exc:
        why = (f"no answer within {timeout:.0f} s" if isinstance(exc, TimeoutError)
               else (exc.strerror or str(exc)).lower())
        raise ClusterError(
            f"no Ray head answers at {target} ({why}): check that the "
            "head is running there ('ray status' on it), the host and port "
            "('ray start --head --port'), and that a firewall lets this machine reach it"
        ) from None


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type's name if it has none)."""
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _token_available() -> bool:
    """A Ray authentication token in the places Ray reads it from, in its order."""
    return bool(os.environ.get("RAY_AUTH_TOKEN") or os.environ.get("RAY_AUTH_TOKEN_PATH")
                or (Path.home() / ".ray" / "auth_token").is_file())


def _is_loopback(address: str) -> bool:
    host = address.removeprefix("ray://").rpartition(":")[0] or address
    return host == "localhost" or host.startswith("127.")


#: the signals held back while Ray starts or stops, and what each raises afterwards
_DEFERRED = {signal.SIGINT: KeyboardInterrupt, signal.SIGTERM: Terminated}


@contextlib.contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Hold Ctrl-C (and SIGTERM) back until the block ends, then raise it: Ray interrupted
    half-way through start-up or shutdown leaves processes behind (or crashes the interpreter
    at exit).  Their handlers are put back as they were before the block, so the handlers
    Ray installs while it starts (its own for SIGTERM: ``sys.exit``; its C++ core's: a stack
    dump) are replaced."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = {sig: signal.signal(sig, lambda signum, frame: caught.append(signum))
                for sig in _DEFERRED}
    previous_hook = sys.unraisablehook

    def unraisable(info: Any) -> None:
        # Ray's handler called inside the at-fork hooks of the processes Ray starts: Python
        # would print its SystemExit and go on, the SIGTERM lost
        if isinstance(info.exc_value, SystemExit) and _raised_by_rays_sigterm_handler(
                info.exc_traceback):
            caught.append(signal.SIGTERM)
        else:
            previous_hook(info)

    sys.unraisablehook = unraisable
    try:
        yield
    except SystemExit as exc:
        if not _raised_by_rays_sigterm_handler(exc.__traceback__):
            raise
        caught.append(signal.SIGTERM)   # Ray's start-up stopped half-way: shut down after
    finally:
        sys.unraisablehook = previous_hook
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if caught:
        raise _DEFERRED[signal.Signals(caught[0])]


def _raised_by_rays_sigterm_handler(tb: TracebackType | None) -> bool:
    """Whether the ``SystemExit`` of traceback ``tb`` comes from the SIGTERM handler that
    ``ray.init`` installs while it starts (``sys.exit(15)``; its node's: ``sys.exit(1)`` after
    ending its processes), which replaces the one :func:`interrupts_deferred` holds SIGTERM
    back with."""
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    code = tb.tb_frame.f_code if tb is not None else None
    return (code is not None and code.co_name == "sigterm_handler"
            and f"{os.sep}ray{os.sep}" in code.co_filename)


@contextlib.contextmanager
def ray_session(address: str | None, cpus: int | None) -> Iterator[None]:
    """Ray started (:func:`start_ray`) for the block and shut down after it, whatever ends it
    (a local Ray's session folder removed); Ctrl-C during start-up or shutdown waits for them,
    so no Ray process outlives the command.  In the block SIGTERM raises :class:`Terminated`,
    so that it ends as Ctrl-C does; the handler before the block is restored after it."""
    session = None
    main = threading.current_thread() is threading.main_thread()
    received: list[int] = []
    before = signal.signal(signal.SIGTERM, sigterm_handler(received)) if main else None
    try:
        try:
            with interrupts_deferred():
                session = start_ray(address, cpus)
            yield
        finally:
            import ray

            try:
                with interrupts_deferred():
                    ray.shutdown()
            finally:   # (an interrupt held back during the shutdown is raised after these)
                if session is not None:
                    shutil.rmtree(session, ignore_errors=True)
                if main:
                    signal.signal(signal.SIGTERM, before)
    except KeyboardInterrupt:
        if received:   # Ray's wait turns what the handler raised into a KeyboardInterrupt
            raise Terminated from None
        raise


def default_cpus() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
               else os.cpu_count() or 1)
