"""The data set object: any supported source as one list of (sample, label) with splits, caps and balance.

`open_dataset(path)` has `inkrec.data.formats` recognise the format and open it, builds the class map
(category names sorted; `classes=` restricts and orders it), cuts the standard split of
`../shared/datasets/README.md` (or a seeded random or writer-disjoint one), applies per-class caps, and returns an `InkDataset`. The object holds index arrays
only: pixels stay in their memory-mapped files and drawings in their text files until asked for, so a
345-category, 35-million-drawing Quick, Draw! folder opens in seconds and iterates in bounded memory.
It needs neither torch nor anything beyond the core install; the torch wrapper lives in `inkrec.train`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from inkrec.data import formats, splits
from inkrec.data.sources import BITMAP, BitmapArrays, Source, unknown_classes_message
from inkrec.errors import ConfigError

SPLITS = ("all", "train", "test")
SPLIT_MODES = ("standard", "random", "writer")


class InkDataset:
    """Samples of one data set (a split of it), with labels into `classes`.

    `ds[i]` is `(sample, label)`: a uint8 (H, W) bitmap (white ink on black) for `kind == "bitmap"`, a
    list of (2|3, n) float arrays for `kind == "strokes"`. `bitmaps()` gives a uint8 batch for either
    kind (strokes are rasterized by `inkrec.preprocess.raster`).
    """

    def __init__(
        self,
        source: Source,
        rows: np.ndarray,
        labels: np.ndarray,
        classes: Sequence[str],
        *,
        split: str = "all",
        split_mode: str = "standard",
    ):
        self._source = source
        self._rows = np.asarray(rows, dtype=np.int64)
        self.labels = np.asarray(labels, dtype=np.int64)
        self.classes = list(classes)
        self.split = split
        self.split_mode = split_mode

    # ------------------------------------------------------------------ description
    @property
    def kind(self) -> str:
        return self._source.kind

    @property
    def source(self) -> str:
        return self._source.name

    @property
    def path(self) -> str:
        return self._source.path

    @property
    def has_standard_split(self) -> bool:
        """Whether the format defines a fixed train/test cut (Quick, Draw! files, MNIST's t10k, Chinese MNIST's
        writers, Train/Test folders); others get a seeded random cut."""
        return self._source.standard_test is not None

    @property
    def image_size(self) -> int | None:
        return self._source.image_size if self.kind == BITMAP else None

    @property
    def rows(self) -> np.ndarray:
        """Each sample's position in the whole data set (file order), e.g. to check two splits are disjoint."""
        return self._rows

    @property
    def writers(self) -> np.ndarray | None:
        """Each sample's writer (Chinese MNIST's `writerNNN`, a .gnt file's name), or None if unknown."""
        w = self._source.writers
        return None if w is None else w[self._rows]

    def class_counts(self) -> np.ndarray:
        return np.bincount(self.labels, minlength=len(self.classes))

    def __repr__(self) -> str:
        return (
            f"InkDataset({self.source}, {self.kind}, {len(self)} samples, {len(self.classes)} classes, "
            f"split={self.split!r}, path={self.path!r})"
        )

    # ------------------------------------------------------------------ access
    def __len__(self) -> int:
        return len(self._rows)

    def __getitem__(self, i):
        n = len(self._rows)
        i = int(i)
        if i < -n or i >= n:
            raise IndexError(f"index {i} out of range for a data set of {n} samples")
        if i < 0:
            i += n
        return self._source.sample(int(self._rows[i])), int(self.labels[i])

    def drawing(self, i: int):
        """The full `Drawing` (key_id, countrycode, ...) of a sample of an ndjson or .bin source."""
        if not hasattr(self._source, "drawing"):
            raise ConfigError(f"{self.source} samples carry no drawing metadata")
        return self._source.drawing(int(self._rows[int(i)]))

    def drawings(self, indices=None) -> list:
        """`Drawing`s of the samples at `indices` (all when None) of an ndjson or .bin source, read with one
        reader call per file touched (faster than `drawing(i)` one by one)."""
        if not hasattr(self._source, "drawings"):
            raise ConfigError(f"{self.source} samples carry no drawing metadata")
        rows = self._rows if indices is None else self._rows[self._positions(indices)]
        return self._source.drawings(rows)

    def bitmaps(self, indices=None, size: int | None = None) -> np.ndarray:
        """uint8 (N, H, W) bitmaps of the samples at `indices` (all when None), white ink on black.

        `size` resizes bitmaps (anti-aliased) or sets the raster size for strokes (default 28).
        """
        rows = self._rows if indices is None else self._rows[self._positions(indices)]
        return self._source.bitmaps(rows, size)

    def subset(self, indices) -> InkDataset:
        pos = self._positions(indices)
        return InkDataset(
            self._source,
            self._rows[pos],
            self.labels[pos],
            self.classes,
            split=self.split,
            split_mode=self.split_mode,
        )

    def balanced_indices(self, n_per_class: int, seed: int = 0) -> np.ndarray:
        """`n_per_class` indices from every class (small classes oversampled), shuffled, seeded."""
        return splits.balanced_positions(self.labels, self.classes, n_per_class, seed)

    def iter_batches(
        self,
        batch_size: int,
        *,
        shuffle: bool = True,
        seed: int = 0,
        size: int | None = None,
        drop_last: bool = False,
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(uint8 (B, H, W), int64 (B,)) batches over the whole set, in seeded random order if `shuffle`.

        Bitmaps are gathered `gather_bytes` at a time (many batches in one pass over the files, which
        amortises the per-file work when there are hundreds of category files, and lets neighbouring
        rows share the pages they map) and then cut into batches: exactly those of the permutation.
        """
        if batch_size < 1:
            raise ConfigError(f"batch_size must be at least 1, got {batch_size}")
        n = len(self)
        order = np.random.default_rng(seed).permutation(n) if shuffle else np.arange(n)
        stop = n - n % batch_size if drop_last else n
        if self.kind == BITMAP and self.image_size:
            per_gather = batch_size * max(1, self.gather_bytes // (batch_size * self.image_size**2))
        else:
            per_gather = batch_size
        for lo in range(0, stop, per_gather):
            idx = order[lo : min(lo + per_gather, stop)]
            pixels = self.bitmaps(idx, size)
            for b in range(0, len(idx), batch_size):
                yield pixels[b : b + batch_size], self.labels[idx[b : b + batch_size]]

    # Pixels gathered at once by iter_batches for bitmap sources (42,000 28x28 bitmaps).
    gather_bytes = 32 << 20

    def materialize(self, size: int | None = None) -> InkDataset:
        """The same samples as bitmaps in memory: decode or rasterize once, then train for many epochs."""
        pixels = self.bitmaps(None, size)
        src = BitmapArrays(
            [pixels],
            self.labels,
            self.classes,
            name=self.source,
            path=self.path,
            writers=self.writers,
        )
        return InkDataset(
            src,
            np.arange(len(self), dtype=np.int64),
            self.labels,
            self.classes,
            split=self.split,
            split_mode=self.split_mode,
        )

    def release_pages(self) -> None:
        """Hand mapped file pages back to the kernel (done automatically, see `page_budget`)."""
        self._source.release_pages()

    @property
    def page_budget(self) -> int | None:
        """Bytes of memory-mapped file pages this data set may keep resident before handing them back
        (None for sources that map nothing). More is faster at random access, less keeps RSS lower."""
        return getattr(self._source, "page_budget", None)

    @page_budget.setter
    def page_budget(self, value: int) -> None:
        if hasattr(self._source, "page_budget"):
            self._source.page_budget = int(value)

    def _positions(self, indices) -> np.ndarray:
        idx = np.asarray(indices)
        if idx.dtype == bool:
            if idx.shape != (len(self),):
                raise ConfigError(f"boolean mask of shape {idx.shape} for a data set of {len(self)} samples")
            return np.flatnonzero(idx)
        idx = idx.astype(np.int64, copy=False).reshape(-1)
        n = len(self)
        if len(idx) and (idx.min() < -n or idx.max() >= n):
            raise IndexError(f"indices out of range for a data set of {n} samples")
        return np.where(idx < 0, idx + n, idx)


# ============================================================================ open_dataset


def open_dataset(
    path: str | Path,
    *,
    split: str = "all",
    split_mode: str = "standard",
    test_fraction: float = 0.2,
    seed: int = 0,
    max_per_class: int | None = None,
    classes: Sequence[str] | None = None,
    progress: bool = True,
) -> InkDataset:
    """Open any supported data set at `path` (file or folder) as an `InkDataset`.

    - `split`: "all", "train" or "test".
    - `split_mode`: "standard" (fixed cuts, so figures compare: the first 80% of each Quick, Draw! file
      (numpy_bitmap rows, ndjson/.bin drawings in file order); MNIST-family train vs t10k/test files;
      image folders with Train/Test sub-folders by folder; data with writers (Chinese MNIST's
      `writerNNN`, one .gnt file per CASIA writer) by writer, the first 80% of writers in natural order
      train (Chinese MNIST 1-64 vs 65-80, HWDB1.1 1001-1240 vs 1241-1300); sketch-rnn .npz its own
      train+valid vs test; anything else seeded random, `test_fraction` per class), "random" (stratified
      per class, seeded, the same for a class whichever other classes are loaded) or "writer"
      (writer-disjoint, seeded).
    - `max_per_class`: keep the first N samples of each class in file order (within the split).
    - `classes`: restrict to these class names, labelled in this order.
    """
    if split not in SPLITS:
        raise ConfigError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
    if split_mode not in SPLIT_MODES:
        raise ConfigError(f"split_mode must be one of {', '.join(SPLIT_MODES)}, got {split_mode!r}")
    splits.check_fraction(test_fraction)
    if max_per_class is not None and (not isinstance(max_per_class, (int, np.integer)) or max_per_class < 1):
        raise ConfigError(f"max_per_class must be a positive integer, got {max_per_class!r}")
    if classes is not None:
        if isinstance(classes, str):
            classes = [c.strip() for c in classes.split(",") if c.strip()]
        classes = [str(c) for c in classes]
        dupes = sorted({c for c in classes if classes.count(c) > 1})
        if dupes:
            raise ConfigError(f"classes named twice: {', '.join(dupes)}")
        if not classes:
            raise ConfigError("classes= is empty")

    path = Path(path).expanduser()
    source = formats.open_source(path, classes=classes, progress=progress)

    # Class map: source class ids -> labels in the requested order.
    names = source.class_names
    if classes is None:
        wanted = list(names)
    else:
        known = set(names)
        unknown = [c for c in classes if c not in known]
        if unknown:
            raise ConfigError(unknown_classes_message(unknown, names, path))
        wanted = list(classes)
    remap = np.full(len(names), -1, dtype=np.int64)
    index_of = {n: i for i, n in enumerate(names)}
    for label, name in enumerate(wanted):
        remap[index_of[name]] = label
    all_labels = remap[source.labels]
    selected = all_labels >= 0

    if split != "all":
        is_test = _test_mask(source, split_mode, test_fraction, seed, wanted, all_labels, selected)
        selected &= is_test if split == "test" else ~is_test

    rows = np.flatnonzero(selected).astype(np.int64)
    labels = all_labels[rows]
    if max_per_class is not None:
        keep = splits.first_per_class(rows, labels, len(wanted), int(max_per_class))
        rows, labels = rows[keep], labels[keep]
    if len(rows) == 0:
        what = f"the {split} split of " if split != "all" else ""
        raise ConfigError(
            f"{what}{path} holds no samples" + (f" of classes {', '.join(wanted)}" if classes else "")
        )
    return InkDataset(source, rows, labels, wanted, split=split, split_mode=split_mode)


def _test_mask(source: Source, split_mode, test_fraction, seed, wanted, all_labels, selected) -> np.ndarray:
    if split_mode == "standard" and source.standard_test is not None:
        return source.standard_test
    if split_mode in ("standard", "random"):
        mask = np.zeros(len(all_labels), dtype=bool)
        rows = np.flatnonzero(selected)
        mask[rows] = splits.random_test_mask(all_labels[rows], wanted, test_fraction, seed)
        return mask
    if source.writers is None:
        raise ConfigError(
            f"split_mode='writer' needs writer ids, and {source.name} data at {source.path} names none "
            "(image file names like writer012_03.png, or one .gnt file per writer)"
        )
    return splits.writer_test_mask(source.writers, test_fraction, seed)
