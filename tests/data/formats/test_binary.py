"""The .bin reader and writer: the official layout, real drawings round-tripped, broken records."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from datakit import pack_binary_record, truncate
from inkrec.data.drawing import Drawing
from inkrec.data.formats.binary import binary_offsets, iter_binary, read_binary_at, write_binary
from inkrec.data.formats.ndjson import iter_ndjson, write_ndjson
from inkrec.data.formats.sketchrnn import strokes_to_stroke3, write_sketchrnn
from inkrec.errors import DataFormatError

# ------------------------------------------------------------------------------------------ binary


def test_binary_layout_matches_the_official_parser(tmp_path: Path):
    strokes = [([10, 20, 255], [0, 5, 9]), ([1], [2])]
    raw = pack_binary_record(5201136883597312, b"VE", 1, 1488497110, strokes)
    raw += pack_binary_record(7, b"US", 0, 0, [])
    f = tmp_path / "cat.bin"
    f.write_bytes(raw)
    a, b = list(iter_binary(f))
    assert (a.key_id, a.countrycode, a.recognized, a.timestamp, a.word) == (
        "5201136883597312",
        "VE",
        True,
        1488497110,
        "cat",
    )
    assert [s.tolist() for s in a.strokes] == [[[10, 20, 255], [0, 5, 9]], [[1], [2]]]
    assert (b.key_id, b.recognized, b.strokes) == ("7", False, [])
    # and our writer produces exactly those bytes
    write_binary(tmp_path / "again.bin", [a, b])
    assert (tmp_path / "again.bin").read_bytes() == raw


def test_binary_roundtrip_of_real_simplified_drawings(tmp_path: Path, quickdraw: Path):
    drawings = []
    for name in ("cat", "The Eiffel Tower", "house plant"):
        drawings += list(iter_ndjson(quickdraw / "simplified" / f"{name}.ndjson"))
    f = tmp_path / "mixed.bin"
    assert write_binary(f, drawings) == len(drawings)
    back = list(iter_binary(f, word="mixed"))
    assert len(back) == len(drawings)
    for d, e in zip(drawings, back, strict=True):
        assert e.key_id == d.key_id and e.countrycode == d.countrycode and e.recognized == d.recognized
        assert len(e.strokes) == len(d.strokes) and all(
            np.array_equal(x, y) for x, y in zip(d.strokes, e.strokes, strict=True)
        )
    # "2017-03-02 23:25:10.07453 UTC" -> Unix seconds
    assert back[0].timestamp == 1488497110 and drawings[0].timestamp.startswith("2017-03-02 23:25:10")
    offsets = binary_offsets(f)
    assert len(offsets) == len(drawings)
    picked = read_binary_at(f, offsets[[30, 2]], word="mixed")
    assert picked == [back[30], back[2]]


def test_truncated_binary_names_record_and_offset(tmp_path: Path, quickdraw: Path):
    drawings = list(iter_ndjson(quickdraw / "simplified" / "bicycle.ndjson"))
    f = tmp_path / "bicycle.bin"
    write_binary(f, drawings)
    offsets = binary_offsets(f)
    for cut, what in [
        (offsets[3] + 5, "record header"),
        (offsets[3] + 20, "stroke"),
        (offsets[3] + 17, "stroke 0"),
    ]:
        bad = truncate(f, tmp_path / "cut.bin", int(cut))
        it = iter_binary(bad)
        assert len([next(it) for _ in range(3)]) == 3
        with pytest.raises(
            DataFormatError, match=rf"cut\.bin \(record 3\): truncated.*{what}.*byte.*{offsets[3]}"
        ):
            next(it)
        with pytest.raises(DataFormatError, match=r"cut\.bin \(record 3\)"):
            binary_offsets(bad)


def test_binary_garbage_and_unwritable_drawings(tmp_path: Path, quickdraw: Path):
    junk = tmp_path / "junk.bin"
    junk.write_bytes((quickdraw / "simplified" / "cat.ndjson").read_bytes()[:5000])
    with pytest.raises(DataFormatError, match=r"junk\.bin \(record 0\)"):
        list(iter_binary(junk))
    raw = list(iter_ndjson(quickdraw / "raw" / "cat.ndjson"))
    with pytest.raises(DataFormatError, match="integers 0-255.*simplify"):
        write_binary(tmp_path / "raw.bin", raw)
    assert not (tmp_path / "raw.bin").exists()
    with pytest.raises(DataFormatError, match="key_id"):
        write_binary(tmp_path / "k.bin", [Drawing([[[1], [2]]], key_id="abc")])


def test_no_temp_files_left_after_writers(tmp_path: Path, quickdraw: Path):
    drawings = list(iter_ndjson(quickdraw / "simplified" / "eye.ndjson"))
    write_binary(tmp_path / "eye.bin", drawings)
    write_ndjson(tmp_path / "eye.ndjson", drawings)
    write_sketchrnn(tmp_path / "eye.npz", {"train": [strokes_to_stroke3(d.strokes) for d in drawings]})
    assert sorted(os.listdir(tmp_path)) == ["eye.bin", "eye.ndjson", "eye.npz"]
