"""File helpers: atomic writes (write beside the target, then rename), checksums, the cache."""
from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

_UMASK = os.umask(0)
os.umask(_UMASK)


def cache_dir() -> Path:
    """The project's cache folder: ``$NASBENCH_CACHE_DIR``, else the user cache dir."""
    from platformdirs import user_cache_dir

    from .errors import InputError

    path = Path(os.environ.get("NASBENCH_CACHE_DIR") or user_cache_dir("nasbench-harness"))
    existing = next((p for p in (path, *path.parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():   # else minutes of work, then no cache
        raise InputError(f"NASBENCH_CACHE_DIR {path}: {existing} is not a folder")
    if existing != path:   # made now, not after the work whose result it is to keep
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"NASBENCH_CACHE_DIR {path}: cannot be made "
                             f"({exc.strerror or exc})") from None
    return path


@contextlib.contextmanager
def atomic_writer(path: str | os.PathLike, mode: str = "w") -> Iterator[IO]:
    """Open a temporary sibling of ``path`` for writing; rename it onto ``path`` on success.

    Text is written as UTF-8; a lone surrogate (how Python spells a file name's bytes that are
    not UTF-8) is written as its ``\\udcXX`` escape instead of failing the write."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; give the usual file mode
        encoding, errors = (None, None) if "b" in mode else ("utf-8", "backslashreplace")
        with os.fdopen(fd, mode, encoding=encoding, errors=errors) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:  # noqa: BLE001 - re-raised by _raise_named
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        _raise_named(exc, path)


#: The name of an atomic write's temporary file: ``.NAME.XXXXXXXX.tmp`` (see
#: :func:`atomic_writer`; eight characters of ``tempfile.mkstemp``).
TEMPORARY = re.compile(r"\..+\.[a-z0-9_]{8}\.tmp")


def remove_temporaries(folder: str | os.PathLike) -> list[Path]:
    """Remove the temporary files that interrupted atomic writes left in ``folder`` (only files
    named as :func:`atomic_writer` names them); returns them.  For a folder no one is writing
    into (its writer's lock held)."""
    removed = []
    with contextlib.suppress(FileNotFoundError, NotADirectoryError):
        for entry in os.scandir(os.fspath(folder)):
            if TEMPORARY.fullmatch(entry.name) and entry.is_file(follow_symlinks=False):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)
                    removed.append(Path(entry.path))
    return removed


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    with atomic_writer(path, "wb") as fh:
        fh.write(data)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_writer(path, "w") as fh:
        fh.write(text)


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike) -> Iterator[Path]:
    """Build a directory under a temporary name and rename it onto ``path`` at the end.

    An interrupted build leaves only a ``.tmp`` sibling, never a directory at ``path``.
    An existing ``path`` is replaced.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"))
    try:
        os.chmod(tmp, 0o777 & ~_UMASK)
        yield tmp
        if path.exists():
            old = path.with_name(f".{path.name}.old{os.getpid()}")
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException as exc:  # noqa: BLE001 - re-raised by _raise_named
        shutil.rmtree(tmp, ignore_errors=True)
        _raise_named(exc, path)


def _raise_named(exc: BaseException, path: Path) -> None:
    """Raise ``exc`` again; an ``OSError`` that names no file (a full disk fails a ``write``,
    not the ``open``) as the same error naming ``path``, the file being written.  numpy's
    ``tofile`` reports a short write with no errno ("N requested and M written"): a full disk."""
    if isinstance(exc, OSError) and exc.errno is None and " requested and " in str(exc):
        raise OSError(errno.ENOSPC, f"{os.strerror(errno.ENOSPC)} ({exc})",
                      str(path)).with_traceback(exc.__traceback__) from None
    if isinstance(exc, OSError) and exc.filename is None and exc.errno is not None:
        raise OSError(exc.errno, exc.strerror, str(path)).with_traceback(
            exc.__traceback__) from None
    raise exc


def file_sha256(path: str | os.PathLike, block: int = 1 << 22) -> str:
    """SHA256 hex digest of a file, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(block), b""):
            digest.update(chunk)
    return digest.hexdigest()


#: In this process: (path, file state) -> SHA256 already computed.
_VERIFIED: dict[tuple[str, tuple[int, ...]], str] = {}


def _state(path: Path) -> tuple[int, ...]:
    """What changes whenever a file's bytes do: device, inode, size, mtime and ctime (the
    kernel sets ctime on every write; no user-space call can set it back)."""
    st = path.stat()
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def sha256_once(path: str | os.PathLike) -> str:
    """SHA256 of a file, computed once per state of the file (see :func:`_state`).

    The digest is remembered in this process and in the cache's ``verified/`` folder, so a
    file that has not been written since it was hashed costs one ``stat`` (and a small read),
    while any write to it makes the next call hash it again.  Where the cache cannot be
    written the digest is computed in every process.
    """
    path = Path(path).resolve()
    state = _state(path)
    memo = _VERIFIED.get((str(path), state))
    if memo is not None:
        return memo
    stamp = cache_dir() / "verified" / (hashlib.sha256(str(path).encode()).hexdigest() + ".json")
    try:
        saved = json.loads(stamp.read_text())
        if saved.get("path") == str(path) and saved.get("state") == list(state):
            _VERIFIED[(str(path), state)] = digest = str(saved["sha256"])
            return digest
    except (OSError, ValueError, KeyError, AttributeError):
        pass
    digest = file_sha256(path)
    if _state(path) == state:  # unchanged while it was read
        _VERIFIED[(str(path), state)] = digest
        with contextlib.suppress(OSError):
            atomic_write_text(stamp, json.dumps({"path": str(path), "state": list(state),
                                                 "sha256": digest}))
    return digest


def read_bounded(path: str | os.PathLike, limit: int) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes.

    Raises:
        ValueError: ``path`` is not a regular file (a FIFO, device or folder: refused before
            anything is read, so a FIFO cannot block and ``/dev/zero`` cannot fill memory),
            or it holds more than ``limit`` bytes.
        OSError: it cannot be opened or read.
    """
    path = Path(path)
    mode = path.stat().st_mode
    if not stat.S_ISREG(mode):
        kind = ("a folder" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode)
                else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "a socket")
        raise ValueError(f"is {kind}, not a regular file")
    with open(path, "rb") as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"is larger than {limit:,} bytes")
    return data


def why_not_replaceable(out: Path, manifest: str, fmt: str, foreign: str) -> str | None:
    """Why a tool that writes folders marked ``fmt`` in their ``manifest`` file may not
    replace ``out`` as a whole (None: it may: a missing path, an empty folder, or a folder that
    tool wrote); ``foreign`` says what a folder it did not write is.  The reason reads after the
    folder's path, e.g. "exists and is not a folder; ..."."""
    if not out.exists() and not out.is_symlink():
        return None
    if not out.is_dir() or out.is_symlink():
        return "exists and is not a folder; give a new or empty folder"
    if not any(out.iterdir()):
        return None
    try:
        ours = json.loads((out / manifest).read_text()).get("format") == fmt
    except (OSError, ValueError, AttributeError):
        ours = False
    if not ours:
        return (f"{foreign} (no {fmt} {manifest}); nothing was changed; give a new or empty "
                "folder")
    return None
