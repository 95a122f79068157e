"""The data set object over the real Quick, Draw! numpy_bitmap files (18 categories, 65,960 drawings)."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from inkrec.data.dataset import InkDataset, open_dataset
from inkrec.errors import ConfigError

README_COUNTS = {
    "airplane": 4000, "apple": 3000, "banana": 4000, "bicycle": 3000, "bird": 4000, "book": 4000,
    "cat": 7970, "clock": 4000, "diamond": 3000, "dog": 5000, "eye": 3000, "fish": 3000, "flower": 4000,
    "horse": 1000, "house": 5000, "house plant": 1000, "rainbow": 5990, "train": 1000,
}  # fmt: skip


@pytest.fixture(scope="module")
def bitmap_dir(quickdraw):
    return quickdraw / "numpy_bitmap"


@pytest.fixture(scope="module")
def files(bitmap_dir):
    """The category files read independently of inkrec (plain numpy), for comparison."""
    return {f.stem: np.load(f, allow_pickle=False) for f in sorted(bitmap_dir.glob("*.npy"))}


def test_all_counts_and_class_map_match_the_readme(bitmap_dir):
    ds = open_dataset(bitmap_dir)
    assert isinstance(ds, InkDataset)
    assert (ds.kind, ds.source, ds.image_size) == ("bitmap", "quickdraw-bitmap", 28)
    assert len(ds) == 65_960
    assert ds.classes == sorted(README_COUNTS)
    assert dict(zip(ds.classes, ds.class_counts().tolist())) == README_COUNTS
    assert ds.labels.dtype == np.int64 and len(ds.labels) == len(ds)


def test_standard_split_is_first_80_percent_of_each_file(bitmap_dir, files):
    train = open_dataset(bitmap_dir, split="train")
    test = open_dataset(bitmap_dir, split="test")
    for c, name in enumerate(train.classes):
        n = README_COUNTS[name]
        assert train.class_counts()[c] == int(0.8 * n)
        assert test.class_counts()[c] == n - int(0.8 * n)
        # the first test drawing of the category is row int(0.8 * N) of its file, the last train one the row before
        first_test = int(np.flatnonzero(test.labels == c)[0])
        last_train = int(np.flatnonzero(train.labels == c)[-1])
        img, label = test[first_test]
        assert label == c and img.dtype == np.uint8 and img.shape == (28, 28)
        assert np.array_equal(img.reshape(-1), files[name][int(0.8 * n)])
        assert np.array_equal(train[last_train][0].reshape(-1), files[name][int(0.8 * n) - 1])
    assert len(train) + len(test) == 65_960
    assert not np.intersect1d(train.rows, test.rows).size


def test_bitmaps_gather_shuffled_rows_exactly(bitmap_dir, files):
    ds = open_dataset(bitmap_dir)
    rng = np.random.default_rng(1)
    idx = rng.integers(0, len(ds), 3000)
    idx[:5] = idx[5]  # repeats, as balanced sampling produces
    batch = ds.bitmaps(idx)
    assert batch.shape == (3000, 28, 28) and batch.dtype == np.uint8
    starts = {}
    pos = 0
    for name in ds.classes:
        starts[name] = pos
        pos += README_COUNTS[name]
    for k in rng.choice(3000, 200, replace=False).tolist() + [0, 4, 5]:
        name = ds.classes[ds.labels[idx[k]]]
        assert np.array_equal(batch[k].reshape(-1), files[name][idx[k] - starts[name]])
    # contiguous requests take the slice path; same pixels
    assert np.array_equal(ds.bitmaps(np.arange(100, 300)), np.stack([ds[i][0] for i in range(100, 300)]))
    assert ds.bitmaps([]).shape == (0, 28, 28)


def test_indexing_and_resizing(bitmap_dir):
    ds = open_dataset(bitmap_dir, classes=["cat"])
    assert np.array_equal(ds[-1][0], ds[len(ds) - 1][0])
    with pytest.raises(IndexError):
        ds[len(ds)]
    with pytest.raises(IndexError):
        ds.bitmaps([len(ds)])
    big = ds.bitmaps([0, 1], size=64)
    assert big.shape == (2, 64, 64) and big.dtype == np.uint8
    # anti-aliased resize keeps the ink where it was: mean intensity within a few levels
    assert abs(float(big.mean()) - float(ds.bitmaps([0, 1]).mean())) < 6


def test_classes_restrict_and_order(bitmap_dir, files):
    ds = open_dataset(bitmap_dir, classes=["rainbow", "apple"])
    assert ds.classes == ["rainbow", "apple"]
    assert ds.class_counts().tolist() == [5990, 3000]
    img, label = ds[
        int(np.flatnonzero(ds.labels == 0)[0])
    ]  # samples stay in file order, labels follow classes=
    assert label == 0 and np.array_equal(img.reshape(-1), files["rainbow"][0])
    with pytest.raises(ConfigError, match=r"'catt'.*did you mean 'cat'"):
        open_dataset(bitmap_dir, classes=["catt"])
    with pytest.raises(ConfigError, match="twice"):
        open_dataset(bitmap_dir, classes=["cat", "cat"])


def test_max_per_class_takes_the_first_rows_of_the_split(bitmap_dir, files):
    ds = open_dataset(bitmap_dir, split="test", max_per_class=7, classes=["dog", "horse"])
    assert ds.class_counts().tolist() == [7, 7]
    dog = ds.bitmaps(np.flatnonzero(ds.labels == 0)).reshape(7, -1)
    assert np.array_equal(dog, files["dog"][4000:4007])  # dog has 5000: test starts at row 4000
    tr = open_dataset(bitmap_dir, split="train", max_per_class=3000)
    assert tr.class_counts()[tr.classes.index("horse")] == 800  # fewer than the cap: all of them
    assert tr.class_counts()[tr.classes.index("cat")] == 3000
    assert np.array_equal(tr.bitmaps(np.flatnonzero(tr.labels == tr.classes.index("cat"))).reshape(3000, -1),
                          files["cat"][:3000])  # fmt: skip
    with pytest.raises(ConfigError, match="max_per_class"):
        open_dataset(bitmap_dir, max_per_class=0)


def test_balanced_indices(bitmap_dir):
    ds = open_dataset(bitmap_dir, split="test")
    idx = ds.balanced_indices(300, seed=3)
    counts = np.bincount(ds.labels[idx], minlength=len(ds.classes))
    assert counts.tolist() == [300] * 18
    assert np.array_equal(idx, ds.balanced_indices(300, seed=3))
    assert not np.array_equal(idx, ds.balanced_indices(300, seed=4))
    # horse has 200 test drawings: all of them appear, the rest are repeats; cat (1594) has no repeats
    horse = idx[ds.labels[idx] == ds.classes.index("horse")]
    assert len(np.unique(horse)) == 200
    cat = idx[ds.labels[idx] == ds.classes.index("cat")]
    assert len(np.unique(cat)) == 300
    assert len(idx) == 5400 and not np.all(np.diff(idx) > 0)  # shuffled, not grouped by class
    with pytest.raises(ConfigError):
        ds.balanced_indices(0)


def test_random_split_is_seeded_stratified_and_per_class_stable(bitmap_dir):
    a = open_dataset(bitmap_dir, split="test", split_mode="random", seed=7)
    b = open_dataset(bitmap_dir, split="test", split_mode="random", seed=7)
    c = open_dataset(bitmap_dir, split="test", split_mode="random", seed=8)
    train = open_dataset(bitmap_dir, split="train", split_mode="random", seed=7)
    assert np.array_equal(a.rows, b.rows)
    assert not np.array_equal(a.rows, c.rows)
    assert not np.intersect1d(a.rows, train.rows).size and len(a) + len(train) == 65_960
    for cnt, name in zip(a.class_counts(), a.classes):
        assert cnt == round(0.2 * README_COUNTS[name])
    # not the standard cut: test drawings come from the whole file
    std = open_dataset(bitmap_dir, split="test")
    assert not np.array_equal(np.sort(a.rows), np.sort(std.rows))
    # a class's split does not depend on which other classes are loaded
    only_cat = open_dataset(bitmap_dir, split="test", split_mode="random", seed=7, classes=["cat"])
    cat_rows_all = a.rows[a.labels == a.classes.index("cat")]
    assert np.array_equal(only_cat.bitmaps(), a.bitmaps(np.flatnonzero(a.labels == a.classes.index("cat"))))
    assert len(cat_rows_all) == len(only_cat)
    quarter = open_dataset(bitmap_dir, split="test", split_mode="random", test_fraction=0.25, seed=7)
    assert quarter.class_counts()[quarter.classes.index("cat")] == round(0.25 * 7970)


def test_writer_split_needs_writers(bitmap_dir):
    with pytest.raises(ConfigError, match="writer"):
        open_dataset(bitmap_dir, split="train", split_mode="writer")


def test_subset_iter_batches_materialize_and_pickle(bitmap_dir):
    ds = open_dataset(bitmap_dir, split="test", classes=["eye", "fish", "train"])
    sub = ds.subset(np.arange(0, len(ds), 3))
    assert len(sub) == len(range(0, len(ds), 3))
    assert np.array_equal(sub.bitmaps([1]), ds.bitmaps([3]))
    seen = []
    for x, y in ds.iter_batches(128, shuffle=True, seed=1):
        assert x.dtype == np.uint8 and x.shape[1:] == (28, 28) and len(x) == len(y)
        seen.append(y)
    assert np.array_equal(np.bincount(np.concatenate(seen)), ds.class_counts())
    mem = ds.materialize()
    assert np.array_equal(mem.bitmaps(), ds.bitmaps()) and np.array_equal(mem.labels, ds.labels)
    # pickling (DataLoader workers, DDP) maps the files again instead of copying the pixels
    blob = pickle.dumps(ds)
    assert len(blob) < 200_000
    again = pickle.loads(blob)
    assert np.array_equal(again.bitmaps([0, 5, 100]), ds.bitmaps([0, 5, 100]))


def test_both_readers_give_the_same_pixels_and_bound_mapped_pages(bitmap_dir, files):
    ds = open_dataset(bitmap_dir)
    idx = np.random.default_rng(2).integers(0, len(ds), 5000)
    ds._source.read_mode = "pread"
    by_pread = ds.bitmaps(idx)
    single = ds[int(idx[0])][0]
    ds._source.read_mode = "mmap"
    ds.page_budget = 1 << 20  # hand mapped pages back after every megabyte of growth
    by_mmap = ds.bitmaps(idx)
    assert np.array_equal(by_pread, by_mmap) and np.array_equal(single, by_mmap[0])
    assert ds._source._rss_at_release is not None  # the file-backed RSS is being measured
    ref = ds.bitmaps(np.arange(0, len(ds), 97))
    ds.release_pages()
    assert np.array_equal(ds.bitmaps(np.arange(0, len(ds), 97)), ref)
    # a contiguous run and a single row through the positional reader
    ds._source.read_mode = "pread"
    assert np.array_equal(ds.bitmaps(np.arange(3995, 4005)).reshape(10, -1),
                          np.concatenate([files["airplane"][3995:], files["apple"][:5]]))  # fmt: skip
