"""The data set object over pictures: the real Chinese MNIST folder, hand-made zips, split folders, .gnt."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest
from PIL import Image

from inkrec.data.dataset import open_dataset
from inkrec.data.formats.gnt import write_gnt
from inkrec.errors import ConfigError


@pytest.fixture(scope="module")
def chinese(datasets):
    return datasets / "chinese-mnist"


NUMERALS = sorted("零一二三四五六七八九十百千万亿")


def test_chinese_mnist_classes_and_writer_split(chinese):
    ds = open_dataset(chinese)
    assert (ds.source, ds.kind, ds.image_size) == ("image-folder", "bitmap", 64)
    assert ds.classes == NUMERALS and len(ds) == 12_000
    assert ds.class_counts().tolist() == [800] * 15
    train = open_dataset(chinese, split="train")
    test = open_dataset(chinese, split="test")
    assert len(train) == 9600 and len(test) == 2400
    assert set(np.unique(train.writers).tolist()) == set(range(1, 65))
    assert set(np.unique(test.writers).tolist()) == set(range(65, 81))
    assert not set(train.writers.tolist()) & set(test.writers.tolist())
    assert train.class_counts().tolist() == [640] * 15 and test.class_counts().tolist() == [160] * 15


def test_chinese_mnist_samples_are_white_ink_on_black(chinese):
    test = open_dataset(chinese, split="test", classes=["七"], max_per_class=4)
    batch = test.bitmaps()
    assert batch.shape == (4, 64, 64) and batch.dtype == np.uint8
    for k in range(4):
        img, label = test[k]
        assert label == 0 and np.array_equal(img, batch[k])
        writer = int(test.writers[k])
        assert writer == 65  # the first test writer, samples in file order
        raw = np.asarray(Image.open(chinese / "七" / f"writer065_{k + 1:02d}.jpg").convert("L"), np.float64)
        assert img[:3].mean() < 10 and img.max() == 255  # dark background, ink stretched to full contrast
        # the ink is where the picture's strokes are (whatever the stored polarity: these files hold
        # faint light strokes on black, so the border tells which side is ink)
        ink = raw if raw[:3].mean() < 128 else 255 - raw
        corr = np.corrcoef(img.reshape(-1).astype(np.float64), ink.reshape(-1))[0, 1]
        assert corr > 0.8
        assert raw.max() < 200  # faint as stored; stretched to 255 above


def test_writer_split_is_seeded_and_disjoint(chinese):
    a = open_dataset(chinese, split="test", split_mode="writer", seed=3)
    b = open_dataset(chinese, split="test", split_mode="writer", seed=3)
    c = open_dataset(chinese, split="test", split_mode="writer", seed=4)
    tr = open_dataset(chinese, split="train", split_mode="writer", seed=3)
    assert np.array_equal(a.rows, b.rows) and not np.array_equal(a.rows, c.rows)
    assert len(np.unique(a.writers)) == 16 and len(np.unique(tr.writers)) == 64
    assert not set(a.writers.tolist()) & set(tr.writers.tolist())
    assert len(a) + len(tr) == 12_000
    assert set(np.unique(a.writers).tolist()) != set(range(65, 81))  # random writers, not the last ones
    quarter = open_dataset(chinese, split="test", split_mode="writer", seed=3, test_fraction=0.25)
    assert len(np.unique(quarter.writers)) == 20
    rnd = open_dataset(chinese, split="test", split_mode="random", seed=3)
    assert rnd.class_counts().tolist() == [160] * 15 and len(np.unique(rnd.writers)) > 16


def _png(path, size, seed):
    rng = np.random.default_rng(seed)
    img = np.full((size[1], size[0]), 245, np.uint8)  # dark ink on light paper
    y = rng.integers(size[1] // 4, size[1] // 2)
    img[y : y + 3, size[0] // 5 : size[0] * 4 // 5] = 20
    img[size[1] // 5 : size[1] * 4 // 5, size[0] // 2 : size[0] // 2 + 3] = 30
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(img).save(path)


def test_zip_of_class_folders_with_writers(tmp_path):
    zpath = tmp_path / "chars.zip"
    src = tmp_path / "src"
    with zipfile.ZipFile(zpath, "w") as zf:
        for c, name in enumerate(["甲", "乙", "丙"]):
            for w in range(1, 6):
                p = src / "chars" / name / f"writer{w:03d}_01.png"
                _png(p, (48, 48), c * 10 + w)
                zf.write(p, p.relative_to(src).as_posix())
    ds = open_dataset(zpath)
    assert ds.source == "image-folder" and ds.classes == sorted(["甲", "乙", "丙"]) and len(ds) == 15
    assert ds.image_size == 48
    test = open_dataset(zpath, split="test")
    assert len(test) == 3 and set(test.writers.tolist()) == {5}  # writers 1-4 train, 5 test
    img = test[0][0]
    assert img.shape == (48, 48) and img[0, 0] == 0 and img.max() == 255


def test_split_folders_and_mixed_sizes(tmp_path):
    for split, n in (("Train", 4), ("Test", 2)):
        for c in ("a", "b"):
            for k in range(n):
                _png(tmp_path / split / c / f"{k}.png", (30 + 7 * k, 40 + 3 * k), k)
    train = open_dataset(tmp_path, split="train")
    test = open_dataset(tmp_path, split="test")
    assert len(train) == 8 and len(test) == 4 and train.classes == ["a", "b"]
    assert train.image_size == 64  # pictures of differing sizes are framed to 64x64
    batch = train.bitmaps(size=32)
    assert batch.shape == (8, 32, 32)
    full = train.bitmaps()
    assert full.shape == (8, 64, 64)
    ys, xs = np.nonzero(full[0] > 64)
    assert abs((ys.min() + ys.max()) / 2 - 31.5) < 4 and abs((xs.min() + xs.max()) / 2 - 31.5) < 4  # centred


def test_gnt_files_one_writer_each(tmp_path):
    rng = np.random.default_rng(0)
    chars = ["中", "国", "人"]
    for w in range(1001, 1006):
        samples = []
        for ch in chars:
            h, wd = rng.integers(40, 80, 2)
            bmp = np.zeros((h, wd), np.uint8)
            bmp[h // 3 : h // 3 + 4, 5:-5] = 255
            bmp[5:-5, wd // 2 : wd // 2 + 4] = 200
            samples.append((ch, bmp))
        write_gnt(tmp_path / f"{w}-c.gnt", samples)
    ds = open_dataset(tmp_path)
    assert (ds.source, ds.kind, ds.image_size) == ("gnt", "bitmap", 64)
    assert ds.classes == sorted(chars) and len(ds) == 15
    test = open_dataset(tmp_path, split="test")
    assert set(test.writers.tolist()) == {1005} and len(test) == 3  # 1001-1004 train, 1005 test
    img, label = test[0]
    assert img.shape == (64, 64) and test.classes[label] == "中" and img.max() > 150 and img[0, 0] == 0
    w = open_dataset(tmp_path, split="test", split_mode="writer", seed=1)
    assert len(np.unique(w.writers)) == 1 and len(w) == 3
    assert test.bitmaps().shape == (3, 64, 64)
    one = open_dataset(tmp_path / "1002-c.gnt")
    assert len(one) == 3
    with pytest.raises(ConfigError, match="at least 2 writers"):
        open_dataset(tmp_path / "1002-c.gnt", split="test", split_mode="writer")
