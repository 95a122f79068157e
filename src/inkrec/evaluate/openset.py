"""`inkrec eval --unknown DATA`: how well a model tells its own classes from drawings of anything else.

The known drawings are the ones `inkrec eval` scores; the unknown ones are DATA's categories the model does
not have. Categories the model was shown as outliers when its open-set rule was learnt (its metadata lists
them) are left out: scoring them would measure memory, not the rule. The figures: AUROC of the open-set
score (known = positive), the model's threshold, the share of known drawings it accepts and its top-1 on
them, and the share of unknown drawings it rejects.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from inkrec.data.dataset import open_dataset
from inkrec.errors import ConfigError
from inkrec.evaluate.metrics import auroc
from inkrec.evaluate.predict import LoadedModel, prepare_batch
from inkrec.runtime import metadata as md

KNOWN_ACCEPT = 0.95


def _scores(model: LoadedModel, dataset, indices: np.ndarray, rule: dict | None, batch: int = 512):
    """(open-set scores, logits) for the samples at `indices`."""
    scores, logits = [], []
    for start in range(0, len(indices), batch):
        x = prepare_batch(model, dataset, indices[start : start + batch])
        if model.onnx is not None:
            z, emb = model.onnx.outputs(*x) if isinstance(x, tuple) else model.onnx.outputs(x)
        else:  # a run directory: logits only, so the energy score
            z, emb = model.logits_fn(x), None
        logits.append(z)
        scores.append(md.open_set_score(rule or {"score": "energy"}, z, emb))
    return np.concatenate(scores), np.concatenate(logits)


def open_set_report(model: LoadedModel, known, unknown: str | Path, *, max_per_class: int | None = None) -> dict:
    """The `open_set` entry of `inkrec eval`'s JSON; `known` is the data set being scored."""
    rule = model.onnx.open_set if model.onnx is not None else None
    if rule is not None and rule["score"] in ("linear",) and not model.onnx.has_embedding:
        raise ConfigError("the model's open-set rule needs its 'embedding' output, which the file lacks")
    labels = set(model.classes)
    shown = set((rule or {}).get("outlier_classes") or [])
    if rule and rule.get("score") == "taught" and rule.get("base"):
        shown |= set(rule["base"].get("outlier_classes") or [])
    whole = open_dataset(unknown, split="all", progress=False)
    foreign = [c for c in whole.classes if c not in labels and c not in shown]
    if not foreign:
        raise ConfigError(f"{unknown} holds no category that the model neither has nor was shown as an outlier")
    unk = open_dataset(unknown, split="all", classes=foreign, max_per_class=max_per_class, progress=False)
    known_classes = [c for c in known.classes if c in labels]
    if not known_classes:
        raise ConfigError("the scored data set holds none of the model's classes")
    to_model = {c: i for i, c in enumerate(model.classes)}
    k_rows = np.flatnonzero(np.isin(np.asarray(known.labels), [known.classes.index(c) for c in known_classes]))
    k_scores, k_logits = _scores(model, known, k_rows, rule)
    u_scores, _ = _scores(model, unk, np.arange(len(unk)), rule)
    if rule is not None:
        threshold, how = float(rule["threshold"]), "the model's own (chosen on held-out known drawings)"
    else:
        threshold = float(np.quantile(k_scores, 1 - KNOWN_ACCEPT))
        how = f"none in the model: the energy score, threshold keeping {KNOWN_ACCEPT:.0%} of these known drawings"
    y = np.array([to_model[known.classes[int(i)]] for i in np.asarray(known.labels)[k_rows]])
    accepted = k_scores >= threshold
    right = k_logits.argmax(1) == y
    return {
        "auroc": auroc(k_scores, u_scores),
        "score": (rule or {}).get("score", "energy"),
        "threshold": threshold,
        "threshold_source": how,
        "known_accepted": float(accepted.mean()),
        "accuracy_on_accepted": float(right[accepted].mean()) if accepted.any() else None,
        "accuracy_all_known": float(right.mean()),
        "unknown_rejected": float((u_scores < threshold).mean()),
        "n_known": int(len(k_rows)),
        "n_unknown": int(len(unk)),
        "unknown_data": str(unknown),
        "unknown_categories": len(foreign),
        "left_out_as_shown_outliers": len(shown & set(whole.classes)),
    }
