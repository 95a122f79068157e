"""CASIA HWDB offline character files (``.gnt``): one record per handwritten character.

Record layout (little-endian, as CASIA documents it): sample size u32 (= 10 + width*height), tag code
2 bytes (GB2312, high byte first), width u16, height u16, then width*height bitmap bytes, row by row,
255 background and dark ink. A file holds one writer's characters (``1001-c.gnt`` is writer 1001).

Readers hand out white ink on black (``255 - bitmap``), the convention of every other inkrec reader,
unless ``invert=False``. Records are read one at a time through a buffered reader; `index_gnt` finds
every record's byte offset (reading headers only) for random access with `read_gnt_at`. A data set is
one file or a folder of them; characters of any size are framed to `FRAMED_SIZE` squares, and the standard
split is writer-disjoint (the first 80% of writers train, which is HWDB1.1's official 1001-1240 cut).
"""

from __future__ import annotations

import os
import re
import struct
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np

from inkrec.atomic import atomic_output
from inkrec.data.sources import FRAMED_SIZE, WriterFiles, file_writer, frame
from inkrec.errors import DataFormatError
from inkrec.preprocess.batch import resize_bitmaps

NAME = "gnt"
SUFFIXES = (".gnt",)
DESCRIPTION = "CASIA .gnt files"
FOLDER = "files"
_HEADER = struct.Struct("<I2sHH")  # sample size, tag code, width, height: 10 bytes
_READ_BUFFER = 1 << 20


def recognizes(path: Path) -> bool:
    return path.suffix.lower() in SUFFIXES


def decode_tag(tag: bytes) -> str:
    """The character of a 2-byte tag code: GB2312 (GBK/GB18030 for the few codes outside it); an ASCII
    byte followed by 0 is that ASCII character; anything else is shown as its hex code, ``<ffff>``."""
    if len(tag) == 2 and tag[1] == 0 and 0 < tag[0] < 128:
        return chr(tag[0])
    for enc in ("gb2312", "gbk", "gb18030"):
        try:
            s = tag.decode(enc)
        except UnicodeDecodeError:
            continue
        if len(s) == 1:
            return s
    return f"<{tag.hex()}>"


def encode_tag(label: str) -> bytes:
    """Inverse of `decode_tag`."""
    m = re.fullmatch(r"<([0-9a-f]{4})>", label)
    if m:
        return bytes.fromhex(m.group(1))
    if len(label) == 1 and ord(label) < 128:
        return label.encode("ascii") + b"\x00"
    try:
        code = label.encode("gbk")
    except UnicodeEncodeError:
        raise ValueError(f"label {label!r} has no GB2312/GBK code") from None
    if len(code) != 2:
        raise ValueError(f"label {label!r} is not one GB2312 character (2 bytes); got {len(code)} bytes")
    return code


def _read_record(fh: IO[bytes], path: Path, index: int, offset: int, file_size: int, *, skip: bool):
    head = fh.read(_HEADER.size)
    if not head:
        return None
    if len(head) < _HEADER.size:
        raise DataFormatError(
            path, f"truncated record header: {len(head)} of 10 bytes at byte offset {offset}", record=index
        )
    size, tag, width, height = _HEADER.unpack(head)
    if size != 10 + width * height:
        raise DataFormatError(
            path,
            f"sample size field is {size} but 10 + width*height = {10 + width * height} "
            f"({width}x{height}) at byte offset {offset}: not a .gnt file, or a corrupt one",
            record=index,
        )
    if width == 0 or height == 0:
        raise DataFormatError(path, f"empty {width}x{height} bitmap at byte offset {offset}", record=index)
    n = width * height
    if offset + size > file_size:  # checked before reading: a corrupt header may claim gigabytes
        raise DataFormatError(
            path,
            f"truncated bitmap: the {width}x{height} record at byte offset {offset} needs {size} bytes, "
            f"the file ends after {file_size - offset}",
            record=index,
        )
    if skip:
        fh.seek(n, os.SEEK_CUR)
        return tag, width, height, None
    data = fh.read(n)
    if len(data) != n:
        raise DataFormatError(
            path,
            f"truncated bitmap: {len(data)} of {n} bytes ({width}x{height}) "
            f"for the record at byte offset {offset}",
            record=index,
        )
    return tag, width, height, np.frombuffer(data, dtype=np.uint8).reshape(height, width)


def iter_gnt(path: str | Path, *, invert: bool = True) -> Iterator[tuple[str, np.ndarray]]:
    """Stream (label, bitmap) pairs: uint8 (height, width), white ink on black unless `invert=False`."""
    path = Path(path)
    index = offset = 0
    try:
        with open(path, "rb", buffering=_READ_BUFFER) as fh:
            size = os.fstat(fh.fileno()).st_size
            while True:
                rec = _read_record(fh, path, index, offset, size, skip=False)
                if rec is None:
                    return
                tag, width, height, bitmap = rec
                yield decode_tag(tag), (255 - bitmap) if invert else bitmap.copy()
                index += 1
                offset += 10 + width * height
    except OSError as exc:
        raise DataFormatError(path, f"cannot read file: {exc.strerror or exc}") from None


@dataclass
class GntIndex:
    """Where every record of a .gnt file is: byte offsets, labels and bitmap sizes."""

    path: Path
    offsets: np.ndarray  # int64
    labels: list[str]
    widths: np.ndarray  # uint16
    heights: np.ndarray  # uint16

    def __len__(self) -> int:
        return len(self.offsets)


def index_gnt(path: str | Path) -> GntIndex:
    """Read the record headers of a .gnt file (bitmaps skipped with seeks)."""
    path = Path(path)
    offsets, labels, widths, heights = [], [], [], []
    index = offset = 0
    try:
        size = path.stat().st_size
        with open(path, "rb", buffering=_READ_BUFFER) as fh:
            while True:
                rec = _read_record(fh, path, index, offset, size, skip=True)
                if rec is None:
                    break
                tag, w, h, _ = rec
                offsets.append(offset)
                labels.append(decode_tag(tag))
                widths.append(w)
                heights.append(h)
                index += 1
                offset += 10 + w * h
    except OSError as exc:
        raise DataFormatError(path, f"cannot read file: {exc.strerror or exc}") from None
    return GntIndex(
        path=path,
        offsets=np.asarray(offsets, dtype=np.int64),
        labels=labels,
        widths=np.asarray(widths, dtype=np.uint16),
        heights=np.asarray(heights, dtype=np.uint16),
    )


def read_gnt_at(
    path: str | Path, offsets: Iterable[int], *, invert: bool = True
) -> list[tuple[str, np.ndarray]]:
    """Read the records at the given byte offsets (from `index_gnt`)."""
    path = Path(path)
    out = []
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            for off in offsets:
                fh.seek(int(off))
                rec = _read_record(fh, path, -1, int(off), size, skip=False)
                if rec is None:
                    raise DataFormatError(path, f"no record at byte offset {int(off)} (past the end)")
                tag, _w, _h, bitmap = rec
                out.append((decode_tag(tag), (255 - bitmap) if invert else bitmap.copy()))
    except OSError as exc:
        raise DataFormatError(path, f"cannot read file: {exc.strerror or exc}") from None
    return out


def write_gnt(path: str | Path, samples: Iterable[tuple[str, np.ndarray]], *, inverted: bool = True) -> int:
    """Write (label, bitmap) pairs as a .gnt file, atomically; returns the number written.

    Bitmaps are white ink on black (what `iter_gnt` returns) unless `inverted=False`, in which case they
    are stored as given (CASIA's 255 background).
    """
    n = 0
    with atomic_output(path, "wb") as fh:
        for label, bitmap in samples:
            b = np.asarray(bitmap)
            try:
                if b.ndim != 2 or b.dtype != np.uint8 or 0 in b.shape:
                    raise ValueError(
                        f"bitmap must be non-empty uint8 (height, width), got {b.dtype} {b.shape}"
                    )
                h, w = b.shape
                if w >= 2**16 or h >= 2**16 or 10 + w * h >= 2**32:
                    raise ValueError(f"bitmap {w}x{h} is too large for the .gnt format")
                tag = encode_tag(label)
            except ValueError as exc:
                raise DataFormatError(path, f"cannot write sample: {exc}", record=n) from None
            stored = (255 - b) if inverted else b
            fh.write(_HEADER.pack(10 + w * h, tag, w, h))
            fh.write(np.ascontiguousarray(stored).tobytes())
            n += 1
    return n


gnt_writer = file_writer  # the writer of a CASIA file name, by its .gnt name


# ------------------------------------------------------------------------------------------ data set


class GntRecords(WriterFiles):
    """CASIA HWDB .gnt files (one per writer), indexed by record offsets; characters framed to
    `FRAMED_SIZE`. Writers come from the file names (`1001-c.gnt` is writer 1001)."""

    name = "gnt"

    def __init__(self, files: Sequence[Path], *, path: str | Path, progress: bool = True):
        self._index(files, index_gnt, path=path, what=".gnt", progress=progress)
        self.image_size = FRAMED_SIZE

    def _read(self, rows) -> list[np.ndarray]:
        return [frame(bitmap, self.image_size) for _, bitmap in self.records(rows, read_gnt_at)]

    def sample(self, row: int) -> np.ndarray:
        return self._read([row])[0]

    def bitmaps(self, rows: np.ndarray, size: int | None = None) -> np.ndarray:
        imgs = self._read(rows)
        out = np.stack(imgs) if imgs else np.zeros((0, self.image_size, self.image_size), np.uint8)
        if size is not None and size != self.image_size:
            out = resize_bitmaps(out, size)
        return out


def open_source(path: Path, *, classes=None, progress: bool = True) -> GntRecords:
    """One .gnt file, or a folder of them (one per writer)."""
    if path.is_file():
        files = [path]
    else:
        files = sorted(
            c for c in path.iterdir() if c.is_file() and not c.name.startswith(".") and recognizes(c)
        )
    return GntRecords(files, path=path, progress=progress)
