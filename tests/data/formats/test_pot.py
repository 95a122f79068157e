"""CASIA OLHWDB .pot: the real characters of writer 1043, a round trip, and every kind of broken record."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from inkrec.data.dataset import open_dataset
from inkrec.data.drawing import Drawing
from inkrec.data.formats import detect_format
from inkrec.data.formats.pot import index_pot, iter_pot, read_pot_at, write_pot
from inkrec.errors import DataFormatError


@pytest.fixture(scope="module")
def real_pot(datasets: Path) -> Path:
    return datasets / "casia-olhwdb" / "1043-c.pot"


def test_the_real_file_reads_whole(real_pot: Path):
    chars = list(iter_pot(real_pot))
    assert len(chars) == 1000
    # every tag decodes to a GB2312 level-1 character (first byte 0xB0-0xD7), one sample each
    codes = [d.word.encode("gb2312") for d in chars]
    assert all(len(c) == 2 and 0xB0 <= c[0] <= 0xD7 for c in codes)
    assert len({d.word for d in chars}) == 1000
    assert chars[0].word == "陌"
    # a fast, joined-up hand: a little over 4 strokes a character, each a (2, n) path in tablet coordinates
    assert 4.0 < np.mean([len(d.strokes) for d in chars]) < 4.6
    assert all(s.shape[0] == 2 and s.shape[1] >= 1 for d in chars for s in d.strokes)
    assert min(s.min() for d in chars for s in d.strokes) >= 0


def test_random_access_matches_the_stream(real_pot: Path):
    index = index_pot(real_pot)
    stream = list(iter_pot(real_pot))
    assert len(index) == 1000 and index.labels == [d.word for d in stream]
    pick = [999, 3, 500, 3]
    got = read_pot_at(real_pot, index.offsets[pick])
    for i, d in zip(pick, got):
        assert d.word == stream[i].word
        assert all(np.array_equal(a, b) for a, b in zip(d.strokes, stream[i].strokes))


def test_as_a_data_set(real_pot: Path, tmp_path: Path):
    assert detect_format(real_pot) == "pot"
    ds = open_dataset(real_pot, progress=False)
    assert ds.kind == "strokes" and len(ds) == 1000 and len(ds.classes) == 1000
    strokes = ds[0][0]
    pts = np.concatenate(strokes, axis=1)
    assert pts.min() == 0 and abs(pts.max() - 255) < 1e-6  # brought into the simplified 0-255 space
    bitmaps = ds.bitmaps(np.arange(8), size=64)
    assert bitmaps.shape == (8, 64, 64) and (bitmaps.reshape(8, -1).max(axis=1) == 255).all()
    # a folder of writers is cut writer-disjoint
    chars = list(iter_pot(real_pot))
    folder = tmp_path / "olhwdb"
    folder.mkdir()
    for writer in range(1001, 1006):
        write_pot(folder / f"{writer}-c.pot", chars[(writer - 1001) * 20 : (writer - 1000) * 20])
    whole = open_dataset(folder, progress=False)
    test = open_dataset(folder, split="test", progress=False)
    assert len(whole) == 100 and len(test) == 20  # the last of five writers


def test_write_then_read_is_the_same(tmp_path: Path):
    drawings = [
        Drawing(strokes=[[[10, 20, 30], [5, 5, 40]], [[100, 90], [0, 200]]], word="啊"),
        Drawing(strokes=[[[7], [9]]], word="齐"),
    ]
    path = tmp_path / "1001-c.pot"
    assert write_pot(path, drawings) == 2
    back = list(iter_pot(path))
    assert [d.word for d in back] == ["啊", "齐"]
    for a, b in zip(back, drawings):
        assert all(np.array_equal(x, y) for x, y in zip(a.strokes, b.strokes))
    with pytest.raises(DataFormatError, match="GB2312"):
        write_pot(tmp_path / "x.pot", [Drawing(strokes=[[[1], [1]]], word="😀")])


def _record(tag: bytes, strokes: int, points: list[tuple[int, int]]) -> bytes:
    body = np.asarray(points, dtype="<i2").tobytes()
    return struct.pack("<H4sH", 8 + len(body), tag, strokes) + body


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_record(b"\xa1\xb0\0\0", 2, [(1, 2), (-1, 0), (-1, -1)]), "says 2 strokes"),
        (_record(b"\xa1\xb0\0\0", 1, [(1, 2), (-1, 0), (3, 4)]), "does not end"),
        (_record(b"\xa1\xb0\0\0", 1, [(1, 2), (-1, 0), (5, 5), (-1, -1)]), "after the last stroke"),
        (_record(b"\xa1\xb0\0\0", 0, [(-1, -1)]), "without any point"),
        (_record(b"\xa1\xb0\0\0", 1, [(1, 2), (-1, 0), (-1, -1)])[:-3], "truncated"),
        (struct.pack("<H4sH", 6, b"\xa1\xb0\0\0", 1), "impossible record size"),
    ],
)
def test_broken_records_are_named(tmp_path: Path, data: bytes, message: str):
    good = _record(b"\xa1\xb0\0\0", 1, [(1, 2), (3, 4), (-1, 0), (-1, -1)])
    path = tmp_path / "bad.pot"
    path.write_bytes(good + data)
    with pytest.raises(DataFormatError, match=message) as err:
        list(iter_pot(path))
    assert "bad.pot" in str(err.value) and "record 1" in str(err.value)
