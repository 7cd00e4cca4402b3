"""TFRecord framing without TensorFlow, both CRCs verified.

A record is
``uint64 length | uint32 masked_crc32c(length) | payload | uint32 masked_crc32c(payload)``
(little endian).  Reading streams the file in large chunks so memory stays bounded whatever the
file size; every error names the file, the record index and its byte offset.
"""
from __future__ import annotations

import hashlib
import os
import struct
from collections.abc import Iterable, Iterator
from pathlib import Path

import google_crc32c

from ..errors import DataFormatError
from ..fileutil import atomic_writer

_MASK_DELTA = 0xA282EAD8
_HEADER = struct.Struct("<QI")
_CRC = struct.Struct("<I")
CHUNK = 8 << 20
MAX_RECORD = 1 << 26  # a NAS-Bench-101 record is < 1 KiB; anything huge is not one


def masked_crc(data: bytes) -> int:
    """TFRecord's masked CRC-32C."""
    crc = google_crc32c.value(data)
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + _MASK_DELTA) & 0xFFFFFFFF


class TFRecordReader:
    """Iterate over the payloads of a TFRecord file; ``sha256``/``size`` are known after a full
    pass."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.size = self.path.stat().st_size
        self.sha256: str | None = None
        self.bytes_read = 0

    def __iter__(self) -> Iterator[bytes]:
        digest = hashlib.sha256()
        index = 0
        offset = 0  # file offset of buf[0]
        buf = b""
        pos = 0
        with open(self.path, "rb") as fh:
            while True:
                if len(buf) - pos < _HEADER.size:
                    chunk = fh.read(CHUNK)
                    digest.update(chunk)
                    offset += pos
                    buf = buf[pos:] + chunk
                    pos = 0
                    self.bytes_read = offset
                    if not chunk:
                        if buf:
                            self._fail(index, offset, "truncated record header")
                        break
                    if len(buf) < _HEADER.size:
                        continue
                length, length_crc = _HEADER.unpack_from(buf, pos)
                if masked_crc(buf[pos:pos + 8]) != length_crc:
                    self._fail(index, offset + pos,
                               "length CRC mismatch (corrupt or not a TFRecord)")
                if length > MAX_RECORD:
                    self._fail(index, offset + pos, f"implausible record length {length}")
                end = pos + _HEADER.size + length + _CRC.size
                while len(buf) < end:
                    chunk = fh.read(max(CHUNK, end - len(buf)))
                    if not chunk:
                        self._fail(index, offset + pos, "truncated record "
                                   f"(needs {length} payload bytes, file ends first)")
                    digest.update(chunk)
                    buf += chunk
                payload = buf[pos + _HEADER.size:end - _CRC.size]
                if masked_crc(payload) != _CRC.unpack_from(buf, end - _CRC.size)[0]:
                    self._fail(index, offset + pos, "payload CRC mismatch (corrupt data)")
                yield payload
                index += 1
                pos = end
        self.sha256 = digest.hexdigest()
        self.bytes_read = self.size

    def _fail(self, index: int, offset: int, why: str) -> None:
        raise DataFormatError(f"{self.path}: record {index} (byte {offset}): {why}")


def frame(payload: bytes) -> bytes:
    """One framed record."""
    length = struct.pack("<Q", len(payload))
    return (length + _CRC.pack(masked_crc(length)) + payload + _CRC.pack(masked_crc(payload)))


def write_records(path: str | os.PathLike, payloads: Iterable[bytes]) -> int:
    """Write payloads as a TFRecord file atomically; returns the number of records."""
    count = 0
    with atomic_writer(path, "wb") as fh:
        for payload in payloads:
            fh.write(frame(payload))
            count += 1
    return count
