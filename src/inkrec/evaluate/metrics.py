"""Classification metrics on plain numpy arrays.

Kept free of torch and scikit-learn so that a model exported to ONNX can be scored in the slim install, and so
that every figure in a report is computed one way, here. Inputs are always `y_true` (int labels, shape (N,))
and `probs` (class scores, shape (N, C), rows need not sum to one for the ranking metrics).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from inkrec.errors import ConfigError


def _check(y_true: np.ndarray, probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y_true)
    p = np.asarray(probs)
    if p.ndim != 2:
        raise ConfigError(f"scores must be a 2-D array (samples x classes), got shape {p.shape}")
    if y.ndim != 1 or y.shape[0] != p.shape[0]:
        raise ConfigError(f"{y.shape[0] if y.ndim else 0} labels for {p.shape[0]} score rows")
    if y.size and (y.min() < 0 or y.max() >= p.shape[1]):
        raise ConfigError(f"labels must lie in 0..{p.shape[1] - 1}, got {int(y.min())}..{int(y.max())}")
    return y.astype(np.int64, copy=False), p


def top_k(probs: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k highest scores per row, best first, shape (N, min(k, C)).

    Ties are broken towards the lower class index so results are deterministic.
    """
    p = np.asarray(probs)
    k = max(1, min(int(k), p.shape[1]))
    if k < p.shape[1]:
        # argpartition keeps this O(N*C) at 345 classes; then sort only the k survivors.
        part = np.argpartition(-p, k - 1, axis=1)[:, :k]
    else:
        part = np.broadcast_to(np.arange(p.shape[1]), p.shape).copy()
    scores = np.take_along_axis(p, part, axis=1)
    order = np.lexsort((part, -scores), axis=1)
    return np.take_along_axis(part, order, axis=1)


def top_k_accuracy(y_true: np.ndarray, probs: np.ndarray, k: int) -> float:
    """Fraction of samples whose true class is among the k best-scored classes."""
    y, p = _check(y_true, probs)
    if y.size == 0:
        return float("nan")
    hits = (top_k(p, k) == y[:, None]).any(axis=1)
    return float(hits.mean())


def map_at_k(y_true: np.ndarray, probs: np.ndarray, k: int = 3) -> float:
    """Mean average precision at k with one true label per sample: 1/rank of the truth if within the top k.

    This is the metric of Kaggle's "Quick, Draw! Doodle Recognition" challenge (k=3), which scores three
    guesses per drawing.
    """
    y, p = _check(y_true, probs)
    if y.size == 0:
        return float("nan")
    guesses = top_k(p, k)
    hit = guesses == y[:, None]
    rank = np.argmax(hit, axis=1) + 1
    return float(np.where(hit.any(axis=1), 1.0 / rank, 0.0).mean())


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts, rows = true class, columns = predicted class, shape (C, C) int64."""
    y = np.asarray(y_true, dtype=np.int64)
    yp = np.asarray(y_pred, dtype=np.int64)
    if y.shape != yp.shape:
        raise ConfigError(f"{y.size} true labels for {yp.size} predictions")
    return np.bincount(y * n_classes + yp, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def per_class_scores(cm: np.ndarray) -> dict[str, np.ndarray]:
    """Precision, recall, F1 and support per class from a confusion matrix.

    A class never predicted has precision 0 (and never seen, recall 0) rather than NaN, as scikit-learn's
    `zero_division=0`, so that the JSON stays plain numbers.
    """
    cm = np.asarray(cm, dtype=np.float64)
    tp = np.diag(cm)
    predicted = cm.sum(axis=0)
    support = cm.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, tp / predicted, 0.0)
        recall = np.where(support > 0, tp / support, 0.0)
        denom = precision + recall
        f1 = np.where(denom > 0, 2 * precision * recall / denom, 0.0)
    return {"precision": precision, "recall": recall, "f1": f1, "support": support.astype(np.int64)}


def most_confused_pairs(cm: np.ndarray, classes: Sequence[str], top: int = 20) -> list[dict]:
    """Off-diagonal cells of the confusion matrix, largest first.

    At 345 classes a heat map cannot show which mistakes matter; this ranked list can. `rate` is the share of
    the true class's samples that went to the wrong class.
    """
    cm = np.asarray(cm)
    off = cm.copy()
    np.fill_diagonal(off, 0)
    flat = off.ravel()
    nz = np.flatnonzero(flat)
    # Sort by count descending, then by (true, pred) index for a stable order.
    order = nz[np.lexsort((nz, -flat[nz]))][:top]
    support = cm.sum(axis=1)
    pairs = []
    for idx in order:
        t, p = divmod(int(idx), cm.shape[1])
        pairs.append(
            {
                "true": classes[t],
                "predicted": classes[p],
                "count": int(cm[t, p]),
                "rate": float(cm[t, p] / support[t]) if support[t] else 0.0,
            }
        )
    return pairs


def reliability_bins(y_true: np.ndarray, probs: np.ndarray, n_bins: int = 15) -> list[dict]:
    """Confidence (top score) binned into equal-width bins over [0, 1], with the accuracy in each bin.

    A bin covers (lo, hi]; the first bin also takes a confidence of exactly 0.
    """
    y, p = _check(y_true, probs)
    conf = p.max(axis=1) if y.size else np.zeros(0)
    correct = p.argmax(axis=1) == y if y.size else np.zeros(0, dtype=bool)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    which = np.clip(np.searchsorted(edges, conf, side="left") - 1, 0, n_bins - 1)
    bins = []
    for b in range(n_bins):
        m = which == b
        n = int(m.sum())
        bins.append(
            {
                "lo": float(edges[b]),
                "hi": float(edges[b + 1]),
                "count": n,
                "accuracy": float(correct[m].mean()) if n else None,
                "confidence": float(conf[m].mean()) if n else None,
            }
        )
    return bins


def expected_calibration_error(y_true: np.ndarray, probs: np.ndarray, n_bins: int = 15) -> float:
    """ECE: the sample-weighted mean gap between confidence and accuracy over equal-width bins.

    A model that says 90% should be right 90% of the time; ECE is how far off that promise is on average.
    """
    bins = reliability_bins(y_true, probs, n_bins)
    total = sum(b["count"] for b in bins)
    if total == 0:
        return float("nan")
    return float(sum(b["count"] * abs(b["accuracy"] - b["confidence"]) for b in bins if b["count"]) / total)


def summarize(
    y_true: np.ndarray,
    probs: np.ndarray,
    classes: Sequence[str],
    *,
    n_bins: int = 15,
    top_pairs: int = 50,
) -> dict:
    """Everything `inkrec eval` writes to its JSON: headline accuracies, per-class scores, calibration."""
    y, p = _check(y_true, probs)
    if len(classes) != p.shape[1]:
        raise ConfigError(f"{len(classes)} class names for {p.shape[1]} score columns")
    pred = p.argmax(axis=1)
    cm = confusion_matrix(y, pred, len(classes))
    scores = per_class_scores(cm)
    per_class = {
        name: {
            "precision": float(scores["precision"][i]),
            "recall": float(scores["recall"][i]),
            "f1": float(scores["f1"][i]),
            "support": int(scores["support"][i]),
        }
        for i, name in enumerate(classes)
    }
    present = scores["support"] > 0
    macro = {
        key: float(scores[key][present].mean()) if present.any() else float("nan")
        for key in ("precision", "recall", "f1")
    }
    return {
        "n": int(y.size),
        "num_classes": len(classes),
        "top1": top_k_accuracy(y, p, 1),
        "top3": top_k_accuracy(y, p, 3),
        "top5": top_k_accuracy(y, p, 5),
        "top10": top_k_accuracy(y, p, 10),  # the candidate bar of a handwriting keyboard
        "map3": map_at_k(y, p, 3),
        "macro": macro,
        "ece": expected_calibration_error(y, p, n_bins),
        "reliability": reliability_bins(y, p, n_bins),
        "most_confused": most_confused_pairs(cm, list(classes), top_pairs),
        "per_class": per_class,
    }


def auroc(positive: np.ndarray, negative: np.ndarray) -> float:
    """Area under the ROC curve of scores where `positive` should rank above `negative` (ties count half):
    the Mann-Whitney U statistic over both sets' ranks."""
    pos = np.asarray(positive, dtype=np.float64).ravel()
    neg = np.asarray(negative, dtype=np.float64).ravel()
    if not len(pos) or not len(neg):
        raise ConfigError("AUROC needs scores of both kinds")
    both = np.concatenate([pos, neg])
    order = np.argsort(both, kind="mergesort")
    ranks = np.empty(len(both))
    ranks[order] = np.arange(1, len(both) + 1)
    # average ranks over ties
    sorted_vals = both[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_vals)) + 1]
    ends = np.r_[starts[1:], len(both)]
    for s, e in zip(starts, ends, strict=True):
        if e - s > 1:
            ranks[order[s:e]] = (s + 1 + e) / 2
    u = ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2
    return float(u / (len(pos) * len(neg)))
