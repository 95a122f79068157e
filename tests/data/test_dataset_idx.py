"""The data set object over MNIST-family idx files: the real MNIST slice and hand-made EMNIST files."""

from __future__ import annotations

import gzip
import shutil

import numpy as np
import pytest

from inkrec.data.dataset import open_dataset
from inkrec.data.formats.idx import write_idx
from inkrec.errors import ConfigError, DataFormatError


@pytest.fixture(scope="module")
def mnist(datasets):
    return datasets / "mnist"


def _read_gz_idx(path, header):
    with gzip.open(path, "rb") as fh:
        data = fh.read()
    return np.frombuffer(data, dtype=np.uint8, offset=header)


def test_mnist_standard_split_is_train_vs_t10k(mnist):
    train = open_dataset(mnist, split="train")
    test = open_dataset(mnist, split="test")
    assert (train.source, train.kind, train.image_size) == ("idx", "bitmap", 28)
    assert train.classes == [str(d) for d in range(10)]
    assert len(train) == 5000 and len(test) == 10_000
    assert train.class_counts().tolist() == [500] * 10
    want_labels = _read_gz_idx(mnist / "t10k-labels-idx1-ubyte.gz", 8)
    assert np.array_equal(test.labels, want_labels.astype(np.int64))
    want_images = _read_gz_idx(mnist / "t10k-images-idx3-ubyte.gz", 16).reshape(-1, 28, 28)
    idx = np.random.default_rng(0).choice(10_000, 500, replace=False)
    assert np.array_equal(test.bitmaps(idx), want_images[idx])
    img, label = train[4999]
    assert img.shape == (28, 28) and img.dtype == np.uint8 and label == int(train.labels[4999])
    everything = open_dataset(mnist)
    assert len(everything) == 15_000
    # pointing at one of the files opens the same data set
    assert len(open_dataset(mnist / "t10k-images-idx3-ubyte.gz", split="test")) == 10_000


def test_mnist_caps_classes_random_split(mnist):
    ds = open_dataset(mnist, split="test", classes=["7", "1"], max_per_class=50)
    assert ds.classes == ["7", "1"] and ds.class_counts().tolist() == [50, 50]
    r = open_dataset(mnist, split="train", split_mode="random", seed=1)
    assert len(r) == 12_000  # 80% of each class of all 15,000
    assert np.array_equal(r.rows, open_dataset(mnist, split="train", split_mode="random", seed=1).rows)
    with pytest.raises(ConfigError, match="writer"):
        open_dataset(mnist, split="test", split_mode="writer")


def _upright_letters(n: int, rng) -> np.ndarray:
    """Asymmetric test images: a bar along the top row and a dot at the bottom left."""
    imgs = np.zeros((n, 28, 28), dtype=np.uint8)
    imgs[:, 2, 3:20] = 255
    imgs[:, 24, 4] = 200
    imgs[:, 10:14, 10:14] = rng.integers(0, 255, (n, 4, 4), dtype=np.uint8)
    return imgs


def test_emnist_is_transposed_back_and_named_by_its_mapping(tmp_path):
    rng = np.random.default_rng(0)
    up_train, up_test = _upright_letters(40, rng), _upright_letters(10, rng)
    lab_train = np.repeat(np.arange(1, 5), 10).astype(np.uint8)  # EMNIST letters start at 1
    lab_test = np.tile(np.arange(1, 5), 3)[:10].astype(np.uint8)
    for part, images, labels in (("train", up_train, lab_train), ("test", up_test, lab_test)):
        write_idx(tmp_path / f"emnist-letters-{part}-images-idx3-ubyte.gz", images.transpose(0, 2, 1))
        write_idx(tmp_path / f"emnist-letters-{part}-labels-idx1-ubyte.gz", labels)
    (tmp_path / "emnist-letters-mapping.txt").write_text("1 65 97\n2 66 98\n3 67 99\n4 68 100\n")
    train = open_dataset(tmp_path, split="train")
    test = open_dataset(tmp_path, split="test")
    assert train.classes == ["A", "B", "C", "D"]
    assert len(train) == 40 and len(test) == 10
    assert np.array_equal(train.bitmaps(), up_train)  # upright again
    assert np.array_equal(test.labels, lab_test.astype(np.int64) - 1)
    assert train[0][0][2, 10] == 255 and train[0][0][10, 2] == 0

    # a second EMNIST split in the same folder: the folder is ambiguous, a file picks one
    for part in ("train", "test"):
        shutil.copy(tmp_path / f"emnist-letters-{part}-images-idx3-ubyte.gz",
                    tmp_path / f"emnist-balanced-{part}-images-idx3-ubyte.gz")  # fmt: skip
        shutil.copy(tmp_path / f"emnist-letters-{part}-labels-idx1-ubyte.gz",
                    tmp_path / f"emnist-balanced-{part}-labels-idx1-ubyte.gz")  # fmt: skip
    with pytest.raises(ConfigError, match="several idx data sets"):
        open_dataset(tmp_path)
    picked = open_dataset(tmp_path / "emnist-letters-train-images-idx3-ubyte.gz")
    assert len(picked) == 50 and picked.classes == ["A", "B", "C", "D"]


def test_uncompressed_idx_is_memory_mapped(tmp_path, mnist):
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"):
        with gzip.open(mnist / f"{name}.gz", "rb") as src, open(tmp_path / name, "wb") as dst:
            shutil.copyfileobj(src, dst)
    ds = open_dataset(tmp_path)
    assert len(ds) == 5000 and ds._source._maps  # pixels stay in the file
    ref = open_dataset(mnist, split="train")
    assert np.array_equal(ds.bitmaps([0, 17, 4999]), ref.bitmaps([0, 17, 4999]))


def test_idx_without_labels_or_corrupt(tmp_path):
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((3, 28, 28), np.uint8))
    with pytest.raises(DataFormatError, match="labels"):
        open_dataset(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(4, np.uint8))
    with pytest.raises(DataFormatError, match="4 labels for 3 images"):
        open_dataset(tmp_path)
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(b"\x00\x00\x08\x01\x00\x00\x00\x03\x01")
    with pytest.raises(DataFormatError, match="truncated"):
        open_dataset(tmp_path)
