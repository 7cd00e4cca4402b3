"""Download the official NAS-Bench-101 files: resumable, verified against the published SHA256."""
from __future__ import annotations

import logging
import os
import re
import urllib.error
import urllib.request
from pathlib import Path

from ..errors import DataFormatError, InputError, UserError
from ..fileutil import file_sha256

log = logging.getLogger(__name__)

OFFICIAL = {
    "full": ("https://storage.googleapis.com/nasbench/nasbench_full.tfrecord",
             "3d64db8180fb1b0207212f9032205064312b6907a3bbc81eabea10db2f5c7e9c"),
    "only108": ("https://storage.googleapis.com/nasbench/nasbench_only108.tfrecord",
                "4c39c3936e36a85269881d659e44e61a245babcb72cb374eacacf75d0e5f4fd1"),
}
BLOCK = 1 << 20


class DownloadError(UserError, OSError):
    """A download that failed (HTTP error, no network): the URL and the reason."""


def fetch(url: str, dest: Path, sha256: str, progress: bool = True, timeout: float = 60) -> Path:
    """Download ``url`` to ``dest``, resuming a ``.part`` file, and verify its SHA256.

    A finished file that already matches is not downloaded again; a mismatch deletes the
    partial download so the next attempt starts clean.
    """
    from tqdm import tqdm

    dest = Path(dest)
    if not re.fullmatch(r"[0-9a-fA-F]{64}", sha256):
        raise InputError(f"--sha256 {sha256!r}: a SHA256 is 64 hexadecimal digits")
    sha256 = sha256.lower()
    if dest.is_file() and file_sha256(dest) == sha256:
        log.info("%s already downloaded and verified", dest)
        return dest
    part = dest.with_name(dest.name + ".part")
    dest.parent.mkdir(parents=True, exist_ok=True)
    have = part.stat().st_size if part.exists() else 0
    try:
        request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
        response = urllib.request.urlopen(request, timeout=timeout)  # noqa: S310 - http(s) only
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:  # the part is already complete
            response = None
        else:
            raise DownloadError(f"{url}: HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        raise DownloadError(f"{url}: {exc.reason}") from None
    except ValueError as exc:     # not a URL at all ('unknown url type')
        raise InputError(f"--url {url!r}: {exc}; give an http(s) or file URL") from None
    if response is not None:
        with response:
            resumed = have and response.status == 206
            if not resumed:
                have = 0
            length = response.headers.get("Content-Length")
            total = have + int(length) if length else None
            with open(part, "ab" if resumed else "wb") as fh, tqdm(
                    total=total, initial=have, unit="B", unit_scale=True, desc=dest.name,
                    disable=not progress) as bar:
                for block in iter(lambda: response.read(BLOCK), b""):
                    fh.write(block)
                    bar.update(len(block))
    actual = file_sha256(part)
    if actual != sha256:
        part.unlink()
        raise DataFormatError(f"{dest}: SHA256 {actual} does not match the published {sha256}; "
                              "the partial download was removed, run the command again")
    os.replace(part, dest)
    return dest


def download(which: str = "only108", directory: str | os.PathLike = ".", *,
             url: str | None = None, sha256: str | None = None, convert_after: bool = True,
             progress: bool = True) -> Path:
    """Download an official file, verify and convert it (``nasbench data download``).

    Args:
        which: ``full`` or ``only108``.
        directory: the download folder.
        url, sha256: another source and its checksum (mirrors, tests).
        convert_after: convert into a store.
        progress: show a progress bar.

    Returns:
        The store path (the file's, without ``convert_after``).

    Raises:
        InputError: an unknown ``which``, or a ``url`` without ``sha256``.
        DownloadError: the server cannot be reached or refuses.
        DataFormatError: the download does not match its checksum.
    """
    if which not in OFFICIAL:
        raise InputError(f"unknown file {which!r}; one of {', '.join(OFFICIAL)}")
    default_url, default_sha = OFFICIAL[which]
    if sha256 is not None and url is None:
        raise InputError("--sha256 only goes with --url")
    url = url or default_url
    if url != default_url and sha256 is None:
        raise InputError("a custom --url needs --sha256 (the checksum to verify against)")
    dest = Path(directory).expanduser() / f"nasbench_{which}.tfrecord"
    fetch(url, dest, sha256 or default_sha, progress=progress)
    if not convert_after:
        return dest
    from .convert import convert

    return convert(dest, progress=progress)


