"""Quick, Draw! "numpy_bitmap" `.npy` files: (N, 784) uint8, one 28x28 drawing a row, white ink on black.

One file per category (`cat.npy`); a folder of them is a data set whose classes are the file names.
Files are memory-mapped after their header was checked against their size, so a 100k-drawing file costs
no memory until rows are touched and a truncated download is reported before anything is mapped. Rows
of any square width are read (`inkrec data import-images --size 64` writes (N, 4096)).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from inkrec.data import npy
from inkrec.data.sources import BitmapArrays, category_files
from inkrec.data.splits import head_tail_test_mask
from inkrec.errors import DataFormatError

NAME = "numpy_bitmap"
SUFFIXES = (".npy",)
DESCRIPTION = "Quick, Draw! .npy numpy_bitmap files"
FOLDER = "files"
BITMAP_SIDE = 28


def recognizes(path: Path) -> bool:
    return path.suffix.lower() in SUFFIXES


def load_bitmaps(path: str | Path, *, side: int | None = None) -> np.ndarray:
    """Memory-map a ``numpy_bitmap`` file: (N, side*side) uint8, white ink on black, one drawing a row.

    `side=28` insists on the official 28x28.
    """
    path = Path(path)
    header = npy.read_file_header(path)
    shape = header.shape
    if header.dtype != np.uint8:
        raise DataFormatError(path, f"dtype is {header.dtype}, expected uint8 (numpy_bitmap)")
    if len(shape) != 2:
        raise DataFormatError(path, f"shape is {shape}, expected (N, {(side or BITMAP_SIDE) ** 2})")
    width = shape[1]
    if side is not None and width != side * side:
        raise DataFormatError(
            path, f"shape is {shape}, expected (N, {side * side}) for {side}x{side} bitmaps"
        )
    if side is None and (width == 0 or round(width**0.5) ** 2 != width):
        raise DataFormatError(path, f"shape is {shape}: rows are not square bitmaps")
    if shape[0] == 0:
        return np.zeros(shape, dtype=np.uint8)
    try:
        return np.memmap(
            path,
            dtype=np.uint8,
            mode="r",
            offset=header.offset,
            shape=shape,
            order="F" if header.fortran_order else "C",
        )
    except (ValueError, OSError) as exc:
        raise DataFormatError(path, f"cannot memory-map: {exc}") from None


def open_source(path: Path, *, classes=None, progress: bool = True) -> BitmapArrays:
    """A file or folder of category files; the standard split is the first 80% of each file's rows."""
    files, names = category_files(path, SUFFIXES, classes)
    arrays = _open_files(files)
    sizes = np.asarray([len(a) for a in arrays], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(sizes)])[:-1]
    return BitmapArrays(
        arrays,
        np.repeat(np.arange(len(files), dtype=np.int64), sizes),
        names,
        name="quickdraw-bitmap",
        path=path,
        standard_test=head_tail_test_mask(starts, sizes),
        reopen=_Reopener(files),
    )


class _Reopener:
    """Picklable: maps the same .npy files again in another process."""

    def __init__(self, files: list[Path]):
        self.files = [str(f) for f in files]

    def __call__(self):
        return _open_files([Path(f) for f in self.files])


def _open_files(files: list[Path]) -> list[np.ndarray]:
    arrays = []
    for f in files:
        a = load_bitmaps(f)
        side = round(np.sqrt(a.shape[1]))
        arrays.append(a.reshape(len(a), side, side))
    return arrays
