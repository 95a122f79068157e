"""Quick, Draw! binary `.bin` files: the layout of the data set's own `binary_file_parser.py`.

Each record (little-endian, packed): key_id u64, countrycode 2 bytes, recognized i8, timestamp u32,
n_strokes u16, then per stroke n_points u16, n_points x bytes, n_points y bytes. Coordinates are the
simplified drawings' 0-255; the category is not stored, it is the file name (`cat.bin`). Records are read
one at a time through a buffered reader; `binary_offsets` finds every record's byte offset (headers only,
points skipped with seeks) for random access with `read_binary_at`.
"""

from __future__ import annotations

import os
import re
import struct
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import numpy as np

from inkrec.atomic import atomic_output
from inkrec.data.drawing import Drawing, parse_drawing
from inkrec.data.sources import IndexedRecords, category_files
from inkrec.errors import DataFormatError

NAME = "binary"
SUFFIXES = (".bin",)
DESCRIPTION = "Quick, Draw! .bin binary files"
FOLDER = "files"
_READ_BUFFER = 1 << 20

# key_id u64, countrycode 2 bytes, recognized i8, timestamp u32, n_strokes u16 -- little-endian, packed
_HEADER = struct.Struct("<Q2sbIH")
_U16 = struct.Struct("<H")


def recognizes(path: Path) -> bool:
    return path.suffix.lower() in SUFFIXES


def _read_exact(fh: IO[bytes], n: int, path: Path, index: int, start: int, what: str) -> bytes:
    data = fh.read(n)
    if len(data) != n:
        raise DataFormatError(
            path,
            f"truncated while reading {what}: needed {n} bytes, got {len(data)} "
            f"(record starts at byte {start})",
            record=index,
        )
    return data


def _check_recognized(path: Path, recognized: int, index: int, start: int) -> None:
    if recognized not in (0, 1):
        raise DataFormatError(
            path,
            f"recognized flag is {recognized} at byte offset {start + 10}, expected 0 or 1 "
            "(not a Quick, Draw! binary file, or a corrupt one)",
            record=index,
        )


def _read_record(fh: IO[bytes], path: Path, index: int, start: int) -> tuple[Drawing, int] | None:
    head = fh.read(_HEADER.size)
    if not head:
        return None
    if len(head) != _HEADER.size:
        raise DataFormatError(
            path,
            f"truncated record header: {len(head)} of {_HEADER.size} bytes at byte offset {start}",
            record=index,
        )
    key_id, cc, recognized, timestamp, n_strokes = _HEADER.unpack(head)
    _check_recognized(path, recognized, index, start)
    size = _HEADER.size
    counts = []
    parts = []
    for s in range(n_strokes):
        (n_points,) = _U16.unpack(_read_exact(fh, 2, path, index, start, f"the point count of stroke {s}"))
        parts.append(_read_exact(fh, 2 * n_points, path, index, start, f"the points of stroke {s}"))
        counts.append(n_points)
        size += 2 + 2 * n_points
    # one conversion for the whole drawing, then a (2, n) view per stroke (x bytes then y bytes)
    flat = np.frombuffer(b"".join(parts), dtype=np.uint8).astype(np.float64)
    strokes = []
    pos = 0
    for n_points in counts:
        strokes.append(flat[pos : pos + 2 * n_points].reshape(2, n_points))
        pos += 2 * n_points
    drawing = Drawing.from_checked(
        strokes,
        key_id=str(key_id),
        countrycode=cc.rstrip(b"\x00").decode("latin-1"),
        recognized=bool(recognized),
        timestamp=int(timestamp),
    )
    return drawing, size


def iter_binary(path: str | Path, *, word: str | None = None) -> Iterator[Drawing]:
    """Stream the drawings of a binary ``.bin`` file, record by record.

    The binary format does not store the category: it is taken from `word`, or from the file name
    (``cat.bin`` -> ``cat``). Coordinates are 0-255 (the simplified drawings); timestamps are Unix seconds.
    """
    path = Path(path)
    word = path.stem if word is None else word
    index = 0
    offset = 0
    try:
        with open(path, "rb", buffering=_READ_BUFFER) as fh:
            while True:
                rec = _read_record(fh, path, index, offset)
                if rec is None:
                    return
                drawing, size = rec
                drawing.word = word
                yield drawing
                index += 1
                offset += size
    except OSError as exc:
        raise DataFormatError(path, f"cannot read file: {exc.strerror or exc}") from None


def binary_offsets(path: str | Path) -> np.ndarray:
    """Byte offsets (int64) of every record, for random access with `read_binary_at`.

    Only record and stroke headers are read; the points are skipped with seeks.
    """
    path = Path(path)
    offsets = []
    index = 0
    offset = 0
    try:
        size_total = path.stat().st_size
        with open(path, "rb", buffering=_READ_BUFFER) as fh:
            while offset < size_total:
                offsets.append(offset)
                head = _read_exact(fh, _HEADER.size, path, index, offset, "the record header")
                _k, _c, recognized, _t, n_strokes = _HEADER.unpack(head)
                _check_recognized(path, recognized, index, offset)
                pos = offset + _HEADER.size
                for s in range(n_strokes):
                    (n_points,) = _U16.unpack(_read_exact(fh, 2, path, index, offset, f"stroke {s}"))
                    pos += 2 + 2 * n_points
                    if pos > size_total:
                        raise DataFormatError(
                            path,
                            f"truncated in stroke {s}: record at byte {offset} runs past the end of the file",
                            record=index,
                        )
                    fh.seek(2 * n_points, os.SEEK_CUR)
                offset = pos
                index += 1
    except OSError as exc:
        raise DataFormatError(path, f"cannot read file: {exc.strerror or exc}") from None
    return np.asarray(offsets, dtype=np.int64)


def read_binary_at(path: str | Path, offsets: Iterable[int], *, word: str | None = None) -> list[Drawing]:
    """Read the records starting at the given byte offsets (from `binary_offsets`)."""
    path = Path(path)
    word = path.stem if word is None else word
    out = []
    try:
        with open(path, "rb") as fh:
            for off in offsets:
                fh.seek(int(off))
                rec = _read_record(fh, path, -1, int(off))
                if rec is None:
                    raise DataFormatError(path, f"no record at byte offset {int(off)} (past the end)")
                rec[0].word = word
                out.append(rec[0])
    except OSError as exc:
        raise DataFormatError(path, f"cannot read file: {exc.strerror or exc}") from None
    return out


_TS_RE = re.compile(r"^(\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2})(\.\d+)?\s*(UTC|Z)?$")


def _timestamp_seconds(ts: str | int | None) -> int:
    if ts is None or ts == "":
        return 0
    if isinstance(ts, (int, np.integer)):
        return int(ts)
    m = _TS_RE.match(str(ts).strip())
    if not m:
        raise ValueError(f"timestamp {ts!r} is neither Unix seconds nor 'YYYY-MM-DD HH:MM:SS[.f] UTC'")
    dt = datetime.strptime(m.group(1).replace("T", " "), "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    return int(dt.timestamp())


def _pack(d: Drawing) -> bytes:
    key = d.key_id or "0"
    if not str(key).isdigit() or int(key) >= 2**64:
        raise ValueError(f"key_id {key!r} is not an unsigned 64-bit integer")
    cc = d.countrycode.encode("latin-1", errors="strict") if d.countrycode else b""
    if len(cc) > 2:
        raise ValueError(f"countrycode {d.countrycode!r} is longer than 2 bytes")
    ts = _timestamp_seconds(d.timestamp)
    if not 0 <= ts < 2**32:
        raise ValueError(f"timestamp {ts} does not fit an unsigned 32-bit integer")
    if len(d.strokes) >= 2**16:
        raise ValueError(f"{len(d.strokes)} strokes; the binary format holds at most 65535")
    parts = [_HEADER.pack(int(key), cc.ljust(2, b"\x00"), 1 if d.recognized else 0, ts, len(d.strokes))]
    for i, s in enumerate(d.strokes):
        xy = s[:2]
        if xy.size and (np.any(xy != np.round(xy)) or xy.min() < 0 or xy.max() > 255):
            raise ValueError(
                f"stroke {i} has coordinates outside the integers 0-255; the binary format stores "
                "simplified drawings (simplify raw drawings first)"
            )
        if xy.shape[1] >= 2**16:
            raise ValueError(f"stroke {i} has {xy.shape[1]} points; the binary format holds at most 65535")
        parts.append(_U16.pack(xy.shape[1]))
        parts.append(xy.astype(np.uint8).tobytes())  # x bytes then y bytes
    return b"".join(parts)


def write_binary(path: str | Path, drawings: Iterable[Drawing | Mapping[str, Any]]) -> int:
    """Write drawings in the binary ``.bin`` layout, atomically; returns the number written.

    Coordinates must be integers 0-255 (simplified drawings); a t row is dropped (the format has none);
    string timestamps such as ``2017-03-02 23:25:10.07453 UTC`` become Unix seconds.
    """
    n = 0
    with atomic_output(path, "wb") as fh:
        for d in drawings:
            try:
                if not isinstance(d, Drawing):
                    d = parse_drawing(d)
                fh.write(_pack(d))
            except ValueError as exc:
                raise DataFormatError(
                    path, f"cannot write drawing in binary format: {exc}", record=n
                ) from None
            n += 1
    return n


class RecordLimit:
    """Where the n-th complete record of a `.bin` byte stream ends (a download of the first n drawings)."""

    def __init__(self, n: int):
        self.remaining = n
        self._buf = bytearray()  # bytes of the record in progress

    @staticmethod
    def _record_size(buf: bytearray, start: int) -> int | None:
        p = start + _HEADER.size - _U16.size
        if len(buf) < p + 2:
            return None
        (n_strokes,) = _U16.unpack_from(buf, p)
        p += 2
        for _ in range(n_strokes):
            if len(buf) < p + 2:
                return None
            (n_points,) = _U16.unpack_from(buf, p)
            p += 2 + 2 * n_points
        return p - start if p <= len(buf) else None

    def feed(self, data: bytes) -> int | None:
        """Consume `data`; how many of its bytes to keep if the n-th record ends inside it, else None."""
        carried = len(self._buf)
        self._buf += data
        pos = 0
        while self.remaining > 0:
            size = self._record_size(self._buf, pos)
            if size is None:
                break
            pos += size
            self.remaining -= 1
        if self.remaining == 0:
            return pos - carried
        del self._buf[:pos]
        return None


def open_source(path: Path, *, classes=None, progress: bool = True) -> IndexedRecords:
    """A file or folder of category files, indexed by record offsets; the standard split is the first 80%
    of each file's drawings."""
    files, names = category_files(path, SUFFIXES, classes)
    return IndexedRecords(
        files, names, fmt=NAME, path=path, offsets=binary_offsets, read_at=read_binary_at, progress=progress
    )
