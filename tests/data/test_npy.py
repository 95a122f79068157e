"""The one `.npy` header helper: what it writes numpy reads, what numpy writes it reads, and a header is
never trusted."""

from __future__ import annotations

import io

import numpy as np
import pytest

from inkrec.data import npy
from inkrec.errors import DataFormatError


@pytest.mark.parametrize("rows", [0, 1, 123456789012])
def test_header_written_ahead_of_its_rows_is_readable(tmp_path, rows):
    header = npy.header_bytes((rows, 784), np.uint8, length=128)
    assert len(header) == 128
    path = tmp_path / "h.npy"
    path.write_bytes(header + bytes(784 * min(rows, 1)))
    if rows <= 1:
        assert np.load(path, allow_pickle=False).shape == (rows, 784)
    else:
        with open(path, "rb") as fh:
            version = np.lib.format.read_magic(fh)
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
        assert version == (1, 0)
        assert (shape, fortran, dtype) == ((rows, 784), False, np.dtype(np.uint8))


@pytest.mark.parametrize(
    ("shape", "dtype"), [((3, 784), "u1"), ((5,), ">i4"), ((), "f8"), ((2, 3, 4), "<i2"), ((0, 3), "i2")]
)
def test_headers_match_numpy_byte_for_byte(shape, dtype):
    buf = io.BytesIO()
    np.save(buf, np.zeros(shape, dtype))
    raw = buf.getvalue()
    header = npy.parse_header(raw, "x.npy")
    assert (header.shape, header.dtype, header.fortran_order) == (shape, np.dtype(dtype), False)
    assert npy.header_bytes(shape, dtype) == raw[: header.offset]
    assert npy.read_header(io.BytesIO(raw), "x.npy") == header


def test_a_header_is_never_trusted(tmp_path):
    huge = npy.header_bytes((10**12, 784), np.uint8)
    path = tmp_path / "huge.npy"
    path.write_bytes(huge + bytes(784))
    with pytest.raises(DataFormatError, match=r"huge\.npy.*truncated.*784000000000128 bytes"):
        npy.read_file_header(path)
    for bad, message in [
        (b"\x93NUMPY\x09\x00", "version 9.0"),
        (b"NOTNUMPY\x01\x00", "bad magic"),
        (b"\x93NUMPY\x02\x00\xff\xff\xff\x7f", "claims"),
        (huge[:10] + b"(" * 100 + b" " * (len(huge) - 111) + b"\n", "corrupt .npy header"),
        (huge.replace(b"'shape': (", b"'shape': (-"), "corrupt .npy header"),
        (huge.replace(b"'|u1'", b"'|q9'"), "dtype"),
        (huge.replace(b"'|u1'", b"',i8'"), "dtype"),  # numpy's own parser raises SyntaxError for this one
        (b"\x93NUMPY\x01\x00\x00\x00", "corrupt .npy header"),  # a header length shorter than its prefix
    ]:
        with pytest.raises(DataFormatError, match=message):
            npy.read_header(io.BytesIO(bad + bytes(64)), "bad.npy")


def test_python2_headers_with_long_integers_are_read():
    text = "{'descr': '|u1', 'fortran_order': False, 'shape': (3L, 784L), }"
    raw = b"\x93NUMPY\x01\x00" + len(text + "\n").to_bytes(2, "little") + text.encode() + b"\n"
    assert npy.parse_header(raw, "py2.npy").shape == (3, 784)
