"""Ray for the harness: a local Ray on 127.0.0.1 (no dashboard, temporary files inside the
output folder) or an existing cluster (``address: auto`` or ``ray://...``), started and stopped
around a block so that no Ray process outlives the command."""
from __future__ import annotations

import contextlib
import logging
import os
import signal
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path


def start_ray(address: str | None, cpus: int | None, output: Path) -> None:
    """Join ``address`` (``auto``, ``ray://...``) or start a local Ray on 127.0.0.1 only."""
    if not address:
        # Ray resolves 127.0.0.1 to the machine's external address unless clustering is off
        # (read when Ray is imported); with it off every Ray process binds loopback only.
        os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    import ray

    if ray.is_initialized():
        return
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
        ray.init(address=address, include_dashboard=False, log_to_driver=False,
                 logging_level=logging.WARNING, runtime_env=runtime_env)
        return
    # Unix socket paths are limited to ~107 bytes: keep the temp dir short, inside the output
    # folder when that is short enough, else in the system temp dir.
    tmp = output.resolve() / ".ray"
    if len(str(tmp)) > 40:
        tmp = Path(tempfile.mkdtemp(prefix="nbray-"))
    tmp.mkdir(parents=True, exist_ok=True)
    ray.init(num_cpus=cpus or default_cpus(), include_dashboard=False,
             _node_ip_address="127.0.0.1", _temp_dir=str(tmp), log_to_driver=False,
             logging_level=logging.WARNING, configure_logging=False, runtime_env=runtime_env)


@contextlib.contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Hold Ctrl-C back until the block ends, then raise it: Ray interrupted half-way through
    start-up or shutdown leaves processes behind (or crashes the interpreter at exit)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        raise KeyboardInterrupt


@contextlib.contextmanager
def ray_session(address: str | None, cpus: int | None, output: Path) -> Iterator[None]:
    """Ray started (:func:`start_ray`) for the block and shut down after it, whatever ends it;
    Ctrl-C during start-up or shutdown waits for them, so no Ray process outlives the command."""
    try:
        with interrupts_deferred():
            start_ray(address, cpus, output)
        yield
    finally:
        import ray

        with interrupts_deferred():
            ray.shutdown()


def default_cpus() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
               else os.cpu_count() or 1)
