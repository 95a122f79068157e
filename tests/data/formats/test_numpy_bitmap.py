"""The numpy_bitmap reader on the real Quick, Draw! .npy files and on broken ones."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from datakit import truncate
from inkrec.data.formats.numpy_bitmap import load_bitmaps
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
