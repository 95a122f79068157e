"""The data set object over stroke data: the real simplified and raw ndjson files, hand-made .bin and .npz."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest

from inkrec.data.dataset import open_dataset
from inkrec.data.formats.binary import write_binary
from inkrec.data.formats.ndjson import iter_ndjson
from inkrec.data.formats.sketchrnn import strokes_to_stroke3, write_sketchrnn
from inkrec.errors import ConfigError, DataFormatError
from inkrec.preprocess.raster import rasterize


@pytest.fixture(scope="module")
def simplified(quickdraw):
    return quickdraw / "simplified"


def _lines(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_simplified_counts_and_standard_split(simplified):
    ds = open_dataset(simplified)
    assert (ds.kind, ds.source, ds.image_size) == ("strokes", "quickdraw-strokes", None)
    assert len(ds.classes) == 344 and ds.classes == sorted(f.stem for f in simplified.glob("*.ndjson"))
    assert len(ds) == 344 * 25 and set(ds.class_counts().tolist()) == {25}
    train = open_dataset(simplified, split="train")
    test = open_dataset(simplified, split="test")
    assert set(train.class_counts().tolist()) == {20} and set(test.class_counts().tolist()) == {5}
    assert not np.intersect1d(train.rows, test.rows).size
    # test = drawings 21-25 of each file, in file order
    for name in ("cat", "The Mona Lisa", "zebra"):
        c = test.classes.index(name)
        lines = _lines(simplified / f"{name}.ndjson")
        pos = np.flatnonzero(test.labels == c)
        for k, p in enumerate(pos):
            strokes, label = test[int(p)]
            assert label == c
            want = lines[20 + k]["drawing"]
            assert len(strokes) == len(want)
            assert all(
                s.shape == (2, len(w[0])) and np.array_equal(s, np.asarray(w)) for s, w in zip(strokes, want)
            )
            assert test.drawing(int(p)).key_id == lines[20 + k]["key_id"]
        tpos = np.flatnonzero(train.labels == c)
        assert [train.drawing(int(p)).key_id for p in tpos] == [ln["key_id"] for ln in lines[:20]]
        assert [d.key_id for d in train.drawings(tpos[::-1])] == [ln["key_id"] for ln in lines[:20]][::-1]


def test_raw_strokes_keep_time_and_split_per_file(quickdraw):
    raw = quickdraw / "raw"
    ds = open_dataset(raw, classes=["cat", "dog"])
    strokes, _ = ds[0]
    assert all(s.shape[0] == 3 for s in strokes)  # x, y, t
    counts = {name: sum(1 for _ in iter_ndjson(raw / f"{name}.ndjson")) for name in ("cat", "dog")}
    test = open_dataset(raw, split="test", classes=["cat", "dog"])
    assert test.class_counts().tolist() == [counts["cat"] - int(0.8 * counts["cat"]),
                                            counts["dog"] - int(0.8 * counts["dog"])]  # fmt: skip


def test_strokes_rasterize_to_bitmaps(simplified):
    ds = open_dataset(simplified, split="test", classes=["circle", "line"])
    batch = ds.bitmaps()
    assert batch.shape == (10, 28, 28) and batch.dtype == np.uint8
    assert (batch.reshape(10, -1).max(axis=1) > 200).all()  # every drawing has ink
    assert np.array_equal(batch[3], rasterize(ds[3][0], 28))
    assert ds.bitmaps([0, 1], size=64).shape == (2, 64, 64)


def test_caps_random_split_balance_on_strokes(simplified):
    capped = open_dataset(simplified, split="train", max_per_class=3, classes=["cat", "dog", "sun"])
    assert capped.class_counts().tolist() == [3, 3, 3]
    full = open_dataset(simplified, split="train", classes=["cat", "dog", "sun"])
    assert [capped.drawing(i).key_id for i in range(3)] == [full.drawing(i).key_id for i in range(3)]
    r1 = open_dataset(simplified, split="test", split_mode="random", seed=5)
    r2 = open_dataset(simplified, split="test", split_mode="random", seed=5)
    assert np.array_equal(r1.rows, r2.rows) and set(r1.class_counts().tolist()) == {5}
    idx = full.balanced_indices(30, seed=0)  # 20 per class: 10 repeats each
    assert np.bincount(full.labels[idx]).tolist() == [30, 30, 30]


def test_binary_files_match_their_ndjson_source(simplified, tmp_path):
    names = ["apple", "bee", "cloud"]
    for name in names:
        write_binary(tmp_path / f"{name}.bin", iter_ndjson(simplified / f"{name}.ndjson"))
    ds = open_dataset(tmp_path)
    ref = open_dataset(simplified, classes=names)
    assert ds.source == "quickdraw-strokes" and ds.classes == names and len(ds) == 75
    for i in (0, 24, 25, 74):
        a, b = ds[i][0], ref[i][0]
        assert len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))
        assert ds.drawing(i).key_id == ref.drawing(i).key_id
    test = open_dataset(tmp_path / "bee.bin", split="test")
    assert len(test) == 5 and test.classes == ["bee"]
    # a corrupt record is reported with its file
    data = (tmp_path / "cloud.bin").read_bytes()
    (tmp_path / "cloud.bin").write_bytes(data[:-7])
    with pytest.raises(DataFormatError, match="cloud.bin"):
        open_dataset(tmp_path)


def test_sketchrnn_npz_uses_its_own_test_split(simplified, tmp_path):
    drawings = [d.strokes for d in iter_ndjson(simplified / "snail.ndjson")]
    s3 = [strokes_to_stroke3(s) for s in drawings]
    write_sketchrnn(tmp_path / "snail.npz", {"train": s3[:18], "valid": s3[18:21], "test": s3[21:]})
    write_sketchrnn(tmp_path / "star.npz", {"train": s3[:4], "test": s3[4:6]})
    ds = open_dataset(tmp_path)
    assert ds.source == "sketchrnn" and ds.classes == ["snail", "star"] and len(ds) == 31
    test = open_dataset(tmp_path, split="test")
    assert test.class_counts().tolist() == [4, 2]
    # stroke-3 back to absolute strokes: same shape as the original up to a shift
    got = test[0][0]
    want = drawings[21]
    assert len(got) == len(want)
    assert np.allclose(got[0] - got[0][:, :1], want[0] - want[0][:, :1])
    assert test.bitmaps().shape == (6, 28, 28)


def test_pickled_stroke_set_reads_the_same(simplified):
    ds = open_dataset(simplified, split="test", classes=["owl"])
    again = pickle.loads(pickle.dumps(ds))
    assert [d.key_id for d in map(again.drawing, range(5))] == [d.key_id for d in map(ds.drawing, range(5))]


def test_unknown_class_in_a_stroke_folder(simplified):
    with pytest.raises(ConfigError, match="did you mean 'owl'"):
        open_dataset(simplified, classes=["owll"])


def test_raw_strokes_are_simplified_before_rasterizing(quickdraw):
    raw = open_dataset(quickdraw / "raw", classes=["cat"], max_per_class=6)
    simp = open_dataset(quickdraw / "simplified", classes=["cat"])
    by_key = {d.key_id: i for i, d in enumerate(simp.drawings())}
    pairs = [(i, by_key[d.key_id]) for i, d in enumerate(raw.drawings()) if d.key_id in by_key]
    assert len(pairs) >= 3
    ours = raw.bitmaps([i for i, _ in pairs]).astype(np.float64)
    google = simp.bitmaps([j for _, j in pairs]).astype(np.float64)
    assert ours.shape == google.shape == (len(pairs), 28, 28)
    for a, b in zip(ours, google):  # the same drawing, simplified by us vs by Google
        assert np.corrcoef(a.reshape(-1), b.reshape(-1))[0, 1] > 0.8
