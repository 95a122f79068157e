"""sketch-rnn stroke-3 `.npz` files: one per category, splits of drawings as rows (dx, dy, pen_lifted).

Rows are offsets from the previous point (the first from the origin) and 1 on the last point of each
stroke. Three layouts are read:

1. Google's own files (`quickdraw_dataset/sketchrnn/<category>.npz`): `train`, `valid` and `test` are object
   arrays of int16 (n, 3) arrays, which numpy stores as pickles. inkrec reads them without running the
   pickle: every opcode is checked first (only those numpy's array pickles use, memo indices and counted
   sizes bounded by the data), then a restricted `pickle.Unpickler` resolves exactly numpy's array
   reconstruction names (`_reconstruct`, `ndarray`, `dtype`) to stand-ins that build plain numeric arrays
   from validated bytes; anything else is refused with a `DataFormatError` naming the file.
2. ``inkrec-sketchrnn/1`` (what `write_sketchrnn` writes, no pickles): for each split ``S`` an array ``S``
   of shape (P, 3) with the rows of all its drawings concatenated, and ``S_index`` (int64, N+1 offsets,
   first 0, last P); drawing i is ``S[S_index[i]:S_index[i+1]]``. An optional 0-d string ``format`` names it.
3. one key per drawing, ``S_<i>`` (e.g. ``train_0``, ``train_1``), each an (n, 3) array.

Members are read by inkrec, not `np.load`: a member's header is checked against the member's size before
its data is read, so a header claiming 10^12 rows costs nothing. Everything is read into memory (zip
members cannot be memory-mapped; a category is a few MB); drawings are views into the per-split arrays.
"""

from __future__ import annotations

import io
import lzma
import math
import pickle
import pickletools
import re
import struct
import zipfile
import zlib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from inkrec.atomic import atomic_output
from inkrec.data import npy
from inkrec.data.drawing import as_strokes
from inkrec.data.sources import StrokeLists, category_files
from inkrec.errors import DataFormatError

NAME = "sketchrnn"
SUFFIXES = (".npz",)
DESCRIPTION = "sketch-rnn .npz files"
FOLDER = "files"
LAYOUT = "inkrec-sketchrnn/1"

_SPLIT_RE = re.compile(r"^[A-Za-z][A-Za-z0-9-]*$")
_PER_DRAWING_RE = re.compile(r"^([A-Za-z][A-Za-z0-9-]*)_(\d+)$")
_LAYOUT_HELP = (
    "store each split as an object array of (n, 3) stroke-3 arrays (sketch-rnn's own layout), as one "
    "integer array of shape (P, 3) with the stroke-3 rows of all drawings concatenated plus "
    f"'<split>_index' with the N+1 start offsets (inkrec's '{LAYOUT}' layout, written by "
    "inkrec.data.formats.sketchrnn.write_sketchrnn), or every drawing under its own key '<split>_<i>'"
)
_PICKLED_HELP = (
    "holds pickled object arrays (the layout of the official sketch-rnn files); inkrec never unpickles "
    "data files. To use it, " + _LAYOUT_HELP
)
# What a corrupt zip archive raises, from the archive, its decompressors and its name decoding.
_ZIP_ERRORS = (
    zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, zlib.error, lzma.LZMAError, ValueError,
    NotImplementedError, RuntimeError, struct.error,
)
_MAX_MEMBERS = 1 << 16


def recognizes(path: Path) -> bool:
    return path.suffix.lower() in SUFFIXES


# ------------------------------------------------------------------------------------------ reading


def load_sketchrnn(path: str | Path) -> dict[str, list[np.ndarray]]:
    """Read a sketch-rnn stroke-3 ``.npz`` (any of the three layouts) into ``{split: [(n, 3) arrays]}``."""
    path = Path(path)
    arrays = _read_npz(path)
    arrays.pop("format", None)
    out: dict[str, list[np.ndarray]] = {}
    per_drawing: dict[str, dict[int, np.ndarray]] = {}
    for key, a in arrays.items():
        if isinstance(a, list):  # an object array of drawings (Google's layout)
            if not _SPLIT_RE.match(key):
                raise DataFormatError(path, f"unexpected array {key!r}; " + _LAYOUT_HELP)
            out[key] = [_check_stroke3(path, f"{key}[{i}]", d) for i, d in enumerate(a)]
            continue
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
        if isinstance(index, list) or index.dtype.kind not in "iu" or index.ndim != 1 or len(index) < 1:
            raise DataFormatError(path, f"{idx_key!r} must be a 1-D integer array of N+1 offsets", record=idx_key)
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
            raise DataFormatError(path, f"split {split!r} is stored in two layouts")
        order = sorted(items)
        if order != list(range(len(order))):
            raise DataFormatError(path, f"split {split!r}: per-drawing keys must be numbered 0..N-1 without gaps")
        out[split] = [items[i] for i in order]
    if not out:
        raise DataFormatError(path, "holds no stroke-3 splits")
    return out


def _check_stroke3(path: Path, key: str, a) -> np.ndarray:
    if not isinstance(a, np.ndarray) or a.dtype.kind not in "iuf" or a.ndim != 2 or a.shape[1] != 3:
        what = f"dtype {a.dtype} and shape {a.shape}" if isinstance(a, np.ndarray) else type(a).__name__
        raise DataFormatError(path, f"array {key!r} has {what}; expected numeric (n, 3)")
    if a.dtype.kind == "f" and not np.isfinite(a).all():
        raise DataFormatError(path, f"array {key!r} contains NaN or infinite values")
    if len(a) and not np.isin(a[:, 2], (0, 1)).all():
        raise DataFormatError(path, f"array {key!r}: the pen column (third) must hold only 0 and 1")
    return a


def _read_npz(path: Path) -> dict[str, np.ndarray | list[np.ndarray]]:
    """Every member of an .npz: numeric arrays as arrays, object arrays of numeric arrays as lists."""
    out: dict[str, np.ndarray | list[np.ndarray]] = {}
    member = None
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            if len(infos) > _MAX_MEMBERS:
                raise DataFormatError(path, f"{len(infos)} archive members; not an .npz of splits")
            for info in infos:
                member = info.filename
                if info.is_dir():
                    continue
                key = member.removesuffix(".npy")
                with zf.open(info) as fh:
                    out[key] = _read_member(path, key, fh, info.file_size)
    except DataFormatError:
        raise
    except _ZIP_ERRORS as exc:
        if member is None:
            raise DataFormatError(path, f"not a readable .npz file: {exc}") from None
        raise DataFormatError(path, f"corrupt archive member: {exc}", record=member) from None
    return out


def _read_member(path: Path, key: str, fh, size: int) -> np.ndarray | list[np.ndarray]:
    name = f"{path}:{key}"
    header = npy.read_header(fh, name)
    if header.dtype.hasobject:
        raise DataFormatError(path, _PICKLED_HELP, record=key)
    if header.offset + header.data_bytes != size:
        raise DataFormatError(
            path,
            f"header promises shape {header.shape} of {header.dtype} ({header.data_bytes} bytes) but the "
            f"member holds {size - header.offset} bytes after its header",
            record=key,
        )
    data = _read_exactly(fh, header.data_bytes, path, key)
    order = "F" if header.fortran_order else "C"
    return np.frombuffer(data, dtype=header.dtype).reshape(header.shape, order=order)


def _read_exactly(fh, n: int, path: Path, key: str) -> bytes:
    """`n` bytes of a member, read in pieces so that memory follows the bytes really there."""
    if n < 0:
        raise DataFormatError(path, "member shorter than its header", record=key)
    buf = bytearray()
    while len(buf) < n:
        chunk = fh.read(min(n - len(buf), 1 << 22))
        if not chunk:
            raise DataFormatError(path, f"member truncated: {len(buf)} of {n} bytes", record=key)
        buf += chunk
    return bytes(buf)


# ------------------------------------------------------------------------------------------ pickles

# The opcodes of numpy's array pickles (protocols 2 to 5, as Python 2 and 3 write them): building
# tuples and lists, constants, the memo, named globals, calling them and setting their state.
_PICKLE_OPCODES = frozenset({
    "PROTO", "FRAME", "STOP", "MARK", "POP", "POP_MARK", "DUP",
    "GLOBAL", "STACK_GLOBAL", "REDUCE", "BUILD",
    "MEMOIZE", "PUT", "BINPUT", "LONG_BINPUT", "GET", "BINGET", "LONG_BINGET",
    "EMPTY_TUPLE", "TUPLE", "TUPLE1", "TUPLE2", "TUPLE3", "EMPTY_LIST", "APPEND", "APPENDS", "LIST",
    "NONE", "NEWTRUE", "NEWFALSE", "INT", "BININT", "BININT1", "BININT2", "LONG", "LONG1",
    "STRING", "BINSTRING", "SHORT_BINSTRING", "BINBYTES", "SHORT_BINBYTES", "BINBYTES8",
    "UNICODE", "BINUNICODE", "SHORT_BINUNICODE", "BINUNICODE8",
})  # fmt: skip
_RECONSTRUCT = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct")}
_DTYPE_CODE = re.compile(r"^(?:b1|[iu][1248]|f[248]|O[48])$")


class _PickledArray:
    """Stands in for `numpy.ndarray` while unpickling: `__setstate__` receives the array's state and
    builds a plain array from it once shape, dtype and data agree."""

    def __init__(self) -> None:
        self.array: np.ndarray | list | None = None

    def __setstate__(self, state: Any) -> None:
        if not isinstance(state, tuple) or len(state) not in (4, 5):
            raise pickle.UnpicklingError("an array state must be (version, shape, dtype, fortran, data)")
        shape, dtype, fortran, raw = state[-4:]
        if not isinstance(shape, tuple) or not all(type(s) is int and s >= 0 for s in shape):
            raise pickle.UnpicklingError(f"bad array shape {shape!r}")
        if not isinstance(dtype, _PickledDtype) or dtype.dtype is None:
            raise pickle.UnpicklingError("an array's dtype must be a plain numeric dtype")
        count = math.prod(shape)
        order = "F" if fortran else "C"
        if dtype.dtype.hasobject:
            if not isinstance(raw, list) or len(raw) != count:
                raise pickle.UnpicklingError(f"an object array of shape {shape} needs a list of {count} items")
            if not all(isinstance(item, _PickledArray) and isinstance(item.array, np.ndarray) for item in raw):
                raise pickle.UnpicklingError("the items of an object array must be numeric arrays")
            self.array = [item.array for item in raw]
            if len(shape) != 1:
                raise pickle.UnpicklingError(f"an object array of drawings must be 1-D, not shape {shape}")
            return
        if isinstance(raw, str):  # written by Python 2, read as latin-1 text
            raw = raw.encode("latin-1")
        if not isinstance(raw, bytes) or len(raw) != count * dtype.dtype.itemsize:
            raise pickle.UnpicklingError(f"an array of shape {shape} and dtype {dtype.dtype} needs "
                                         f"{count * dtype.dtype.itemsize} bytes of data")
        self.array = np.frombuffer(raw, dtype=dtype.dtype).reshape(shape, order=order)


class _PickledDtype:
    """Stands in for `numpy.dtype`: only the numeric type codes (and the object container) are built."""

    def __init__(self, code: Any, align: Any = False, copy: Any = True) -> None:
        if not isinstance(code, str) or not _DTYPE_CODE.match(code):
            raise pickle.UnpicklingError(f"refused dtype {str(code)[:40]!r}: only numeric arrays are read")
        self.code = code
        self.dtype: np.dtype | None = np.dtype(code)

    def __setstate__(self, state: Any) -> None:
        if not isinstance(state, tuple) or len(state) < 5 or state[1] not in ("<", ">", "|", "="):
            raise pickle.UnpicklingError("bad dtype state")
        if any(field is not None for field in state[2:5]):
            raise pickle.UnpicklingError("refused a structured or sub-array dtype")
        if self.dtype is not None and state[1] in "<>":
            self.dtype = self.dtype.newbyteorder(state[1])


def _reconstruct(subtype: Any, shape: Any, typecode: Any) -> _PickledArray:
    """`numpy.core.multiarray._reconstruct` as numpy's pickles call it: an empty array, filled by BUILD."""
    if subtype is not _PickledArray or shape != (0,) or typecode not in (b"b", "b"):
        raise pickle.UnpicklingError("refused an array reconstruction that numpy does not write")
    return _PickledArray()


class _ArrayUnpickler(pickle.Unpickler):
    """Resolves numpy's array-reconstruction names to the stand-ins above and refuses every other name."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _RECONSTRUCT:
            return _reconstruct
        if (module, name) == ("numpy", "ndarray"):
            return _PickledArray
        if (module, name) == ("numpy", "dtype"):
            return _PickledDtype
        raise pickle.UnpicklingError(f"refused to load {module}.{name}: only numpy arrays are read")


def _check_opcodes(payload: bytes) -> None:
    """Refuse opcodes numpy's array pickles never use, memo slots and frames beyond the data's size, and
    counted strings longer than what follows (the C unpickler would allocate them before reading)."""
    limit = len(payload)
    for op, arg, _pos in pickletools.genops(payload):
        if op.name not in _PICKLE_OPCODES:
            raise pickle.UnpicklingError(f"refused pickle opcode {op.name}")
        if op.name in ("PUT", "BINPUT", "LONG_BINPUT", "FRAME") and isinstance(arg, int) and arg > limit:
            raise pickle.UnpicklingError(f"{op.name} {arg} beyond the {limit} bytes of the pickle")


def _unpickle_arrays(payload: bytes, header: npy.NpyHeader, path: Path, key: str) -> list[np.ndarray]:
    try:
        _check_opcodes(payload)
        result = _ArrayUnpickler(io.BytesIO(payload), encoding="latin1").load()
    except pickle.UnpicklingError as exc:
        raise DataFormatError(path, f"refused pickled data: {exc}", record=key) from None
    except Exception as exc:  # noqa: BLE001  whatever a corrupt pickle makes the unpickler raise
        raise DataFormatError(path, f"corrupt pickled data: {type(exc).__name__}: {exc}", record=key) from None
    if not isinstance(result, _PickledArray) or not isinstance(result.array, list):
        raise DataFormatError(path, "a pickled member must be an object array of numeric arrays", record=key)
    if (len(result.array),) != header.shape:
        raise DataFormatError(
            path, f"header promises shape {header.shape}, the pickle holds {len(result.array)} items", record=key
        )
    return result.array


# ------------------------------------------------------------------------------------------ writing


def write_sketchrnn(path: str | Path, splits: Mapping[str, Sequence[np.ndarray]], *, compress: bool = True) -> None:
    """Write ``{split: [ (n, 3) stroke-3 arrays ]}`` in the ``inkrec-sketchrnn/1`` layout, atomically.

    Rows are stored as int16 (as sketch-rnn does) when every value is an integer in range, else float32.
    """
    arrays: dict[str, np.ndarray] = {"format": np.array(LAYOUT)}
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


# ------------------------------------------------------------------------------------------ data set


def open_source(path: Path, *, classes=None, progress: bool = True) -> StrokeLists:
    """A file or folder of category files, held in memory; the standard split is the files' own
    train+valid vs test."""
    files, names = category_files(path, SUFFIXES, classes)
    drawings, labels, test = [], [], []
    for c, f in enumerate(files):
        parts = load_sketchrnn(f)
        for part in ("train", "valid", "test"):
            for a in parts.get(part, []):
                drawings.append(stroke3_to_strokes(a))
                labels.append(c)
                test.append(part == "test")
    standard = np.asarray(test, dtype=bool) if any(test) and not all(test) else None
    return StrokeLists(drawings, labels, names, name="sketchrnn", path=path, standard_test=standard)
