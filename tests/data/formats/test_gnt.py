"""CASIA HWDB .gnt: hand-made files from real handwriting (Chinese MNIST), the documented byte layout,
and corrupt files."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from datakit import address_space_limit, pack_gnt_record, truncate
from inkrec.data.formats.gnt import (
    decode_tag,
    encode_tag,
    gnt_writer,
    index_gnt,
    iter_gnt,
    read_gnt_at,
    write_gnt,
)
from inkrec.data.formats.image_folder import ImageFolder
from inkrec.errors import DataFormatError


@pytest.fixture(scope="module")
def handwriting(chinese_mnist: Path) -> list[tuple[str, np.ndarray]]:
    """Real handwritten characters, cropped to varied sizes as HWDB's are, white ink on black."""
    f = ImageFolder(chinese_mnist)
    out = []
    for k, i in enumerate(range(0, len(f), 397)):
        ink = f.load_ink(i)
        out.append((f.classes[f.samples[i][1]], np.ascontiguousarray(ink[k % 7 : 64 - k % 5, k % 3 :])))
    return out


def test_documented_layout_is_read(tmp_path: Path):
    bitmap = np.full((3, 4), 255, np.uint8)  # CASIA: 255 background, dark ink
    bitmap[1, 1:3] = 0
    f = tmp_path / "1001-c.gnt"
    f.write_bytes(pack_gnt_record("啊".encode("gb2312"), bitmap) + pack_gnt_record(b"\xb0\xa2", bitmap[:2]))
    (l1, b1), (l2, b2) = list(iter_gnt(f))
    assert (l1, l2) == ("啊", "阿") and b1.shape == (3, 4) and b2.shape == (2, 4)
    assert b1[1, 1] == 255 and b1[0, 0] == 0  # white ink on black
    assert np.array_equal(next(iter_gnt(f, invert=False))[1], bitmap)
    # and our writer gives the same bytes
    write_gnt(tmp_path / "again.gnt", [(l1, b1), (l2, b2)])
    assert (tmp_path / "again.gnt").read_bytes() == f.read_bytes()
    assert gnt_writer(f) == 1001 and gnt_writer(tmp_path / "x.gnt") is None


def test_roundtrip_real_handwriting(tmp_path: Path, handwriting):
    f = tmp_path / "042-f.gnt"
    assert write_gnt(f, handwriting) == len(handwriting)
    back = list(iter_gnt(f))
    assert [lab for lab, _ in back] == [lab for lab, _ in handwriting]
    assert all(np.array_equal(a, b) for (_, a), (_, b) in zip(back, handwriting, strict=True))
    idx = index_gnt(f)
    assert len(idx) == len(handwriting) and idx.labels == [lab for lab, _ in handwriting]
    assert [(int(h), int(w)) for h, w in zip(idx.heights, idx.widths, strict=True)] == [
        b.shape for _, b in handwriting
    ]
    picked = read_gnt_at(f, idx.offsets[[5, 1]])
    assert picked[0][0] == handwriting[5][0] and np.array_equal(picked[1][1], handwriting[1][1])


def test_a_record_claiming_gigabytes_is_refused_before_reading(tmp_path: Path):
    """65535 x 65535 pixels in a 110-byte file: refused from the file size, nothing allocated."""
    f = tmp_path / "1001-c.gnt"
    f.write_bytes(struct.pack("<I2sHH", (10 + 65535 * 65535) % 2**32, b"\xb0\xa1", 65535, 65535) + bytes(100))
    for read in (lambda: list(iter_gnt(f)), lambda: index_gnt(f), lambda: read_gnt_at(f, [0])):
        with address_space_limit(), pytest.raises(DataFormatError, match=r"1001-c\.gnt.*truncated bitmap"):
            read()


def test_tags():
    assert decode_tag("十".encode("gb2312")) == "十"
    assert decode_tag(b"A\x00") == "A" and encode_tag("A") == b"A\x00"
    assert decode_tag(b"\xff\xff") == "<ffff>" and encode_tag("<ffff>") == b"\xff\xff"
    with pytest.raises(ValueError, match="GB2312"):
        encode_tag("😀")


def test_truncated_and_inconsistent_files(tmp_path: Path, handwriting):
    f = tmp_path / "w.gnt"
    write_gnt(f, handwriting)
    offsets = index_gnt(f).offsets
    for cut, what in [(offsets[4] + 6, "truncated record header"), (offsets[4] + 40, "truncated bitmap")]:
        bad = truncate(f, tmp_path / "cut.gnt", int(cut))
        it = iter_gnt(bad)
        assert len([next(it) for _ in range(4)]) == 4
        with pytest.raises(DataFormatError, match=rf"cut\.gnt \(record 4\): {what}.*{offsets[4]}"):
            next(it)
        with pytest.raises(DataFormatError, match=r"cut\.gnt \(record 4\)"):
            index_gnt(bad)
    data = bytearray(f.read_bytes())
    data[int(offsets[2])] ^= 0x01  # corrupt the sample size field of record 2
    (tmp_path / "size.gnt").write_bytes(bytes(data))
    with pytest.raises(DataFormatError, match=r"size\.gnt \(record 2\): sample size field is"):
        list(iter_gnt(tmp_path / "size.gnt"))
    (tmp_path / "text.gnt").write_text("this is not a gnt file at all, just text")
    with pytest.raises(DataFormatError, match=r"text\.gnt \(record 0\)"):
        list(iter_gnt(tmp_path / "text.gnt"))
    with pytest.raises(DataFormatError, match="cannot write sample"):
        write_gnt(tmp_path / "bad.gnt", [("十", np.zeros((0, 4), np.uint8))])
    assert not (tmp_path / "bad.gnt").exists()
