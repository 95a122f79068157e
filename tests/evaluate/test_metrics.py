"""Metrics against hand-computed cases and against scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from inkrec.errors import ConfigError
from inkrec.evaluate import metrics as M

# Four samples, three classes; the truth sits at rank 1, 2, 3 and 1.
PROBS = np.array(
    [
        [0.7, 0.2, 0.1],  # truth 0 -> rank 1
        [0.5, 0.3, 0.2],  # truth 1 -> rank 2
        [0.6, 0.3, 0.1],  # truth 2 -> rank 3
        [0.1, 0.1, 0.8],  # truth 2 -> rank 1
    ]
)
Y = np.array([0, 1, 2, 2])


def test_topk_by_hand():
    assert M.top_k_accuracy(Y, PROBS, 1) == pytest.approx(0.5)
    assert M.top_k_accuracy(Y, PROBS, 2) == pytest.approx(0.75)
    assert M.top_k_accuracy(Y, PROBS, 3) == pytest.approx(1.0)
    # k beyond the number of classes is every class.
    assert M.top_k_accuracy(Y, PROBS, 5) == pytest.approx(1.0)


def test_top_k_order_and_ties():
    p = np.array([[0.2, 0.5, 0.5, 0.1]])
    assert M.top_k(p, 3).tolist() == [[1, 2, 0]]  # tie 1/2 broken towards the lower index
    assert M.top_k(p, 10).tolist() == [[1, 2, 0, 3]]


def test_map3_by_hand():
    # (1 + 1/2 + 1/3 + 1) / 4
    assert M.map_at_k(Y, PROBS, 3) == pytest.approx((1 + 0.5 + 1 / 3 + 1) / 4)
    # With k=2 the rank-3 hit counts nothing.
    assert M.map_at_k(Y, PROBS, 2) == pytest.approx((1 + 0.5 + 0 + 1) / 4)


def test_map3_kaggle_reference():
    """The Kaggle reference implementation (apk with one actual label) on random scores."""
    rng = np.random.default_rng(1)
    p = rng.random((500, 12))
    y = rng.integers(0, 12, 500)

    def apk(actual, predicted, k=3):
        score, hits = 0.0, 0.0
        for i, guess in enumerate(predicted[:k]):
            if guess in actual and guess not in predicted[:i]:
                hits += 1.0
                score += hits / (i + 1.0)
        return score / min(len(actual), k)

    ref = np.mean([apk([t], list(np.argsort(-row)[:3])) for t, row in zip(y, p)])
    assert M.map_at_k(y, p, 3) == pytest.approx(ref)


def test_confusion_and_per_class_by_hand():
    cm = M.confusion_matrix(Y, PROBS.argmax(1), 3)
    # predictions: 0, 0, 0, 2
    assert cm.tolist() == [[1, 0, 0], [1, 0, 0], [1, 0, 1]]
    s = M.per_class_scores(cm)
    assert s["precision"].tolist() == pytest.approx([1 / 3, 0.0, 1.0])
    assert s["recall"].tolist() == pytest.approx([1.0, 0.0, 0.5])
    assert s["f1"].tolist() == pytest.approx([0.5, 0.0, 2 / 3])
    assert s["support"].tolist() == [1, 1, 2]


def test_most_confused_by_hand():
    cm = np.array([[5, 3, 0], [1, 4, 7], [0, 3, 2]])
    pairs = M.most_confused_pairs(cm, ["a", "b", "c"], top=3)
    assert [(p["true"], p["predicted"], p["count"]) for p in pairs] == [
        ("b", "c", 7),
        ("a", "b", 3),
        ("c", "b", 3),
    ]
    assert pairs[0]["rate"] == pytest.approx(7 / 12)
    assert M.most_confused_pairs(np.eye(3, dtype=int), ["a", "b", "c"]) == []


def test_ece_by_hand():
    # Two bins. Bin (0, .5]: confidences .4, .4, one right -> |0.5 - 0.4| ; bin (.5, 1]: .9, .9, .9, .9 all right.
    p = np.array([[0.4, 0.3, 0.3], [0.4, 0.35, 0.25]] + [[0.9, 0.05, 0.05]] * 4)
    y = np.array([0, 1, 0, 0, 0, 0])
    bins = M.reliability_bins(y, p, n_bins=2)
    assert [b["count"] for b in bins] == [2, 4]
    assert bins[0]["accuracy"] == pytest.approx(0.5) and bins[0]["confidence"] == pytest.approx(0.4)
    assert bins[1]["accuracy"] == pytest.approx(1.0) and bins[1]["confidence"] == pytest.approx(0.9)
    assert M.expected_calibration_error(y, p, n_bins=2) == pytest.approx((2 * 0.1 + 4 * 0.1) / 6)


def test_ece_perfectly_calibrated_is_zero():
    p = np.array([[1.0, 0.0], [0.0, 1.0]])
    assert M.expected_calibration_error(np.array([0, 1]), p) == pytest.approx(0.0)


@pytest.fixture(scope="module")
def random_case():
    rng = np.random.default_rng(0)
    n, c = 2000, 20
    logits = rng.normal(size=(n, c))
    y = rng.integers(0, c, n)
    logits[np.arange(n), y] += rng.normal(1.5, 1.0, n)  # make it a half-decent classifier
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    return y, probs


@pytest.mark.parametrize("k", [1, 3, 5])
def test_topk_matches_sklearn(random_case, k):
    y, p = random_case
    assert M.top_k_accuracy(y, p, k) == pytest.approx(skm.top_k_accuracy_score(y, p, k=k, labels=range(20)))


def test_per_class_and_confusion_match_sklearn(random_case):
    y, p = random_case
    pred = p.argmax(1)
    cm = M.confusion_matrix(y, pred, 20)
    np.testing.assert_array_equal(cm, skm.confusion_matrix(y, pred, labels=range(20)))
    s = M.per_class_scores(cm)
    prec, rec, f1, sup = skm.precision_recall_fscore_support(y, pred, labels=range(20), zero_division=0)
    np.testing.assert_allclose(s["precision"], prec)
    np.testing.assert_allclose(s["recall"], rec)
    np.testing.assert_allclose(s["f1"], f1)
    np.testing.assert_array_equal(s["support"], sup)


def test_summarize_fields(random_case):
    y, p = random_case
    classes = [f"class {i}" for i in range(20)]
    out = M.summarize(y, p, classes)
    assert out["n"] == 2000
    for key in ("top1", "top3", "top5", "map3", "ece"):
        assert 0.0 <= out[key] <= 1.0
    assert out["top1"] <= out["map3"] <= out["top3"] <= out["top5"] <= out["top10"]
    assert set(out["per_class"]) == set(classes)
    assert out["per_class"]["class 3"]["support"] == int((y == 3).sum())
    assert out["macro"]["f1"] == pytest.approx(skm.f1_score(y, p.argmax(1), average="macro"))
    assert sum(b["count"] for b in out["reliability"]) == 2000
    counts = [pair["count"] for pair in out["most_confused"]]
    assert counts == sorted(counts, reverse=True)


def test_bad_shapes_are_config_errors():
    with pytest.raises(ConfigError):
        M.top_k_accuracy(np.array([0, 1]), np.zeros((3, 2)), 1)
    with pytest.raises(ConfigError):
        M.top_k_accuracy(np.array([0, 5]), np.zeros((2, 2)), 1)
    with pytest.raises(ConfigError):
        M.summarize(np.array([0]), np.zeros((1, 2)), ["only one name"])
