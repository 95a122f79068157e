"""What a model learns beyond its weights, from drawings: when to say "not sure", and how taught classes score.

Both are fit on the exported file's own outputs (logits and the `embedding`), so they hold for the int8 model
that is served, not for the float one it came from.

Open set. A softmax is sure of something for every input; a drawing of a category the model never saw still
gets one class at 90%. The score used instead is a linear rule on the embedding and the logits' energy
(log-sum-exp) learnt by outlier exposure: drawings of the model's own classes against drawings of other
categories (Quick, Draw!'s hundreds of other categories for a doodle model). Without outliers the score is
the energy alone (no learning, and better than the top probability). Either way the threshold is chosen on
held-out drawings of the model's classes, never on the outliers, as the score that keeps `known_accept`
of them.

Teaching. A class taught from a few drawings scores `scale * cos(embedding, prototype) + bias` beside the
model's own logits. The two numbers are fit by teaching the model its own classes back: each class in turn
gets a prototype from a few of its drawings and competes, by that formula, against all the others' real
logits; `scale` and `bias` minimise the cross-entropy over all drawings. This is the honest trade: a
higher bias wins more of the new class's drawings and steals more of the old classes' ones.
"""

from __future__ import annotations

import numpy as np

from inkrec.errors import ConfigError

__all__ = ["fit_linear_scorer", "fit_open_set", "fit_teach", "log_sum_exp", "threshold_for"]

KNOWN_ACCEPT = 0.95


def log_sum_exp(logits: np.ndarray) -> np.ndarray:
    z = np.asarray(logits, dtype=np.float64)
    top = z.max(axis=1)
    return top + np.log(np.exp(z - top[:, None]).sum(axis=1))


def _features(logits: np.ndarray, emb: np.ndarray) -> np.ndarray:
    z = np.asarray(logits, dtype=np.float64)
    return np.c_[np.asarray(emb, dtype=np.float64), log_sum_exp(z), z.max(axis=1)]


def fit_linear_scorer(pos: np.ndarray, neg: np.ndarray, *, l2: float = 1e-3, steps: int = 50) -> np.ndarray:
    """Weights (D + 1, bias last) of a logistic regression of pos (label 1) vs neg (label 0), balanced.

    Newton's method on the standardised features: a few dozen features, a few thousand rows, it converges
    in a handful of steps and needs nothing beyond numpy.
    """
    x = np.r_[pos, neg]
    y = np.r_[np.ones(len(pos)), np.zeros(len(neg))]
    w_row = np.r_[np.full(len(pos), 0.5 / len(pos)), np.full(len(neg), 0.5 / len(neg))]
    mu, sd = x.mean(0), x.std(0) + 1e-6
    xs = np.c_[(x - mu) / sd, np.ones(len(x))]
    beta = np.zeros(xs.shape[1])
    reg = np.full(xs.shape[1], l2)
    reg[-1] = 0.0
    for _ in range(steps):
        p = 1 / (1 + np.exp(-np.clip(xs @ beta, -30, 30)))
        grad = xs.T @ (w_row * (p - y)) + reg * beta
        hess = (xs * (w_row * p * (1 - p))[:, None]).T @ xs + np.diag(reg + 1e-9)
        step = np.linalg.solve(hess, grad)
        beta -= step
        if np.abs(step).max() < 1e-7:
            break
    w = beta[:-1] / sd
    return np.r_[w, beta[-1] - (mu / sd) @ beta[:-1]]


def threshold_for(scores: np.ndarray, known_accept: float = KNOWN_ACCEPT) -> float:
    """The score above which `known_accept` of these (held-out known) drawings lie."""
    if not 0 < known_accept < 1:
        raise ConfigError(f"the share of known drawings to accept must be in (0, 1), got {known_accept}")
    return float(np.quantile(np.asarray(scores, dtype=np.float64), 1 - known_accept))


def fit_open_set(
    fit: tuple[np.ndarray, np.ndarray],
    heldout: tuple[np.ndarray, np.ndarray],
    outliers: tuple[np.ndarray, np.ndarray] | None = None,
    *,
    known_accept: float = KNOWN_ACCEPT,
    note: str = "",
) -> dict:
    """The `open_set` metadata from (logits, embedding) of known drawings to fit on, held-out known drawings
    for the threshold, and optionally outlier drawings (other categories) for outlier exposure."""
    if outliers is not None and len(outliers[0]) and fit[1] is not None:
        w = fit_linear_scorer(_features(*fit), _features(*outliers))
        rule = {
            "score": "linear",
            "weights": [float(v) for v in w[:-3]],
            "energy_weight": float(w[-3]),
            "max_logit_weight": float(w[-2]),
            "bias": float(w[-1]),
        }
        scores = _features(*heldout) @ w[:-1] + w[-1]
        rule["fit_on"] = (f"{len(fit[0])} known and {len(outliers[0])} outlier drawings (outlier exposure)"
                          + (f"; {note}" if note else ""))
    else:
        rule = {"score": "energy"}
        scores = log_sum_exp(heldout[0])
        rule["fit_on"] = "the logits' energy (no outlier drawings given)" + (f"; {note}" if note else "")
    rule["threshold"] = threshold_for(scores, known_accept)
    rule["known_accept"] = float(known_accept)
    rule["threshold_on"] = f"{len(heldout[0])} held-out drawings of the model's classes"
    return rule


def fit_teach(logits: np.ndarray, emb: np.ndarray, labels: np.ndarray, *, shots: int = 10,
              max_classes: int = 64, max_rows: int = 8000, seed: int = 0) -> dict:
    """The `teach` metadata ({"scale", "bias"}) from (logits, embedding, labels) of the model's own drawings."""
    rng = np.random.default_rng(seed)
    if len(labels) > max_rows:  # a large vocabulary: (rows x classes) logits must stay small
        keep_rows = np.sort(rng.choice(len(labels), max_rows, replace=False))
        logits, emb, labels = logits[keep_rows], emb[keep_rows], np.asarray(labels)[keep_rows]
    logits = np.asarray(logits, dtype=np.float64)
    emb = np.asarray(emb, dtype=np.float64)
    labels = np.asarray(labels)
    lse_all = log_sum_exp(logits)
    classes = [c for c in np.unique(labels) if (labels == c).sum() > shots]
    if len(classes) < 2:
        raise ConfigError(f"fitting how taught classes score needs >= 2 classes with more than {shots} drawings")
    if len(classes) > max_classes:
        classes = sorted(rng.choice(classes, max_classes, replace=False).tolist())
    n = len(labels)
    rows = np.arange(n)
    target = logits[rows, labels]
    # per simulated class c: its prototype's cosine for every drawing, and the log-sum-exp without column c
    cos, lse_wo, is_c = [], [], []
    for c in classes:
        members = np.flatnonzero(labels == c)
        shot = rng.choice(members, shots, replace=False)
        proto = emb[shot].mean(0)
        proto /= max(np.linalg.norm(proto), 1e-12)
        cos.append(emb @ proto)
        # log-sum-exp of every logit but column c, without copying the logits
        lse_wo.append(lse_all + np.log(np.maximum(-np.expm1(logits[:, c] - lse_all), 1e-300)))
        mask = labels == c
        mask[shot] = False  # the teaching drawings themselves are not scored
        is_c.append(mask)
    cos, lse_wo, is_c = np.array(cos), np.array(lse_wo), np.array(is_c)
    keep = np.ones_like(is_c)
    for k, c in enumerate(classes):
        keep[k] = (labels != c) | is_c[k]
    best = (np.inf, 10.0, 0.0)
    for scale in np.arange(2.0, 40.0, 1.0):
        for bias in np.arange(-30.0, 10.0, 0.5):
            new = scale * cos + bias
            lse = np.logaddexp(lse_wo, new)
            loss = ((lse - np.where(is_c, new, target[None, :])) * keep).sum() / keep.sum()
            if loss < best[0]:
                best = (float(loss), float(scale), float(bias))
    return {"scale": best[1], "bias": best[2], "shots": shots,
            "fit_on": f"{len(classes)} of the model's classes taught back from {shots} drawings each"}
