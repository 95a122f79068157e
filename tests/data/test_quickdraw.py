"""Quick, Draw! readers and writers on the real files, hand-made files and corrupt ones."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from datakit import pack_binary_record, truncate

from inkrec.data.drawing import Drawing
from inkrec.data.quickdraw import (
    binary_offsets,
    iter_binary,
    iter_ndjson,
    load_bitmaps,
    load_sketchrnn,
    ndjson_offsets,
    read_binary_at,
    read_ndjson_at,
    stroke3_to_strokes,
    strokes_to_stroke3,
    write_binary,
    write_ndjson,
    write_sketchrnn,
)
from inkrec.errors import DataFormatError

# Row counts of ../shared/datasets/README.md
README_COUNTS = {
    "airplane": 4000, "apple": 3000, "banana": 4000, "bicycle": 3000, "bird": 4000, "book": 4000,
    "cat": 7970, "clock": 4000, "diamond": 3000, "dog": 5000, "eye": 3000, "fish": 3000, "flower": 4000,
    "horse": 1000, "house": 5000, "house plant": 1000, "rainbow": 5990, "train": 1000,
}  # fmt: skip


# ------------------------------------------------------------------------------------------ numpy_bitmap


def test_numpy_bitmap_real_files_are_memory_mapped(quickdraw: Path):
    files = sorted((quickdraw / "numpy_bitmap").glob("*.npy"))
    counts = {}
    for f in files:
        a = load_bitmaps(f)
        assert isinstance(a, np.memmap) and a.dtype == np.uint8 and a.shape[1] == 784
        counts[f.stem] = a.shape[0]
    assert counts == README_COUNTS
    cat = load_bitmaps(quickdraw / "numpy_bitmap" / "cat.npy")
    # white ink on black: the border of a 28x28 drawing is background
    imgs = np.asarray(cat[:500]).reshape(-1, 28, 28)
    assert imgs[:, 0, :].mean() < 5 and imgs.max() == 255 and imgs.mean() > 20


def _npy(tmp_path: Path, name: str, arr: np.ndarray) -> Path:
    p = tmp_path / name
    np.save(p, arr, allow_pickle=True)
    return p


def test_numpy_bitmap_corrupt_files(tmp_path: Path, quickdraw: Path):
    real = quickdraw / "numpy_bitmap" / "apple.npy"
    cut = truncate(real, tmp_path / "apple.npy", real.stat().st_size - 1000)
    with pytest.raises(DataFormatError, match=r"apple\.npy.*truncated"):
        load_bitmaps(cut)
    bad_magic = tmp_path / "magic.npy"
    bad_magic.write_bytes(b"NOTNUMPY" + real.read_bytes()[8:4000])
    with pytest.raises(DataFormatError, match=r"magic\.npy.*bad magic"):
        load_bitmaps(bad_magic)
    empty = tmp_path / "empty.npy"
    empty.write_bytes(b"")
    with pytest.raises(DataFormatError, match="empty.npy"):
        load_bitmaps(empty)
    with pytest.raises(DataFormatError, match="dtype is float32"):
        load_bitmaps(_npy(tmp_path, "f.npy", np.zeros((3, 784), np.float32)))
    with pytest.raises(DataFormatError, match="not square bitmaps"):
        load_bitmaps(_npy(tmp_path, "w.npy", np.zeros((3, 785), np.uint8)))
    with pytest.raises(DataFormatError, match=r"expected \(N, 784\)"):
        load_bitmaps(_npy(tmp_path, "w.npy", np.zeros((3, 4096), np.uint8)), side=28)
    with pytest.raises(DataFormatError, match="shape"):
        load_bitmaps(_npy(tmp_path, "3d.npy", np.zeros((3, 28, 28), np.uint8)))
    with pytest.raises(DataFormatError, match="pickled"):
        load_bitmaps(_npy(tmp_path, "obj.npy", np.array([{"a": 1}, None], dtype=object)))
    extra = tmp_path / "extra.npy"
    extra.write_bytes(real.read_bytes() + b"junk")
    with pytest.raises(DataFormatError, match="unexpected bytes"):
        load_bitmaps(extra)


def test_numpy_bitmap_other_sides(tmp_path: Path):
    p = _npy(tmp_path, "big.npy", np.arange(2 * 64 * 64, dtype=np.uint8).reshape(2, 4096))
    assert load_bitmaps(p).shape == (2, 4096)
    assert load_bitmaps(p, side=64).shape == (2, 4096)
    with pytest.raises(DataFormatError):
        load_bitmaps(p, side=28)
    assert load_bitmaps(_npy(tmp_path, "none.npy", np.zeros((0, 784), np.uint8))).shape == (0, 784)


# ------------------------------------------------------------------------------------------ ndjson


def test_simplified_and_raw_real_files(quickdraw: Path):
    simplified = sorted((quickdraw / "simplified").glob("*.ndjson"))
    assert len(simplified) == 344
    n_simpl = 0
    for f in simplified[::7]:
        drawings = list(iter_ndjson(f))
        assert len(drawings) == 25
        for d in drawings:
            assert d.word == f.stem and d.key_id.isdigit() and isinstance(d.recognized, bool)
            assert all(s.dtype == np.float64 and s.shape[0] == 2 for s in d.strokes)
            pts = np.hstack(d.strokes)
            assert pts.min() >= 0 and pts.max() <= 255 and np.all(pts == np.round(pts))
        n_simpl += len(drawings)
    cat_raw = list(iter_ndjson(quickdraw / "raw" / "cat.ndjson"))
    cat_simpl = list(iter_ndjson(quickdraw / "simplified" / "cat.ndjson"))
    assert {d.key_id for d in cat_raw} <= {d.key_id for d in cat_simpl}
    for d in cat_raw:
        assert d.has_time and all(s.shape[0] == 3 for s in d.strokes)
        t = np.hstack([s[2] for s in d.strokes])
        assert np.all(np.diff(t) >= 0)  # time runs forward through a drawing


def test_ndjson_offsets_match_streaming(quickdraw: Path):
    f = quickdraw / "raw" / "dog.ndjson"
    drawings = list(iter_ndjson(f))
    offsets = ndjson_offsets(f)
    assert len(offsets) == len(drawings) and offsets[0] == 0
    picked = read_ndjson_at(f, offsets[[4, 0, 7]])
    assert picked == [drawings[4], drawings[0], drawings[7]]


def test_write_ndjson_roundtrip_is_atomic(tmp_path: Path, quickdraw: Path):
    drawings = list(iter_ndjson(quickdraw / "raw" / "cat.ndjson"))
    out = tmp_path / "sub" / "cat.ndjson"
    assert write_ndjson(out, drawings) == len(drawings)
    assert list(iter_ndjson(out)) == drawings
    assert [p.name for p in out.parent.iterdir()] == ["cat.ndjson"]  # no temp file left
    # a failing write leaves the existing file as it was
    before = out.read_bytes()
    with pytest.raises(DataFormatError, match="record 2"):
        write_ndjson(out, [drawings[0], drawings[1], {"word": "x"}])
    assert out.read_bytes() == before and [p.name for p in out.parent.iterdir()] == ["cat.ndjson"]
    # simplified drawings are written with integer coordinates, like Google's files
    simpl = next(iter_ndjson(quickdraw / "simplified" / "cat.ndjson"))
    write_ndjson(tmp_path / "s.ndjson", [simpl])
    assert json.loads((tmp_path / "s.ndjson").read_text())["drawing"] == [
        s.astype(int).tolist() for s in simpl.strokes
    ]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"word": "cat", "drawing": [[[1, 2], [3, 4]]]', "malformed JSON"),
        ('{"word": "cat"}', "missing the 'drawing' field"),
        ('{"word": "cat", "drawing": [[[1, 2], [3]]]}', "stroke 0 is not a rectangular"),
        ('{"word": "cat", "drawing": [[[1, 2]]]}', r"stroke 0 has shape \(1, 2\)"),
        ('{"word": "cat", "drawing": [[[1, 2], [3, 4]], [[1], [2], [3], [4]]]}', "stroke 1 has shape"),
        ('{"word": "cat", "drawing": [[["a", 2], [3, 4]]]}', "stroke 0 is not a rectangular"),
        ('{"word": "cat", "drawing": [[[NaN, 2], [3, 4]]]}', "NaN"),
        ('{"word": "cat", "drawing": "no"}', "must be a list"),
        ("[1, 2, 3]", "expected a JSON object"),
        ('{"drawing": [[[1, 2], [3, 4]]]}\xff', "malformed JSON|UTF-8"),
    ],
)
def test_malformed_ndjson_names_file_and_line(tmp_path: Path, quickdraw: Path, line: str, message: str):
    good = (quickdraw / "simplified" / "cat.ndjson").read_bytes().splitlines()[:3]
    f = tmp_path / "bad.ndjson"
    f.write_bytes(b"\n".join([*good, line.encode("utf-8", "surrogateescape"), *good]) + b"\n")
    it = iter_ndjson(f)
    assert len([next(it) for _ in range(3)]) == 3  # streaming: the good lines come out first
    with pytest.raises(DataFormatError, match=rf"bad\.ndjson \(record line 4\): .*({message})"):
        next(it)


def test_ndjson_blank_lines_and_gzip(tmp_path: Path, quickdraw: Path):
    import gzip

    src = (quickdraw / "simplified" / "cat.ndjson").read_bytes()
    f = tmp_path / "blank.ndjson"
    f.write_bytes(b"\n" + src.replace(b"\n", b"\n\n", 3))
    assert len(list(iter_ndjson(f))) == 25 and len(ndjson_offsets(f)) == 25
    gz = tmp_path / "cat.ndjson.gz"
    gz.write_bytes(gzip.compress(src))
    assert list(iter_ndjson(gz)) == list(iter_ndjson(quickdraw / "simplified" / "cat.ndjson"))
    gz.write_bytes(gzip.compress(src)[:-300])
    with pytest.raises(DataFormatError, match=r"cat\.ndjson\.gz"):
        list(iter_ndjson(gz))


def test_drawing_accepts_array_likes():
    d = Drawing([[[0, 1], [2, 3]], np.array([[1.5], [2.5], [10.0]])], word="x")
    assert [s.shape for s in d.strokes] == [(2, 2), (3, 1)] and d.n_points == 3
    with pytest.raises(ValueError, match="stroke 0"):
        Drawing([[[0, 1]]])


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


def test_no_temp_files_left_after_writers(tmp_path: Path, quickdraw: Path):
    drawings = list(iter_ndjson(quickdraw / "simplified" / "eye.ndjson"))
    write_binary(tmp_path / "eye.bin", drawings)
    write_ndjson(tmp_path / "eye.ndjson", drawings)
    write_sketchrnn(tmp_path / "eye.npz", {"train": [strokes_to_stroke3(d.strokes) for d in drawings]})
    assert sorted(os.listdir(tmp_path)) == ["eye.bin", "eye.ndjson", "eye.npz"]
