"""The `.npy` header, read and written in one place.

inkrec memory-maps numpy_bitmap files, fetches the first rows of one with a single Range request, reads the
arrays inside sketch-rnn `.npz` archives and streams rasterized drawings into new `.npy` files; all of them
go through these functions. Reading is bounded and never trusts the header: its text is at most
`MAX_HEADER_BYTES`, it is parsed as a literal (never evaluated), sizes are computed with Python integers
(a header may claim 10^18 rows) and callers compare them with the bytes really there before anything is
allocated. Object dtypes are reported, never unpickled here.
"""

from __future__ import annotations

import ast
import math
import re
import struct
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np

from inkrec.errors import DataFormatError

MAGIC = b"\x93NUMPY"
PREFIX_BYTES = 12  # magic (6), version (2), header length (2 in version 1.0, 4 in 2.0 and 3.0)
MAX_HEADER_BYTES = 1 << 16
_ALIGN = 64
_LENGTH_FIELDS = {1: "<H", 2: "<I", 3: "<I"}
_PY2_LONG = re.compile(r"(\d+)L\b")


@dataclass(frozen=True)
class NpyHeader:
    """What a `.npy` header says: the array's shape, dtype and order, and where its data starts."""

    shape: tuple[int, ...]
    dtype: np.dtype
    fortran_order: bool
    offset: int

    @property
    def count(self) -> int:
        """Number of elements (a Python int: no overflow whatever the header claims)."""
        return math.prod(self.shape)

    @property
    def data_bytes(self) -> int:
        """Bytes of data that must follow the header (meaningless for object arrays, which are pickled)."""
        return self.count * self.dtype.itemsize


def header_length(prefix: bytes, name: str | Path) -> int:
    """Total header bytes (magic to the end of the padding), from at least the first 12 bytes."""
    if len(prefix) < 8 or not prefix.startswith(MAGIC):
        raise DataFormatError(name, "not a .npy file (bad magic string)")
    major, minor = prefix[6], prefix[7]
    if major not in _LENGTH_FIELDS or minor != 0:
        raise DataFormatError(name, f"unsupported .npy format version {major}.{minor}")
    fmt = _LENGTH_FIELDS[major]
    size = struct.calcsize(fmt)
    if len(prefix) < 8 + size:
        raise DataFormatError(name, "truncated .npy header")
    (length,) = struct.unpack_from(fmt, prefix, 8)
    return 8 + size + length


def parse_header(data: bytes, name: str | Path) -> NpyHeader:
    """Parse the header at the start of `data`, which must hold all of it (see `header_length`)."""
    total = header_length(data[:PREFIX_BYTES], name)
    if total - PREFIX_BYTES > MAX_HEADER_BYTES:
        raise DataFormatError(
            name, f"the .npy header claims {total} bytes; at most {MAX_HEADER_BYTES} are read"
        )
    if len(data) < total:
        raise DataFormatError(name, f"truncated .npy header: {len(data)} of {total} bytes")
    start = 10 if data[6] == 1 else 12
    encoding = "utf-8" if data[6] == 3 else "latin-1"
    try:
        text = data[start:total].decode(encoding)
    except UnicodeDecodeError as exc:
        raise DataFormatError(name, f"corrupt .npy header: {exc.reason}") from None
    fields = _literal(text)
    if fields is None:  # headers written by Python 2 may spell integers 784L
        fields = _literal(_PY2_LONG.sub(r"\1", text))
    if not isinstance(fields, dict) or set(fields) != {"descr", "fortran_order", "shape"}:
        raise DataFormatError(name, f"corrupt .npy header: {text[:200]!r}")
    shape, fortran, descr = fields["shape"], fields["fortran_order"], fields["descr"]
    if not isinstance(shape, tuple) or not all(type(s) is int and s >= 0 for s in shape):
        raise DataFormatError(name, f"corrupt .npy header: shape {shape!r}")
    if not isinstance(fortran, bool):
        raise DataFormatError(name, f"corrupt .npy header: fortran_order {fortran!r}")
    try:
        dtype = np.lib.format.descr_to_dtype(descr)
    # numpy's dtype-string parser raises SyntaxError for some strings (',i8'), not only ValueError
    except (TypeError, ValueError, KeyError, IndexError, RecursionError, MemoryError, OverflowError,
            SyntaxError) as exc:
        raise DataFormatError(name, f"corrupt .npy header: dtype {str(descr)[:100]!r}: {exc}") from None
    return NpyHeader(shape=shape, dtype=dtype, fortran_order=fortran, offset=total)


def _literal(text: str):
    try:
        with warnings.catch_warnings():  # a corrupt header is reported, not warned about ("invalid escape")
            warnings.simplefilter("ignore")
            return ast.literal_eval(text)
    except (ValueError, TypeError, SyntaxError, RecursionError, MemoryError):
        return None


def read_header(fh: IO[bytes], name: str | Path) -> NpyHeader:
    """Read and parse the header of the stream `fh` (left positioned at the first data byte)."""
    prefix = fh.read(PREFIX_BYTES)
    total = header_length(prefix, name)
    if total - PREFIX_BYTES > MAX_HEADER_BYTES:
        raise DataFormatError(
            name, f"the .npy header claims {total} bytes; at most {MAX_HEADER_BYTES} are read"
        )
    return parse_header(prefix + fh.read(max(0, total - len(prefix))), name)


def read_file_header(path: str | Path) -> NpyHeader:
    """The header of a plain-data `.npy` file, checked against the file's size (a truncated download or
    trailing bytes are reported before anything is mapped) and refused if it holds Python objects."""
    path = Path(path)
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            header = read_header(fh, path)
    except OSError as exc:
        raise DataFormatError(path, f"cannot read file: {exc.strerror or exc}") from None
    if header.dtype.hasobject:
        raise DataFormatError(
            path, "holds Python objects (a pickled array); inkrec never unpickles data files"
        )
    expected = header.offset + header.data_bytes
    if size < expected:
        raise DataFormatError(
            path,
            f"truncated: header promises shape {header.shape} ({expected} bytes) "
            f"but the file has {size} bytes",
        )
    if size > expected:
        raise DataFormatError(
            path, f"{size - expected} unexpected bytes after the array of shape {header.shape}"
        )
    return header


def header_bytes(
    shape: tuple[int, ...], dtype: np.dtype | str, *, fortran_order: bool = False, length: int | None = None
) -> bytes:
    """A `.npy` header (version 1.0, or 2.0 when the text needs it) for an array of `shape` and `dtype`.

    Padded to a multiple of 64 bytes as numpy writes it, or to exactly `length` bytes, so that a header can be
    written after the data once the row count is known.
    """
    descr = np.lib.format.dtype_to_descr(np.dtype(dtype))
    shape_text = repr(tuple(int(s) for s in shape))
    text = f"{{'descr': {descr!r}, 'fortran_order': {bool(fortran_order)}, 'shape': {shape_text}, }}"
    body = text.encode("latin-1")
    for major in (1, 2):
        fmt = _LENGTH_FIELDS[major]
        fixed = len(MAGIC) + 2 + struct.calcsize(fmt)
        want = length if length is not None else -(-(fixed + len(body) + 1) // _ALIGN) * _ALIGN
        pad = want - fixed - len(body) - 1
        if pad < 0 or (major == 1 and want - fixed >= 1 << 16):
            continue
        return MAGIC + bytes([major, 0]) + struct.pack(fmt, want - fixed) + body + b" " * pad + b"\n"
    raise ValueError(f"a .npy header for shape {shape} does not fit {length} bytes")
