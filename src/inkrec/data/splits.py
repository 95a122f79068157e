"""Train/test splits, per-class caps and balanced sampling, as pure functions of label and group arrays.

Figures are only comparable when everyone cuts the data the same way, so the standard cuts are fixed
rules (first 80% of each file, the t10k file, the last writers), and the seeded ones are deterministic
per class: the random split of one class never changes because another class was added or left out.
All work is vectorised over index arrays, so a split of 35 million drawings costs seconds, not minutes.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence

import numpy as np

from inkrec.errors import ConfigError

TRAIN_FRACTION = 0.8


def check_fraction(test_fraction: float) -> float:
    if not (isinstance(test_fraction, (int, float)) and 0.0 < float(test_fraction) < 1.0):
        raise ConfigError(f"test_fraction must be between 0 and 1 (exclusive), got {test_fraction!r}")
    return float(test_fraction)


def head_tail_test_mask(
    group_starts: np.ndarray, group_sizes: np.ndarray, train_fraction: float = TRAIN_FRACTION
):
    """Test mask over concatenated groups (files): in each group of n rows, rows from int(f * n) on are test.

    This is the Quick, Draw! standard cut: the first 80% of each category file train, the rest test, no
    shuffling before the cut.
    """
    total = int(group_starts[-1] + group_sizes[-1]) if len(group_starts) else 0
    cut = np.asarray([int(train_fraction * n) for n in group_sizes], dtype=np.int64)
    delta = np.zeros(total + 1, dtype=np.int8)
    first_test = np.asarray(group_starts, dtype=np.int64) + cut
    ends = np.asarray(group_starts, dtype=np.int64) + np.asarray(group_sizes, dtype=np.int64)
    np.add.at(delta, first_test, 1)
    np.add.at(delta, ends, -1)
    return np.cumsum(delta[:-1], dtype=np.int8).astype(bool)


def _class_seed(seed: int, key: str) -> np.random.Generator:
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, zlib.crc32(key.encode("utf-8"))])


def random_test_mask(
    labels: np.ndarray, class_names: Sequence[str], test_fraction: float, seed: int
) -> np.ndarray:
    """Stratified seeded random split: in each class, round(test_fraction * n) samples go to test.

    Each class draws from its own generator (seed, class name), so the split of a class does not depend on
    which other classes are loaded. A class of two or more samples keeps at least one on each side.
    """
    test_fraction = check_fraction(test_fraction)
    mask = np.zeros(len(labels), dtype=bool)
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(len(class_names) + 1))
    for c, name in enumerate(class_names):
        members = order[bounds[c] : bounds[c + 1]]
        n = len(members)
        if n < 2:
            continue
        n_test = min(max(round(test_fraction * n), 1), n - 1)
        pick = _class_seed(seed, name).permutation(n)[:n_test]
        mask[members[pick]] = True
    return mask


def natural_key(value) -> tuple:
    """Sort key that orders `writer2` before `writer10` and numbers numerically."""
    if isinstance(value, (int, np.integer)):
        return ((0, int(value), ""),)
    parts = re.split(r"(\d+)", str(value))
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts if p != "")


def _writer_codes(writers: np.ndarray) -> tuple[list, np.ndarray]:
    """Distinct writers in natural order, and each sample's position in that list."""
    uniq, inverse = np.unique(np.asarray(writers), return_inverse=True)
    ranks = sorted(range(len(uniq)), key=lambda i: natural_key(uniq[i]))
    position = np.empty(len(uniq), dtype=np.int64)
    position[ranks] = np.arange(len(uniq))
    return [uniq[i] for i in ranks], position[inverse.reshape(-1)]


def ordered_writer_test_mask(writers: np.ndarray, train_fraction: float = TRAIN_FRACTION) -> np.ndarray:
    """Writer-disjoint standard cut: the first int(f * W) writers in natural order train, the rest test.

    For Chinese MNIST's 80 writers this is writers 1-64 train and 65-80 test; for CASIA HWDB1.1's writers
    1001-1300 it is the official 1001-1240 / 1241-1300 cut.
    """
    ordered, codes = _writer_codes(writers)
    n_train = int(train_fraction * len(ordered))
    return codes >= n_train


def writer_test_mask(writers: np.ndarray, test_fraction: float, seed: int) -> np.ndarray:
    """Seeded writer-disjoint split: round(test_fraction * W) random writers (at least one each side) test."""
    test_fraction = check_fraction(test_fraction)
    ordered, codes = _writer_codes(writers)
    n = len(ordered)
    if n < 2:
        raise ConfigError(f"a writer-disjoint split needs at least 2 writers, this data set has {n}")
    n_test = min(max(round(test_fraction * n), 1), n - 1)
    test_writers = np.random.default_rng(int(seed) & 0xFFFFFFFF).permutation(n)[:n_test]
    is_test = np.zeros(n, dtype=bool)
    is_test[test_writers] = True
    return is_test[codes]


def first_per_class(rows: np.ndarray, labels: np.ndarray, n_classes: int, max_per_class: int) -> np.ndarray:
    """Positions (into `rows`) of the first `max_per_class` samples of each class in file order.

    `rows` are global sample numbers, which grow in file order, so "first in file order" is "smallest row".
    """
    order = np.lexsort((rows, labels))
    sorted_labels = labels[order]
    starts = np.searchsorted(sorted_labels, np.arange(n_classes))
    rank = np.arange(len(order)) - starts[sorted_labels]
    keep = np.sort(order[rank < max_per_class])
    return keep


def balanced_positions(
    labels: np.ndarray, class_names: Sequence[str], n_per_class: int, seed: int
) -> np.ndarray:
    """`n_per_class` positions from every class, shuffled.

    A class with enough samples gives a random subset without repeats; a smaller class gives all of its
    samples plus random repeats (oversampling), so every class weighs the same in an epoch.
    """
    if int(n_per_class) < 1:
        raise ConfigError(f"n_per_class must be at least 1, got {n_per_class!r}")
    n_per_class = int(n_per_class)
    rng = np.random.default_rng(int(seed) & 0xFFFFFFFF)
    n_classes = len(class_names)
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(n_classes + 1))
    parts = []
    for c in range(n_classes):
        members = order[bounds[c] : bounds[c + 1]]
        n = len(members)
        if n == 0:
            raise ConfigError(
                f"class {class_names[c]!r} has no samples here, so it cannot be sampled in balance"
            )
        if n >= n_per_class:
            parts.append(members[rng.choice(n, n_per_class, replace=False)])
        else:
            extra = rng.choice(n, n_per_class - n, replace=True)
            parts.append(np.concatenate([members, members[extra]]))
    out = np.concatenate(parts)
    rng.shuffle(out)
    return out.astype(np.int64)


def shown_categories(categories: Sequence[str], own: Sequence[str]) -> list[str]:
    """The half of a data set's other categories that a model may be shown: every other one, in sorted order,
    of those it does not have. A model learns features from them (auxiliary classes in training) and its
    open-set rule is fit on them (outlier exposure); the other half stays unseen, for measuring both."""
    mine = set(own)
    return sorted(c for c in categories if c not in mine)[0::2]


def teaching_categories(categories: Sequence[str], own: Sequence[str]) -> list[str]:
    """Every fourth of the shown categories (`shown_categories`), which a model does not learn from as
    auxiliary classes: how a class taught later scores is fit on them (`inkrec.export.calibrate`), and a
    category the model learnt from would make it look easier to teach than a new one is."""
    return shown_categories(categories, own)[3::4]
