"""The sketch-rnn .npz reader and writer: inkrec's layouts, real drawings round-tripped, broken files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from datakit import truncate

from inkrec.data.formats.ndjson import iter_ndjson
from inkrec.data.formats.sketchrnn import (
    load_sketchrnn,
    stroke3_to_strokes,
    strokes_to_stroke3,
    write_sketchrnn,
)
from inkrec.errors import DataFormatError

# ------------------------------------------------------------------------------------------ sketch-rnn


def test_sketchrnn_roundtrip_from_real_drawings(tmp_path: Path, quickdraw: Path):
    drawings = list(iter_ndjson(quickdraw / "simplified" / "cat.ndjson"))
    s3 = [strokes_to_stroke3(d.strokes) for d in drawings]
    assert all(a[-1, 2] == 1 and a[:, 2].sum() == len(d.strokes) for a, d in zip(s3, drawings, strict=True))
    f = tmp_path / "cat.npz"
    write_sketchrnn(f, {"train": s3[:20], "valid": [], "test": s3[20:]})
    got = load_sketchrnn(f)
    assert sorted(got) == ["test", "train", "valid"] and len(got["train"]) == 20 and got["valid"] == []
    assert got["train"][0].dtype == np.int16
    for a, d in zip(got["train"] + got["test"], drawings, strict=True):
        back = stroke3_to_strokes(a)
        assert len(back) == len(d.strokes) and all(
            np.array_equal(x, y) for x, y in zip(back, d.strokes, strict=True)
        )


def test_sketchrnn_per_drawing_layout(tmp_path: Path):
    a = np.array([[1, 2, 0], [3, 4, 1]], dtype=np.int16)
    b = np.array([[0, 0, 1]], dtype=np.int16)
    f = tmp_path / "k.npz"
    np.savez(f, train_0=a, train_1=b, test_0=b)
    got = load_sketchrnn(f)
    assert [x.tolist() for x in got["train"]] == [a.tolist(), b.tolist()] and len(got["test"]) == 1
    np.savez(f, train_0=a, train_2=b)
    with pytest.raises(DataFormatError, match="without gaps"):
        load_sketchrnn(f)


def test_official_pickled_sketchrnn_is_refused_not_unpickled(tmp_path: Path):
    f = tmp_path / "official.npz"
    drawings = np.empty(2, dtype=object)
    drawings[0] = np.array([[1, 2, 0], [3, 4, 1]], dtype=np.int16)
    drawings[1] = np.array([[1, 2, 1]], dtype=np.int16)
    np.savez(f, train=drawings, valid=drawings, test=drawings)  # the sketch-rnn file layout (pickled)
    with pytest.raises(
        DataFormatError, match=r"official\.npz.*pickled object arrays.*never unpickles.*_index"
    ):
        load_sketchrnn(f)


def test_sketchrnn_corrupt_files(tmp_path: Path):
    f = tmp_path / "s.npz"
    write_sketchrnn(f, {"train": [np.array([[1, 2, 0], [3, 4, 1]])]})
    cut = truncate(f, tmp_path / "cut.npz", f.stat().st_size // 2)
    with pytest.raises(DataFormatError, match=r"cut\.npz"):
        load_sketchrnn(cut)
    np.savez(f, train=np.zeros((4, 3), np.int16), train_index=np.array([0, 3]))
    with pytest.raises(DataFormatError, match="must rise from 0 to 4"):
        load_sketchrnn(f)
    np.savez(f, train=np.zeros((4, 2), np.int16), train_index=np.array([0, 4]))
    with pytest.raises(DataFormatError, match=r"expected numeric \(n, 3\)"):
        load_sketchrnn(f)
    np.savez(f, train=np.full((2, 3), 2, np.int16), train_index=np.array([0, 2]))
    with pytest.raises(DataFormatError, match="pen column"):
        load_sketchrnn(f)
    np.savez(f, train=np.zeros((2, 3), np.int16))
    with pytest.raises(DataFormatError, match="train_index"):
        load_sketchrnn(f)
    (tmp_path / "text.npz").write_text("hello")
    with pytest.raises(DataFormatError, match=r"text\.npz"):
        load_sketchrnn(tmp_path / "text.npz")


def test_stroke3_conversions():
    strokes = [np.array([[5.0, 7.0], [1.0, 1.0]]), np.array([[0.0], [9.0]])]
    s3 = strokes_to_stroke3(strokes)
    assert s3.tolist() == [[5, 1, 0], [2, 0, 1], [-7, 8, 1]]
    assert [s.tolist() for s in stroke3_to_strokes(s3)] == [[[5, 7], [1, 1]], [[0], [9]]]
    # points after the last pen lift still form a stroke
    assert len(stroke3_to_strokes(np.array([[1, 1, 1], [1, 1, 0]]))) == 2
    assert strokes_to_stroke3([]).shape == (0, 3)
