"""CASIA OLHWDB online character files (``.pot``): one record per character, as the pen moved.

Record layout (little-endian, as CASIA documents it): sample size u16 (bytes of the whole record), a 4-byte
tag whose first two bytes are the GB2312 code low byte first (then two zero bytes), stroke count u16, then
int16 (x, y) points; (-1, 0) ends a stroke and (-1, -1) the record. Coordinates are the tablet's, y down.
A file holds one writer's characters (``1043-c.pot`` is writer 1043).

`iter_pot` / `read_pot_at` hand out `Drawing`s in tablet coordinates with `word` = the character; `index_pot`
finds every record's byte offset (headers only) for random access. A data set of them (`PotRecords`) brings
each drawing into the simplified 0-255 space (top-left aligned, longest side 255), the space the rasterizer
and the stroke models read, and cuts writer-disjoint like .gnt (OLHWDB1.1's official 1001-1240 / 1241-1300).
Every record is checked against its own size and stroke count; a bad one raises `DataFormatError` naming the
file and the record.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np

from inkrec.atomic import atomic_output
from inkrec.data.drawing import Drawing
from inkrec.data.formats.gnt import decode_tag
from inkrec.data.sources import STROKES, WriterFiles, rasterize_strokes
from inkrec.errors import DataFormatError
from inkrec.preprocess.strokes import normalize_strokes

NAME = "pot"
SUFFIXES = (".pot",)
DESCRIPTION = "CASIA OLHWDB .pot files"
FOLDER = "files"
_HEADER = struct.Struct("<H4sH")  # sample size, tag, stroke count: 8 bytes
_MIN_RECORD = _HEADER.size + 4  # a header and the end-of-record point
_READ_BUFFER = 1 << 20


def recognizes(path: Path) -> bool:
    return path.suffix.lower() in SUFFIXES


def tag_label(tag: bytes) -> str:
    """The character of a .pot tag: its first two bytes are the GB2312 code, low byte first."""
    return decode_tag(bytes([tag[1], tag[0]]))


def _parse(path: Path, record: bytes, index: int) -> Drawing:
    """One whole record (header included) -> a Drawing in tablet coordinates."""
    size, tag, n_strokes = _HEADER.unpack_from(record)
    points = np.frombuffer(record, dtype="<i2", offset=_HEADER.size).reshape(-1, 2)
    if len(points) == 0 or tuple(points[-1]) != (-1, -1):
        raise DataFormatError(path, "the record does not end with the (-1, -1) point", record=index)
    points = points[:-1]
    ends = np.flatnonzero((points[:, 0] == -1) & (points[:, 1] == 0))
    if len(ends) != n_strokes:
        raise DataFormatError(
            path, f"the header says {n_strokes} strokes, the points hold {len(ends)}", record=index
        )
    strokes, start = [], 0
    for end in ends:
        if end > start:
            strokes.append(points[start:end].T.astype(np.float64))
        start = end + 1
    if start != len(points):
        raise DataFormatError(path, "points after the last stroke's end", record=index)
    if not strokes:
        raise DataFormatError(path, "a character without any point", record=index)
    return Drawing.from_checked(strokes, word=tag_label(tag), key_id=f"{path.stem}:{index}")


def _read_record(fh: IO[bytes], path: Path, index: int) -> bytes | None:
    head = fh.read(_HEADER.size)
    if not head:
        return None
    if len(head) < _HEADER.size:
        raise DataFormatError(path, "file ends inside a record header (truncated?)", record=index)
    size = _HEADER.unpack(head)[0]
    if size < _MIN_RECORD or (size - _HEADER.size) % 4:
        raise DataFormatError(path, f"impossible record size {size}", record=index)
    body = fh.read(size - _HEADER.size)
    if len(body) < size - _HEADER.size:
        raise DataFormatError(path, "file ends inside a record (truncated?)", record=index)
    return head + body


def iter_pot(path: str | Path) -> Iterator[Drawing]:
    """Stream the characters of a .pot file as Drawings (tablet coordinates, `word` = the character)."""
    path = Path(path)
    try:
        with open(path, "rb", buffering=_READ_BUFFER) as fh:
            index = 0
            while (record := _read_record(fh, path, index)) is not None:
                yield _parse(path, record, index)
                index += 1
    except OSError as exc:
        raise DataFormatError(path, f"cannot read file: {exc}") from None


@dataclass
class PotIndex:
    offsets: np.ndarray  # int64 byte offset of every record
    labels: list[str]  # its character

    def __len__(self) -> int:
        return len(self.offsets)


def index_pot(path: str | Path) -> PotIndex:
    """Every record's byte offset and character, reading the headers only."""
    path = Path(path)
    offsets, labels = [], []
    try:
        total = path.stat().st_size
        with open(path, "rb", buffering=_READ_BUFFER) as fh:
            pos = 0
            while pos < total:
                fh.seek(pos)
                head = fh.read(_HEADER.size)
                if len(head) < _HEADER.size:
                    raise DataFormatError(path, "file ends inside a record header (truncated?)", record=len(offsets))
                size, tag, _ = _HEADER.unpack(head)
                if size < _MIN_RECORD or (size - _HEADER.size) % 4 or pos + size > total:
                    raise DataFormatError(path, f"impossible record size {size}", record=len(offsets))
                offsets.append(pos)
                labels.append(tag_label(tag))
                pos += size
    except OSError as exc:
        raise DataFormatError(path, f"cannot read file: {exc}") from None
    return PotIndex(np.asarray(offsets, dtype=np.int64), labels)


def read_pot_at(path: str | Path, offsets: Iterable[int]) -> list[Drawing]:
    """The records starting at the given byte offsets (from `index_pot`), in that order."""
    path = Path(path)
    out = []
    try:
        with open(path, "rb") as fh:
            for i, offset in enumerate(offsets):
                fh.seek(int(offset))
                record = _read_record(fh, path, i)
                if record is None:
                    raise DataFormatError(path, f"no record at byte {offset}", record=i)
                out.append(_parse(path, record, i))
    except OSError as exc:
        raise DataFormatError(path, f"cannot read file: {exc}") from None
    return out


def write_pot(path: str | Path, drawings: Iterable[Drawing]) -> int:
    """Write Drawings (integer tablet coordinates, `word` a GB2312 character) as a .pot file; the count."""
    path = Path(path)
    n = 0
    with atomic_output(path, "wb") as fh:
        for d in drawings:
            try:
                code = d.word.encode("gb2312")
            except UnicodeEncodeError:
                raise DataFormatError(path, f"{d.word!r} is not a GB2312 character", record=n) from None
            if len(code) != 2:
                raise DataFormatError(path, f"{d.word!r} is not one GB2312 character", record=n)
            xy = [np.asarray(s[:2]).round().astype(np.int64) for s in d.strokes]
            if not xy or any(a.min(initial=0) < 0 or a.max(initial=0) > 32767 for a in xy):
                raise DataFormatError(path, "coordinates must be integers in 0..32767, strokes not empty", record=n)
            points = [p for a in xy for p in [*a.T.tolist(), [-1, 0]]]
            body = np.asarray([*points, [-1, -1]], dtype="<i2").tobytes()
            fh.write(_HEADER.pack(_HEADER.size + len(body), bytes([code[1], code[0], 0, 0]), len(d.strokes)))
            fh.write(body)
            n += 1
    return n


# ------------------------------------------------------------------------------------------ data set


class PotRecords(WriterFiles):
    """CASIA OLHWDB .pot files (one per writer), indexed by record offsets; drawings in the simplified
    0-255 space. Writers come from the file names (`1043-c.pot` is writer 1043)."""

    kind = STROKES
    name = "pot"

    def __init__(self, files: Sequence[Path], *, path: str | Path, progress: bool = True):
        self._index(files, index_pot, path=path, what=".pot", progress=progress)
        self.raw = False

    def drawings(self, rows) -> list[Drawing]:
        """The Drawings of the given global rows, in that order, in the simplified 0-255 space."""
        out = self.records(rows, read_pot_at)
        for d in out:
            d.strokes = normalize_strokes(d.strokes)
        return out

    def drawing(self, row: int) -> Drawing:
        return self.drawings([row])[0]

    def sample(self, row: int) -> list[np.ndarray]:
        return self.drawing(row).strokes

    def bitmaps(self, rows: np.ndarray, size: int | None = None) -> np.ndarray:
        return rasterize_strokes([d.strokes for d in self.drawings(rows)], size, raw=False)


def open_source(path: Path, *, classes=None, progress: bool = True) -> PotRecords:
    """One .pot file, or a folder of them (one per writer)."""
    if path.is_file():
        files = [path]
    else:
        files = sorted(
            c for c in path.iterdir() if c.is_file() and not c.name.startswith(".") and recognizes(c)
        )
    return PotRecords(files, path=path, progress=progress)
