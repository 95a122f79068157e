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
import pickle
import pickletools
import re
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from inkrec.atomic import atomic_output
from inkrec.data import npy
from inkrec.data.drawing import as_strokes
from inkrec.data.sources import StrokeLists, category_files
from inkrec.data.zips import ZIP_ERRORS
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
            out[key] = _check_drawings(path, key, a)
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
            raise DataFormatError(path, f"split {split!r} is stored in two layouts")
        order = sorted(items)
        if order != list(range(len(order))):
            raise DataFormatError(
                path, f"split {split!r}: per-drawing keys must be numbered 0..N-1 without gaps"
            )
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


def _check_drawings(path: Path, key: str, drawings: list[np.ndarray]) -> list[np.ndarray]:
    """`_check_stroke3` for a split of separate arrays, the values checked once over all of them."""
    for i, d in enumerate(drawings):
        if d.dtype.kind not in "iuf" or d.ndim != 2 or d.shape[1] != 3:
            _check_stroke3(path, f"{key}[{i}]", d)  # raises with the drawing's index
    if drawings:
        _check_stroke3(path, key, np.concatenate(drawings))
    return drawings


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
    except ZIP_ERRORS as exc:
        if member is None:
            raise DataFormatError(path, f"not a readable .npz file: {exc}") from None
        raise DataFormatError(path, f"corrupt archive member: {exc}", record=member) from None
    return out


def _read_member(path: Path, key: str, fh, size: int) -> np.ndarray | list[np.ndarray]:
    name = f"{path}:{key}"
    header = npy.read_header(fh, name)
    if header.dtype.hasobject:
        payload = _read_exactly(fh, size - header.offset, path, key)
        return _unpickle_arrays(payload, header, path, key)
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

# The opcodes of numpy's array pickles (protocols 2 to 5, as Python 2 and 3 write them): building tuples
# and lists, constants, the memo, named globals, calling them and setting their state. Each maps to how
# its argument is laid out: a fixed number of bytes, a length of 1, 4 or 8 bytes then that many bytes,
# text lines, or a memo slot (which the C unpickler allocates up to, so it is bounded first).
_FIXED, _COUNTED, _LINES, _SLOT, _SLOT_LINE, _FRAME, _STOP = range(7)
_OPCODES: dict[bytes, tuple[int, int]] = {
    **{op: (_FIXED, 0) for op in (b"(", b"0", b"1", b"2", b"N", b"R", b"b", b"a", b"e", b"l", b"]", b"t",
                                  b")", b"\x85", b"\x86", b"\x87", b"\x88", b"\x89", b"\x93", b"\x94")},
    b"J": (_FIXED, 4), b"K": (_FIXED, 1), b"M": (_FIXED, 2), b"G": (_FIXED, 8), b"\x80": (_FIXED, 1),
    b"h": (_FIXED, 1), b"j": (_FIXED, 4), b"q": (_FIXED, 1),
    b"r": (_SLOT, 4), b"p": (_SLOT_LINE, 1), b"\x95": (_FRAME, 8), b".": (_STOP, 0),
    b"U": (_COUNTED, 1), b"C": (_COUNTED, 1), b"\x8c": (_COUNTED, 1), b"\x8a": (_COUNTED, 1),
    b"T": (_COUNTED, 4), b"B": (_COUNTED, 4), b"X": (_COUNTED, 4), b"\x8b": (_COUNTED, 4),
    b"\x8e": (_COUNTED, 8), b"\x8d": (_COUNTED, 8),
    b"I": (_LINES, 1), b"L": (_LINES, 1), b"F": (_LINES, 1), b"S": (_LINES, 1), b"V": (_LINES, 1),
    b"g": (_LINES, 1), b"c": (_LINES, 2),
}  # fmt: skip
_OPCODE_TABLE: list[tuple[int, int] | None] = [_OPCODES.get(bytes([b])) for b in range(256)]
_FIXED_SKIPS = [1 + spec[1] if spec is not None and spec[0] == _FIXED else 0 for spec in _OPCODE_TABLE]
_OPCODE_NAMES = {
    op[0]: name for name, op in ((o.name, o.code.encode("latin-1")) for o in pickletools.opcodes)
}
_RECONSTRUCT = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct")}
# The type codes a numeric array (or the object array holding them) pickles its dtype as.
_DTYPES = {
    code: np.dtype(code) for code in ("b1", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f2", "f4", "f8")
}
_DTYPES.update({"O4": np.dtype(object), "O8": np.dtype(object)})  # pointers of 32- and 64-bit builds


class _PickledArray:
    """Stands in for `numpy.ndarray` while unpickling: `__setstate__` receives the array's state and
    builds a plain array from it once shape, dtype and data agree."""

    array: np.ndarray | list | None = None

    def __setstate__(self, state: Any) -> None:
        if type(state) is not tuple or len(state) not in (4, 5):
            raise pickle.UnpicklingError("an array state must be (version, shape, dtype, fortran, data)")
        shape, dtype, fortran, raw = state[-4:]
        if type(shape) is not tuple:
            raise pickle.UnpicklingError(f"bad array shape {shape!r}")
        count = 1
        for side in shape:
            if type(side) is not int or side < 0:
                raise pickle.UnpicklingError(f"bad array shape {shape!r}")
            count *= side
        if type(dtype) is not _PickledDtype:
            raise pickle.UnpicklingError("an array's dtype must be a plain numeric dtype")
        if dtype.dtype.hasobject:
            if len(shape) != 1:
                raise pickle.UnpicklingError(f"an object array of drawings must be 1-D, not shape {shape}")
            if type(raw) is not list or len(raw) != count:
                raise pickle.UnpicklingError(
                    f"an object array of shape {shape} needs a list of {count} items"
                )
            if not all(type(item) is _PickledArray and type(item.array) is np.ndarray for item in raw):
                raise pickle.UnpicklingError("the items of an object array must be numeric arrays")
            self.array = [item.array for item in raw]
            return
        if type(raw) is str:  # written by Python 2, read as latin-1 text
            raw = raw.encode("latin-1")
        if type(raw) is not bytes or len(raw) != count * dtype.dtype.itemsize:
            raise pickle.UnpicklingError(
                f"an array of shape {shape} and dtype {dtype.dtype} needs "
                f"{count * dtype.dtype.itemsize} bytes of data"
            )
        self.array = np.frombuffer(raw, dtype=dtype.dtype).reshape(shape, order="F" if fortran else "C")


class _PickledDtype:
    """Stands in for `numpy.dtype`: only the numeric type codes (and the object container) are built."""

    def __init__(self, code: Any, align: Any = False, copy: Any = True) -> None:
        dtype = _DTYPES.get(code) if type(code) is str else None
        if dtype is None:
            raise pickle.UnpicklingError(f"refused dtype {str(code)[:40]!r}: only numeric arrays are read")
        self.dtype: np.dtype = dtype

    def __setstate__(self, state: Any) -> None:
        if type(state) is not tuple or len(state) < 5 or state[1] not in ("<", ">", "|", "="):
            raise pickle.UnpicklingError("bad dtype state")
        if state[2] is not None or state[3] is not None or state[4] is not None:
            raise pickle.UnpicklingError("refused a structured or sub-array dtype")
        if state[1] == ">":
            self.dtype = self.dtype.newbyteorder(">")


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
    """Refuse opcodes numpy's array pickles never use, memo slots and frames beyond the data's size, and a
    pickle that ends early. One pass over the opcodes, skipping their data (about 0.4 us an opcode)."""
    n = len(payload)
    table = _OPCODE_TABLE
    skips = _FIXED_SKIPS
    i = 0
    while i < n:
        op = payload[i]
        skip = skips[op]
        if skip:  # the common case: an opcode with a fixed-size argument
            i += skip
            continue
        spec = table[op]
        if spec is None:
            raise pickle.UnpicklingError(f"refused pickle opcode {_OPCODE_NAMES.get(op, hex(op))}")
        i += 1
        kind, size = spec
        if kind == _COUNTED:
            length = int.from_bytes(payload[i : i + size], "little", signed=size == 4)
            if length < 0 or i + size + length > n:
                raise pickle.UnpicklingError(
                    f"{_OPCODE_NAMES[op]} of {length} bytes runs past the pickle's end"
                )
            i += size + length
        elif kind == _LINES:
            for _ in range(size):
                end = payload.find(b"\n", i, i + 1024)
                if end < 0:
                    raise pickle.UnpicklingError(f"{_OPCODE_NAMES[op]} without its line end")
                i = end + 1
        elif kind == _SLOT or kind == _SLOT_LINE:
            if kind == _SLOT:
                slot = int.from_bytes(payload[i : i + 4], "little")
                i += 4
            else:
                end = payload.find(b"\n", i, i + 32)
                text = payload[i:end] if end >= 0 else b""
                if not text.isdigit():
                    raise pickle.UnpicklingError("PUT without a memo slot number")
                slot, i = int(text), end + 1
            if slot > n:
                raise pickle.UnpicklingError(f"{_OPCODE_NAMES[op]} {slot} beyond the {n} bytes of the pickle")
        elif kind == _FRAME:
            if int.from_bytes(payload[i : i + 8], "little") > n - i - 8:
                raise pickle.UnpicklingError("FRAME runs past the pickle's end")
            i += 8
        else:  # STOP
            return
    raise pickle.UnpicklingError("the pickle ends before its STOP opcode")


def _unpickle_arrays(payload: bytes, header: npy.NpyHeader, path: Path, key: str) -> list[np.ndarray]:
    try:
        _check_opcodes(payload)
        result = _ArrayUnpickler(io.BytesIO(payload), encoding="latin1").load()
    except pickle.UnpicklingError as exc:
        raise DataFormatError(path, f"refused pickled data: {exc}", record=key) from None
    except Exception as exc:  # noqa: BLE001  whatever a corrupt pickle makes the unpickler raise
        raise DataFormatError(
            path, f"corrupt pickled data: {type(exc).__name__}: {exc}", record=key
        ) from None
    if not isinstance(result, _PickledArray) or not isinstance(result.array, list):
        raise DataFormatError(path, "a pickled member must be an object array of numeric arrays", record=key)
    if (len(result.array),) != header.shape:
        raise DataFormatError(
            path,
            f"header promises shape {header.shape}, the pickle holds {len(result.array)} items",
            record=key,
        )
    return result.array


# ------------------------------------------------------------------------------------------ writing


def write_sketchrnn(
    path: str | Path, splits: Mapping[str, Sequence[np.ndarray]], *, compress: bool = True
) -> None:
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
