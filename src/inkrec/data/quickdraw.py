"""Readers and writers for the Quick, Draw! data set in its official formats.

- ``numpy_bitmap`` ``.npy``: (N, 784) uint8, one 28x28 drawing per row, white ink on black. Memory-mapped,
  so a 100k-drawing file costs no RAM until rows are touched.
- ``simplified`` / ``raw`` ``.ndjson``: one JSON object per line; read line by line, never whole.
- ``binary`` ``.bin``: the layout of the data set's own ``binary_file_parser.py`` (little-endian), read
  record by record through a buffered reader.
- sketch-rnn stroke-3 ``.npz``: see `load_sketchrnn` for the pickle-free layout we read and write.

Every reader validates what it reads and raises `DataFormatError` naming the file and the record (line
number, record index, byte offset) on corrupt input, so a bad download is reported, not crashed on.
"""

from __future__ import annotations

import gzip
import io
import itertools
import json
import os
import re
import struct
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import numpy as np

from inkrec.atomic import atomic_output
from inkrec.data.drawing import Drawing, as_strokes
from inkrec.errors import DataFormatError

BITMAP_SIDE = 28
_READ_BUFFER = 1 << 20

# --------------------------------------------------------------------------------------------------
# numpy_bitmap .npy
# --------------------------------------------------------------------------------------------------


def read_npy_header(path: str | Path) -> tuple[tuple[int, ...], bool, np.dtype, int]:
    """Validate a ``.npy`` header without reading data: (shape, fortran_order, dtype, data offset).

    Checks the magic string, the header and that the file is exactly as long as the header says, so
    a truncated download is reported before anything is memory-mapped.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            try:
                version = np.lib.format.read_magic(fh)
            except ValueError as exc:
                raise DataFormatError(path, f"not a .npy file (bad magic string): {exc}") from None
            try:
                if version == (1, 0):
                    shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
                elif version == (2, 0):
                    shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
                else:
                    raise DataFormatError(path, f"unsupported .npy format version {version}")
            except (ValueError, SyntaxError, EOFError) as exc:
                raise DataFormatError(path, f"corrupt .npy header: {exc}") from None
            offset = fh.tell()
    except OSError as exc:
        raise DataFormatError(path, f"cannot read file: {exc.strerror or exc}") from None
    if dtype.hasobject:
        raise DataFormatError(
            path, "holds Python objects (a pickled array); inkrec never unpickles data files"
        )
    expected = offset + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if size < expected:
        raise DataFormatError(
            path,
            f"truncated: header promises shape {shape} ({expected} bytes) but the file has {size} bytes",
        )
    if size > expected:
        raise DataFormatError(path, f"{size - expected} unexpected bytes after the array of shape {shape}")
    return tuple(int(s) for s in shape), bool(fortran), dtype, offset


def load_bitmaps(path: str | Path, *, side: int | None = None) -> np.ndarray:
    """Memory-map a ``numpy_bitmap`` file: (N, 784) uint8, white ink on black, one 28x28 drawing a row.

    Rows of any square width are accepted (``inkrec data import-images --size 64`` writes (N, 4096));
    `side=28` insists on the official 28x28.
    """
    path = Path(path)
    shape, _fortran, dtype, _offset = read_npy_header(path)
    if dtype != np.uint8:
        raise DataFormatError(path, f"dtype is {dtype}, expected uint8 (numpy_bitmap)")
    if len(shape) != 2:
        raise DataFormatError(path, f"shape is {shape}, expected (N, {(side or BITMAP_SIDE) ** 2})")
    width = shape[1]
    if side is not None and width != side * side:
        raise DataFormatError(
            path, f"shape is {shape}, expected (N, {side * side}) for {side}x{side} bitmaps"
        )
    if side is None and (width == 0 or round(width**0.5) ** 2 != width):
        raise DataFormatError(path, f"shape is {shape}: rows are not square bitmaps")
    if shape[0] == 0:
        return np.zeros(shape, dtype=np.uint8)
    try:
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise DataFormatError(path, f"cannot memory-map: {exc}") from None
    return arr


# --------------------------------------------------------------------------------------------------
# simplified / raw .ndjson
# --------------------------------------------------------------------------------------------------


def _open_maybe_gzip(path: Path) -> IO[bytes]:
    fh = open(path, "rb", buffering=_READ_BUFFER)
    if path.suffix == ".gz":
        return gzip.GzipFile(fileobj=fh, mode="rb")  # type: ignore[return-value]
    return fh


def parse_drawing(obj: Any) -> Drawing:
    """Build a `Drawing` from one decoded ndjson object; ValueError says what is wrong."""
    if not isinstance(obj, dict):
        raise ValueError(f"expected a JSON object, got {type(obj).__name__}")
    if "drawing" not in obj:
        raise ValueError("missing the 'drawing' field")
    drawing = obj["drawing"]
    if not isinstance(drawing, list):
        raise ValueError("'drawing' must be a list of strokes")
    strokes = _strokes_from_json(drawing)
    recognized = obj.get("recognized", True)
    key_id = obj.get("key_id", "")
    return Drawing.from_checked(
        strokes,
        word=str(obj.get("word", "")),
        key_id=str(key_id) if key_id is not None else "",
        countrycode=str(obj.get("countrycode", "") or ""),
        recognized=bool(recognized),
        timestamp=obj.get("timestamp"),
    )


def _strokes_from_json(drawing: list) -> list[np.ndarray]:
    """ndjson strokes -> float64 (2|3, n) arrays: shapes checked in Python (cheap), all numbers converted
    in one `np.fromiter` call and split into views, which is several times faster than an array per
    stroke. Falls back to `as_strokes` for its precise message when anything is off."""
    shapes = []
    total = 0
    for stroke in drawing:
        if not isinstance(stroke, list) or len(stroke) not in (2, 3) or not isinstance(stroke[0], list):
            return as_strokes(drawing)  # raises with the stroke's index and what is wrong
        n = len(stroke[0])
        for row in stroke:
            if not isinstance(row, list) or len(row) != n:
                return as_strokes(drawing)
        shapes.append((len(stroke), n))
        total += len(stroke) * n
    try:
        flat = np.fromiter(
            itertools.chain.from_iterable(itertools.chain.from_iterable(drawing)),
            dtype=np.float64,
            count=total,
        )
    except (TypeError, ValueError):
        return as_strokes(drawing)
    if not np.isfinite(flat).all():
        return as_strokes(drawing)
    out = []
    pos = 0
    for rows, n in shapes:
        out.append(flat[pos : pos + rows * n].reshape(rows, n))
        pos += rows * n
    return out


def _decode_line(path: Path, line: bytes, lineno: int | str) -> Drawing:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        raise DataFormatError(
            path, f"malformed JSON at column {exc.colno}: {exc.msg}", record=f"line {lineno}"
        ) from None
    except UnicodeDecodeError as exc:
        raise DataFormatError(path, f"not UTF-8 text: {exc.reason}", record=f"line {lineno}") from None
    try:
        return parse_drawing(obj)
    except ValueError as exc:
        raise DataFormatError(path, str(exc), record=f"line {lineno}") from None


def iter_ndjson(path: str | Path) -> Iterator[Drawing]:
    """Stream the drawings of a ``simplified`` or ``raw`` ndjson file (``.ndjson.gz`` also accepted).

    Blank lines are skipped; anything else that is not a drawing object raises `DataFormatError` with
    the line number.
    """
    path = Path(path)
    try:
        with _open_maybe_gzip(path) as fh:
            for lineno, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                yield _decode_line(path, line, lineno)
    except (OSError, EOFError, zlib.error) as exc:
        raise DataFormatError(path, f"cannot read file: {exc}") from None


def ndjson_offsets(path: str | Path) -> np.ndarray:
    """Byte offsets (int64) of every non-blank line, for random access with `read_ndjson_at`.

    One streaming pass; the offsets of 100k drawings take 800 kB. They match `iter_ndjson` one to one.
    """
    path = Path(path)
    if path.suffix == ".gz":
        raise DataFormatError(path, "random access needs an uncompressed .ndjson file")
    offsets = []
    pos = 0
    try:
        with open(path, "rb", buffering=_READ_BUFFER) as fh:
            for line in fh:
                if line.strip():
                    offsets.append(pos)
                pos += len(line)
    except OSError as exc:
        raise DataFormatError(path, f"cannot read file: {exc.strerror or exc}") from None
    return np.asarray(offsets, dtype=np.int64)


def read_ndjson_at(path: str | Path, offsets: Iterable[int]) -> list[Drawing]:
    """Read the drawings starting at the given byte offsets (from `ndjson_offsets`)."""
    path = Path(path)
    out = []
    with open(path, "rb") as fh:
        for off in offsets:
            fh.seek(int(off))
            line = fh.readline()
            out.append(_decode_line(path, line, f"at byte {int(off)}"))
    return out


def write_ndjson(path: str | Path, drawings: Iterable[Drawing | Mapping[str, Any]]) -> int:
    """Write drawings as ndjson, atomically; returns the number written."""
    n = 0
    with atomic_output(path, "wb") as fh:
        buf = io.BufferedWriter(_NoClose(fh), buffer_size=_READ_BUFFER)
        for d in drawings:
            if not isinstance(d, Drawing):
                try:
                    d = parse_drawing(d)
                except ValueError as exc:
                    raise DataFormatError(path, f"cannot write drawing: {exc}", record=n) from None
            buf.write(json.dumps(d.to_json(), separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
            buf.write(b"\n")
            n += 1
        buf.flush()
    return n


class _NoClose(io.RawIOBase):
    """Lets a BufferedWriter wrap a file that `atomic_output` closes itself."""

    def __init__(self, fh: IO[bytes]):
        self._fh = fh

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:  # type: ignore[override]
        return self._fh.write(b)


# --------------------------------------------------------------------------------------------------
# binary .bin
# --------------------------------------------------------------------------------------------------

# key_id u64, countrycode 2 bytes, recognized i8, timestamp u32, n_strokes u16 -- little-endian, packed
_BIN_HEADER = struct.Struct("<Q2sbIH")
_U16 = struct.Struct("<H")


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


def _read_binary_record(fh: IO[bytes], path: Path, index: int, start: int) -> tuple[Drawing, int] | None:
    head = fh.read(_BIN_HEADER.size)
    if not head:
        return None
    if len(head) != _BIN_HEADER.size:
        raise DataFormatError(
            path,
            f"truncated record header: {len(head)} of {_BIN_HEADER.size} bytes at byte offset {start}",
            record=index,
        )
    key_id, cc, recognized, timestamp, n_strokes = _BIN_HEADER.unpack(head)
    if recognized not in (0, 1):
        raise DataFormatError(
            path,
            f"recognized flag is {recognized} at byte offset {start + 10}, expected 0 or 1 "
            "(not a Quick, Draw! binary file, or a corrupt one)",
            record=index,
        )
    size = _BIN_HEADER.size
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
                rec = _read_binary_record(fh, path, index, offset)
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
                head = _read_exact(fh, _BIN_HEADER.size, path, index, offset, "the record header")
                _k, _c, recognized, _t, n_strokes = _BIN_HEADER.unpack(head)
                if recognized not in (0, 1):
                    raise DataFormatError(
                        path, f"recognized flag is {recognized} at byte offset {offset + 10}", record=index
                    )
                pos = offset + _BIN_HEADER.size
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
    with open(path, "rb") as fh:
        for off in offsets:
            fh.seek(int(off))
            rec = _read_binary_record(fh, path, -1, int(off))
            if rec is None:
                raise DataFormatError(path, f"no record at byte offset {int(off)} (past the end)")
            rec[0].word = word
            out.append(rec[0])
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


def _pack_binary(d: Drawing) -> bytes:
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
    parts = [_BIN_HEADER.pack(int(key), cc.ljust(2, b"\x00"), 1 if d.recognized else 0, ts, len(d.strokes))]
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
                fh.write(_pack_binary(d))
            except ValueError as exc:
                raise DataFormatError(
                    path, f"cannot write drawing in binary format: {exc}", record=n
                ) from None
            n += 1
    return n


# --------------------------------------------------------------------------------------------------
# sketch-rnn stroke-3 .npz
# --------------------------------------------------------------------------------------------------

SKETCHRNN_FORMAT = "inkrec-sketchrnn/1"
_SPLIT_RE = re.compile(r"^[A-Za-z][A-Za-z0-9-]*$")
_PER_DRAWING_RE = re.compile(r"^([A-Za-z][A-Za-z0-9-]*)_(\d+)$")

_LAYOUT_HELP = (
    "store each split as one integer array of shape (P, 3) with the stroke-3 rows of all "
    "drawings concatenated, plus '<split>_index' with the N+1 start offsets (inkrec's "
    f"'{SKETCHRNN_FORMAT}' layout, written by inkrec.data.quickdraw.write_sketchrnn), or store every "
    "drawing under its own key '<split>_<i>' as an (n, 3) array"
)
_PICKLED_HELP = (
    "holds pickled object arrays (the layout of the official sketch-rnn files); inkrec never unpickles "
    "data files. To use it, " + _LAYOUT_HELP
)


def _check_stroke3(path: Path, key: str, a: np.ndarray) -> np.ndarray:
    if a.dtype.kind not in "iuf" or a.ndim != 2 or a.shape[1] != 3:
        raise DataFormatError(
            path, f"array {key!r} has dtype {a.dtype} and shape {a.shape}; expected numeric (n, 3)"
        )
    if a.dtype.kind == "f" and not np.isfinite(a).all():
        raise DataFormatError(path, f"array {key!r} contains NaN or infinite values")
    if len(a) and not np.isin(a[:, 2], (0, 1)).all():
        raise DataFormatError(path, f"array {key!r}: the pen column (third) must hold only 0 and 1")
    return a


def load_sketchrnn(path: str | Path) -> dict[str, list[np.ndarray]]:
    """Read a sketch-rnn stroke-3 ``.npz`` into ``{split: [ (n, 3) arrays ]}``.

    Rows are ``(dx, dy, pen_lifted)``: offsets from the previous point (the first from the origin) and 1
    on the last point of each stroke. Two pickle-free layouts are read:

    1. ``inkrec-sketchrnn/1`` (what `write_sketchrnn` writes): for each split ``S`` (train/valid/test or
       any name) an array ``S`` of shape (P, 3) with the rows of all its drawings concatenated, and
       ``S_index`` (int64, N+1 offsets, first 0, last P); drawing i is ``S[S_index[i]:S_index[i+1]]``.
       An optional 0-d string ``format`` names the layout.
    2. one key per drawing, ``S_<i>`` (e.g. ``train_0``, ``train_1``), each an (n, 3) array.

    The official files store object arrays that only unpickling can read; they are refused with an
    explanation, never unpickled. All arrays of an ``.npz`` are read into memory (zip members cannot be
    memory-mapped); the returned drawings are views into the per-split arrays.
    """
    path = Path(path)
    try:
        npz = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise DataFormatError(path, f"not a readable .npz file: {exc}") from None
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise DataFormatError(path, "is a single .npy array, not an .npz archive of splits")
    arrays: dict[str, np.ndarray] = {}
    with npz:
        for key in npz.files:
            try:
                arrays[key] = npz[key]
            except ValueError as exc:
                if "allow_pickle" in str(exc) or "Object arrays" in str(exc):
                    raise DataFormatError(path, _PICKLED_HELP, record=key) from None
                raise DataFormatError(path, f"corrupt array: {exc}", record=key) from None
            except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
                raise DataFormatError(path, f"corrupt archive member: {exc}", record=key) from None
    arrays.pop("format", None)
    out: dict[str, list[np.ndarray]] = {}
    per_drawing: dict[str, dict[int, np.ndarray]] = {}
    for key, a in arrays.items():
        if key.endswith("_index") and key[: -len("_index")] in arrays:
            continue
        m = _PER_DRAWING_RE.match(key)
        if m:
            per_drawing.setdefault(m.group(1), {})[int(m.group(2))] = _check_stroke3(path, key, a)
            continue
        if not _SPLIT_RE.match(key):
            raise DataFormatError(path, f"unexpected array {key!r}; " + _LAYOUT_HELP)
        idx_key = f"{key}_index"
        if idx_key not in arrays:
            raise DataFormatError(path, f"split {key!r} has no {idx_key!r} offsets array", record=key)
        data = _check_stroke3(path, key, a)
        index = arrays[idx_key]
        if index.dtype.kind not in "iu" or index.ndim != 1 or len(index) < 1:
            raise DataFormatError(
                path, f"{idx_key!r} must be a 1-D integer array of N+1 offsets", record=idx_key
            )
        index = index.astype(np.int64)
        if index[0] != 0 or index[-1] != len(data) or np.any(np.diff(index) < 0):
            raise DataFormatError(
                path,
                f"{idx_key!r} must rise from 0 to {len(data)} (the row count of {key!r}); "
                f"got {index[0]}..{index[-1]}",
                record=idx_key,
            )
        out[key] = [data[index[i] : index[i + 1]] for i in range(len(index) - 1)]
    for split, items in per_drawing.items():
        if split in out:
            raise DataFormatError(path, f"split {split!r} is stored in both layouts")
        order = sorted(items)
        if order != list(range(len(order))):
            raise DataFormatError(
                path, f"split {split!r}: per-drawing keys must be numbered 0..N-1 without gaps"
            )
        out[split] = [items[i] for i in order]
    if not out:
        raise DataFormatError(path, "holds no stroke-3 splits")
    return out


def write_sketchrnn(
    path: str | Path, splits: Mapping[str, Sequence[np.ndarray]], *, compress: bool = True
) -> None:
    """Write ``{split: [ (n, 3) stroke-3 arrays ]}`` in the ``inkrec-sketchrnn/1`` layout, atomically.

    Rows are stored as int16 (as sketch-rnn does) when every value is an integer in range, else float32.
    """
    arrays: dict[str, np.ndarray] = {"format": np.array(SKETCHRNN_FORMAT)}
    for split, drawings in splits.items():
        if not _SPLIT_RE.match(split) or split == "format":
            raise ValueError(f"split name {split!r} must be a letter followed by letters, digits or '-'")
        parts = [np.asarray(d, dtype=np.float64).reshape(-1, 3) for d in drawings]
        data = np.concatenate(parts) if parts else np.zeros((0, 3))
        index = np.zeros(len(parts) + 1, dtype=np.int64)
        index[1:] = np.cumsum([len(p) for p in parts])
        if np.all(data == np.round(data)) and (data.size == 0 or np.abs(data).max() < 2**15):
            arrays[split] = data.astype(np.int16)
        else:
            arrays[split] = data.astype(np.float32)
        arrays[f"{split}_index"] = index
    with atomic_output(path, "wb") as fh:
        (np.savez_compressed if compress else np.savez)(fh, **arrays)


def stroke3_to_strokes(a: np.ndarray) -> list[np.ndarray]:
    """stroke-3 rows (dx, dy, pen_lifted) -> absolute strokes, float64 (2, n) each."""
    a = np.asarray(a, dtype=np.float64)
    if a.ndim != 2 or a.shape[1] != 3:
        raise ValueError(f"stroke-3 data must have shape (n, 3), got {a.shape}")
    xy = np.cumsum(a[:, :2], axis=0)
    ends = np.flatnonzero(a[:, 2] == 1) + 1
    bounds = np.concatenate(([0], ends, [len(a)] if (not len(ends) or ends[-1] != len(a)) else []))
    return [xy[s:e].T.copy() for s, e in zip(bounds[:-1].astype(int), bounds[1:].astype(int)) if e > s]


def strokes_to_stroke3(strokes: Iterable[Any]) -> np.ndarray:
    """Absolute strokes ((2|3, n) array-likes; a t row is dropped) -> float64 stroke-3 rows (n, 3).

    The first row is the offset of the first point from the origin; empty strokes are skipped.
    """
    parts = [s[:2].T for s in as_strokes(strokes) if s.shape[1]]
    if not parts:
        return np.zeros((0, 3))
    pts = np.concatenate(parts)
    out = np.zeros((len(pts), 3))
    out[:, :2] = np.diff(pts, axis=0, prepend=np.zeros((1, 2)))
    out[np.cumsum([len(p) for p in parts]) - 1, 2] = 1
    return out
