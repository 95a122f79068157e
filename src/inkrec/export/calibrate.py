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
model's own logits. The two numbers are fit by teaching the model categories it lacks (the outlier
categories, when the export has them): each in turn gets a prototype from a few of its drawings, its other
drawings compete by that formula against all the model's real logits, and the model's own drawings against
it; `scale` and `bias` minimise the cross-entropy, a taught class counting as much as one of the model's.
Without other categories, the model's own classes are taught back instead (each against all the others'
logits), which flatters the prototypes: a class's drawings cluster where the model was trained to put them.
This is the honest trade: a higher bias wins more of the new class's drawings and steals more of the old
classes' ones.
"""

from __future__ import annotations

import numpy as np

from inkrec.errors import ConfigError

__all__ = ["TEACH_SHOTS", "fit_gaussian_head", "fit_gaussian_teach", "fit_linear_scorer", "fit_open_set", "fit_teach",
           "gaussian_class", "log_sum_exp", "taught_bias", "threshold_for"]

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


def _grid_fit(new: np.ndarray, base_lse: np.ndarray, target: np.ndarray, is_c: np.ndarray,
              weight: np.ndarray, *, scales=np.arange(2.0, 40.0, 1.0),
              biases=np.arange(-30.0, 10.0, 0.5)) -> tuple[float, float, float]:
    """(loss, scale, bias) from the grids, minimising the weighted cross-entropy of simulated taught classes.

    Row k of every array is one simulated taught class; `new` its score before scale and bias for every
    drawing (a cosine, or a Gaussian head's row), `base_lse` the log-sum-exp of the logits it competes with,
    `target` each drawing's own logit (when it is not the taught class's), `is_c` whether the drawing is the
    taught class's, `weight` how much each drawing counts."""
    best = (np.inf, 10.0, 0.0)
    total = weight.sum()
    for scale in scales:
        for bias in biases:
            score = scale * new + bias
            lse = np.logaddexp(base_lse, score)
            loss = ((lse - np.where(is_c, score, target)) * weight).sum() / total
            if loss < best[0]:
                best = (float(loss), float(scale), float(bias))
    return best


def fit_teach(logits: np.ndarray, emb: np.ndarray, labels: np.ndarray, *, shots: int = 10,
              max_classes: int = 64, max_rows: int = 8000, seed: int = 0,
              others: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> dict:
    """The `teach` metadata ({"scale", "bias"}) from (logits, embedding, labels) of the model's own drawings,
    and (`others`: (logits, embedding, category) of drawings of categories it lacks) the categories to teach
    it.

    With `others`, each of those categories in turn is taught from `shots` drawings and its other drawings
    compete with all the model's logits, while the model's own drawings compete with it: what teaching
    really is. A class of the model's own, taught back, is kinder to its prototype than anything taught
    later (its drawings cluster where the model was trained to put them), and would make the bias too shy.
    Each simulated class counts as much as one of the model's (its drawings weigh 1/len(model's classes)
    of all the model's drawings), so the fit trades one taught class against the model's own honestly."""
    rng = np.random.default_rng(seed)
    if len(labels) > max_rows:  # a large vocabulary: (rows x classes) logits must stay small
        keep_rows = np.sort(rng.choice(len(labels), max_rows, replace=False))
        logits, emb, labels = logits[keep_rows], emb[keep_rows], np.asarray(labels)[keep_rows]
    logits = np.asarray(logits, dtype=np.float64)
    emb = np.asarray(emb, dtype=np.float64)
    labels = np.asarray(labels)
    lse_all = log_sum_exp(logits)
    rows = np.arange(len(labels))
    target = logits[rows, labels]
    if others is not None:
        fit = _fit_others(emb, lse_all, target, labels, others, shots=shots, max_classes=max_classes, rng=rng)
        if fit is not None:
            return fit
    classes = [c for c in np.unique(labels) if (labels == c).sum() > shots]
    if len(classes) < 2:
        raise ConfigError(f"fitting how taught classes score needs >= 2 classes with more than {shots} drawings")
    if len(classes) > max_classes:
        classes = sorted(rng.choice(classes, max_classes, replace=False).tolist())
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
    _, scale, bias = _grid_fit(cos, lse_wo, target[None, :], is_c, keep.astype(np.float64))
    return {"scale": scale, "bias": bias, "shots": shots,
            "fit_on": f"{len(classes)} of the model's classes taught back from {shots} drawings each"}


def _fit_others(emb, lse_all, target, labels, others, *, shots: int, max_classes: int, rng) -> dict | None:
    """`fit_teach` by teaching the model categories it lacks (None when too few have enough drawings)."""
    o_logits, o_emb, o_lab = (np.asarray(a) for a in others)
    o_lse = log_sum_exp(o_logits)
    o_emb = o_emb.astype(np.float64)
    cats = _teachable(o_lab, shots, max_classes, rng)
    if not cats:
        return None

    def prototype(drawings: np.ndarray) -> tuple[np.ndarray, float]:
        proto = drawings.mean(0)
        return proto / max(np.linalg.norm(proto), 1e-12), 0.0

    sim = _teach_others(emb, lse_all, target, len(np.unique(labels)), (o_lse, o_emb, o_lab), cats, shots, rng,
                        prototype)
    _, scale, bias = _grid_fit(*sim)
    return {"scale": scale, "bias": bias, "shots": shots,
            "fit_on": f"{len(cats)} categories the model lacks, each taught from {shots} drawings"}


def _teachable(categories: np.ndarray, shots: int, max_classes: int, rng: np.random.Generator) -> list:
    """The categories with more than `shots` drawings to teach (`max_classes` of them drawn by `rng` when
    there are more), or [] when fewer than two have."""
    cats = [c for c in np.unique(categories) if (categories == c).sum() > shots]
    if len(cats) < 2:
        return []
    if len(cats) > max_classes:
        cats = sorted(rng.choice(cats, max_classes, replace=False).tolist())
    return cats


def _teach_others(emb, lse_own, target, n_own: int, others: tuple, cats, shots: int, rng, row_of,
                  draws: int = 1) -> tuple[np.ndarray, ...]:
    """`_grid_fit`'s arrays for each of `cats` taught `draws` times from `shots` of its drawings, `row_of`
    turning those embeddings into a (row, bias): the category's other drawings against all the model's
    logits, and the model's own drawings against it; a taught class weighs as much as one of the model's.
    `others` is (log-sum-exp of the logits, embedding, category) of the categories' drawings."""
    o_lse, o_emb, o_lab = others
    parts = []  # per simulated category: the model's own drawings, then the category's other drawings
    for c in cats:
        members = np.flatnonzero(o_lab == c)
        for _ in range(draws):
            shot = rng.choice(members, shots, replace=False)
            queries = np.setdiff1d(members, shot)
            row, b = row_of(o_emb[shot])
            parts.append((
                np.r_[emb @ row, o_emb[queries] @ row] + b,
                np.r_[lse_own, o_lse[queries]],
                np.r_[target, np.zeros(len(queries))],
                np.r_[np.zeros(len(target), bool), np.ones(len(queries), bool)],
                np.r_[np.full(len(target), 1 / draws), np.full(len(queries), len(target) / n_own / len(queries) / draws)],
            ))
    return tuple(np.concatenate(a) for a in zip(*parts, strict=True))


# ---------------------------------------------------------------- the Gaussian head

SHRINKAGE = 0.1  # of the pooled covariance towards its mean variance: 64 dimensions from a few thousand drawings


def fit_gaussian_head(emb: np.ndarray, labels: np.ndarray, n_classes: int, heldout: tuple[np.ndarray, np.ndarray],
                      *, shrinkage: float = SHRINKAGE) -> dict:
    """A Gaussian classifier on the embedding: each class a mean, one covariance shared by all (pooled within
    classes, shrunk), logits `t * (e @ P @ mu_c - mu_c @ P @ mu_c / 2)`, with `P` the precision and the
    temperature `t` chosen on held-out drawings (their cross-entropy).

    Why it replaces a trained head when a model is equipped with its data: a class taught later is a mean
    of a few embeddings, and under this head it is exactly what the model's own classes are, so teaching
    adds a class of the same kind instead of a prototype that competes with trained weights on another
    scale. Measured on doodles, it keeps the model's own accuracy and loses far less of it to taught classes.
    Returns {"weight" (C x D), "bias" (C), "precision" (D x D, times t), "temperature"}."""
    e = np.asarray(emb, dtype=np.float64)
    y = np.asarray(labels)
    missing = sorted(set(range(n_classes)) - set(np.unique(y).tolist()))
    if missing:
        raise ConfigError(f"a Gaussian head needs drawings of every class; none of class(es) {missing[:10]}")
    means = np.stack([e[y == c].mean(0) for c in range(n_classes)])
    resid = e - means[y]
    cov = resid.T @ resid / max(len(e) - n_classes, 1)
    dim = len(cov)
    cov = (1 - shrinkage) * cov + shrinkage * np.trace(cov) / dim * np.eye(dim)
    precision = np.linalg.inv(cov)
    precision = (precision + precision.T) / 2
    weight = means @ precision
    bias = -0.5 * (weight * means).sum(1)
    he, hy = np.asarray(heldout[0], dtype=np.float64), np.asarray(heldout[1])
    z = he @ weight.T + bias
    rows = np.arange(len(hy))

    def nll(t: float) -> float:
        return float(np.mean(log_sum_exp(t * z) - t * z[rows, hy]))

    temperature = min(np.geomspace(1e-3, 10.0, 200), key=nll)
    t = float(temperature)
    return {"weight": weight * t, "bias": bias * t, "precision": precision * t, "temperature": t}


def _compact(matrix: np.ndarray) -> list[list[float]]:
    """The matrix as JSON-ready rows, each number to 6 significant digits: a 128-wide precision matrix is
    16,384 numbers in the model's metadata, which the page reads too, and the scores it gives move by far
    less than the int8 model's own rounding."""
    return [[float(f"{v:.6g}") for v in row] for row in np.asarray(matrix, dtype=np.float64)]


def gaussian_class(emb: np.ndarray, precision: np.ndarray, bias: float) -> tuple[np.ndarray, float]:
    """(weight row, bias) of a class taught from these embeddings under a Gaussian head."""
    mean = np.asarray(emb, dtype=np.float64).mean(0)
    row = np.asarray(precision, dtype=np.float64) @ mean
    return row, float(-0.5 * row @ mean + bias)


TEACH_SHOTS = (1, 2, 3, 5, 10)  # drawings a taught class may have, each with a bias of its own


def fit_gaussian_teach(fit: tuple[np.ndarray, np.ndarray, np.ndarray], precision: np.ndarray,
                       others: tuple[np.ndarray, np.ndarray, np.ndarray] | None, *,
                       shots: tuple[int, ...] = TEACH_SHOTS, draws: int = 3, max_classes: int = 64,
                       seed: int = 0) -> dict:
    """The `teach` metadata of a model with a Gaussian head: a taught class is a mean like the model's own,
    and a bias says how much less tight it is than they are (the model was trained to pull its own classes
    together, not the new one), one for each number of drawings in `shots` (`bias_by_shots`; the mean of
    fewer drawings strays further, and asks for more), `bias` the one for the most.

    Each bias is fit as `fit_teach` fits its two numbers: each category the model lacks (`others`) taught in
    turn from that many drawings (`draws` times), its other drawings against all the model's logits and the
    model's own drawings against it, a taught class counting as much as one of the model's. Without other
    categories the bias is 0."""
    out = {"kind": "gaussian", "precision": _compact(precision), "bias": 0.0}
    logits, emb, labels = (np.asarray(a) for a in fit)
    most = max(shots)
    rng = np.random.default_rng(seed)
    cats = [] if others is None else _teachable(np.asarray(others[2]), most, max_classes, rng)
    if not cats:
        out["fit_on"] = "no categories the model lacks: a taught class scores as one of the model's own"
        return out
    o_logits, o_emb, o_lab = (np.asarray(a) for a in others)
    z = logits.astype(np.float64)
    own = (log_sum_exp(z), z[np.arange(len(labels)), labels], len(np.unique(labels)))
    taught = (log_sum_exp(o_logits), o_emb, o_lab)

    def fit_bias(n: int) -> float:
        sim = _teach_others(emb, *own, taught, cats, n, rng, lambda drawings: gaussian_class(drawings, precision, 0.0),
                            draws=draws)
        return _grid_fit(*sim, scales=(1.0,), biases=np.arange(-10.0, 30.0, 0.125))[2]

    out["bias_by_shots"] = {str(n): fit_bias(n) for n in sorted(shots)}
    out["bias"] = out["bias_by_shots"][str(most)]
    out["fit_on"] = (f"{len(cats)} categories the model lacks, each taught from "
                     f"{', '.join(map(str, sorted(shots)))} drawings ({draws} draws each)")
    return out


def taught_bias(teach: dict, drawings: int) -> float:
    """The bias of a class taught from this many drawings: `bias_by_shots`' entry for the most drawings
    not above it (its smallest for fewer), else `bias`."""
    table = teach.get("bias_by_shots") or {}
    if not table:
        return float(teach["bias"])
    keys = sorted(int(k) for k in table)
    fit = [k for k in keys if k <= drawings] or keys[:1]
    return float(table[str(fit[-1])])
