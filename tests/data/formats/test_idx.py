"""MNIST-family idx files: the real MNIST slice, uncompressed and EMNIST-style copies, corrupt files."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from datakit import address_space_limit, truncate
from inkrec.data.dataset import open_dataset
from inkrec.data.formats.idx import class_names, find_idx_pairs, fix_emnist, is_emnist, load_idx, write_idx
from inkrec.errors import DataFormatError


def test_real_mnist_gz(mnist: Path):
    train = load_idx(mnist / "train-images-idx3-ubyte.gz")
    labels = load_idx(mnist / "train-labels-idx1-ubyte.gz")
    test = load_idx(mnist / "t10k-images-idx3-ubyte.gz")
    test_labels = load_idx(mnist / "t10k-labels-idx1-ubyte.gz")
    assert train.shape == (5000, 28, 28) and train.dtype == np.uint8
    assert np.bincount(labels).tolist() == [500] * 10
    assert test.shape == (10000, 28, 28) and len(test_labels) == 10000
    # the official t10k label counts
    assert np.bincount(test_labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    # white digits on black, centred in the 28x28 field: the top rows are (almost always) background
    assert train[:, :2, :].mean() < 0.5 and train.max() == 255 and train.mean() > 20


def test_uncompressed_copy_is_memory_mapped_and_equal(tmp_path: Path, mnist: Path):
    gz = load_idx(mnist / "t10k-images-idx3-ubyte.gz")
    plain = tmp_path / "t10k-images-idx3-ubyte"
    plain.write_bytes(gzip.decompress((mnist / "t10k-images-idx3-ubyte.gz").read_bytes()))
    mm = load_idx(plain)
    assert isinstance(mm, np.memmap) and np.array_equal(mm, gz)
    # and our writer produces the same bytes as the original file
    write_idx(tmp_path / "again-idx3-ubyte", gz)
    assert (tmp_path / "again-idx3-ubyte").read_bytes() == plain.read_bytes()


def test_multibyte_types_roundtrip(tmp_path: Path):
    for arr in (np.arange(-6, 6, dtype=np.int16).reshape(3, 4), np.linspace(0, 1, 10, dtype=np.float32)):
        for name in ("a.idx", "a.idx.gz"):
            write_idx(tmp_path / name, arr)
            back = load_idx(tmp_path / name)
            assert back.shape == arr.shape and np.array_equal(back, arr)


def test_emnist_names_transpose_and_mapping(tmp_path: Path, mnist: Path):
    upright = np.asarray(load_idx(mnist / "train-images-idx3-ubyte.gz")[:50])
    labels = load_idx(mnist / "train-labels-idx1-ubyte.gz")[:50]
    # EMNIST ships images transposed
    write_idx(tmp_path / "emnist-digits-train-images-idx3-ubyte.gz", upright.transpose(0, 2, 1))
    write_idx(tmp_path / "emnist-digits-train-labels-idx1-ubyte.gz", labels)
    write_idx(tmp_path / "emnist-digits-test-images-idx3-ubyte", upright[:10].transpose(0, 2, 1))
    write_idx(tmp_path / "emnist-digits-test-labels-idx1-ubyte", labels[:10])
    (tmp_path / "emnist-digits-mapping.txt").write_text("".join(f"{d} {48 + d}\n" for d in range(10)))
    pairs = find_idx_pairs(tmp_path)
    assert [(p.split, p.prefix) for p in pairs] == [
        ("test", "emnist-digits-test"),
        ("train", "emnist-digits-train"),
    ]
    assert all(is_emnist(p.images) for p in pairs)
    fixed = load_idx(pairs[1].images, transpose=True)
    assert np.array_equal(fixed, upright)
    assert np.array_equal(fix_emnist(load_idx(pairs[0].images)), upright[:10])
    names = class_names(tmp_path, pairs[1].prefix, load_idx(pairs[1].labels))
    assert names == {int(v): str(int(v)) for v in np.unique(labels)}
    (tmp_path / "emnist-digits-mapping.txt").write_text("0 65\nbad line\n")
    with pytest.raises(DataFormatError, match=r"mapping\.txt \(record line 2\)"):
        class_names(tmp_path, pairs[1].prefix, labels)


def test_real_mnist_pairs(mnist: Path):
    pairs = find_idx_pairs(mnist)
    assert {(p.split, p.prefix) for p in pairs} == {("train", "train"), ("test", "t10k")}


def test_corrupt_idx_files(tmp_path: Path, mnist: Path):
    src = mnist / "train-labels-idx1-ubyte.gz"
    cut = truncate(src, tmp_path / "cut-labels-idx1-ubyte.gz", src.stat().st_size // 2)
    with pytest.raises(DataFormatError, match=r"cut-labels-idx1-ubyte\.gz.*(truncated|gzip)"):
        load_idx(cut)
    plain = tmp_path / "train-images-idx3-ubyte"
    plain.write_bytes(gzip.decompress((mnist / "train-images-idx3-ubyte.gz").read_bytes()))
    short = truncate(plain, tmp_path / "short-images-idx3-ubyte", plain.stat().st_size - 784 * 3)
    with pytest.raises(DataFormatError, match=r"short-images-idx3-ubyte: truncated.*\(5000, 28, 28\)"):
        load_idx(short)
    data = plain.read_bytes()
    wrong = tmp_path / "wrong-images-idx3-ubyte"
    wrong.write_bytes(b"\x00\x00\x07\x03" + data[4:])
    with pytest.raises(DataFormatError, match="bad idx magic number 0x00000703"):
        load_idx(wrong)
    wrong.write_bytes(b"PK\x03\x04" + data[4:])
    with pytest.raises(DataFormatError, match="bad idx magic"):
        load_idx(wrong)
    extra = tmp_path / "extra-images-idx3-ubyte.gz"
    extra.write_bytes(gzip.compress(data + b"more"))
    with pytest.raises(DataFormatError, match="unexpected bytes"):
        load_idx(extra)
    notgz = tmp_path / "not-images-idx3-ubyte.gz"
    notgz.write_bytes(data[:1000])
    with pytest.raises(DataFormatError, match=r"not-images-idx3-ubyte\.gz"):
        load_idx(notgz)
    with pytest.raises(DataFormatError, match="transpose"):
        load_idx(mnist / "train-labels-idx1-ubyte.gz", transpose=True)


def test_headers_claiming_more_than_is_there_allocate_nothing(tmp_path: Path):
    header = bytes([0, 0, 8, 3]) + np.asarray([100_000, 10_000, 1_000], ">u4").tobytes()  # 10^12 pixels
    gz = tmp_path / "train-images-idx3-ubyte.gz"
    gz.write_bytes(gzip.compress(header + bytes(784)))
    with address_space_limit(), pytest.raises(DataFormatError, match="truncated"):
        load_idx(gz)


def test_large_label_values_cost_no_memory(tmp_path: Path):
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((3, 4, 4), np.uint8))
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.array([7, 2**31 - 1, 7], np.int32))
    with address_space_limit():
        ds = open_dataset(tmp_path)
    assert ds.classes == ["7", str(2**31 - 1)] and ds.labels.tolist() == [0, 1, 0]
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.array([0.5, 1, 2], np.float32))
    with pytest.raises(DataFormatError, match="labels must be integers"):
        open_dataset(tmp_path)
