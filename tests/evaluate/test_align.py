"""How a data set's class map is matched to a model's."""

from __future__ import annotations

import pytest

from inkrec.errors import ConfigError
from inkrec.evaluate.predict import align_labels

MODEL = ["cat", "dog", "fish"]


def test_same_classes_other_order():
    keep, to_model = align_labels(["fish", "cat", "dog"], MODEL)
    assert keep.tolist() == [0, 1, 2]
    assert to_model.tolist() == [2, 0, 1]


def test_subset_of_model_classes_is_fine():
    keep, to_model = align_labels(["dog"], MODEL)
    assert keep.tolist() == [0] and to_model.tolist() == [1]


def test_superset_is_restricted_to_model_labels():
    keep, to_model = align_labels(["apple", "cat", "dog", "fish", "zebra"], MODEL)
    assert keep.tolist() == [1, 2, 3]
    assert to_model.tolist() == [-1, 0, 1, 2, -1]


def test_foreign_labels_are_refused_by_name():
    with pytest.raises(ConfigError, match=r"'zebra'.*lacks 1 of the model's: 'fish'"):
        align_labels(["cat", "dog", "zebra"], MODEL)
    with pytest.raises(ConfigError, match="'0', '1'"):
        align_labels(["0", "1", "2"], MODEL)
