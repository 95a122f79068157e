"""Give an exported model its embedding output, its open-set rule and its teaching calibration.

`export_run` calls this on every new export with the run's own data; `inkrec export MODEL.onnx -o NEW.onnx`
calls it on a file exported before these existed (the graph is edited, the weights untouched), with the data
given on the command line. Without data a file still gains the embedding (teachable, servable as before), but
no open-set rule: a threshold guessed without drawings of the model's classes would be a lie.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from inkrec.data.dataset import open_dataset
from inkrec.data.splits import shown_categories
from inkrec.errors import ConfigError
from inkrec.export.calibrate import (
    KNOWN_ACCEPT,
    SHRINKAGE,
    fit_gaussian_head,
    fit_gaussian_teach,
    fit_open_set,
    fit_teach,
)
from inkrec.export.graph import add_embedding, set_head
from inkrec.export.model_file import read_model_metadata, write_model
from inkrec.preprocess.batch import dataset_batch
from inkrec.runtime.onnx_model import OnnxModel

__all__ = ["HEADS", "equip", "model_outputs", "known_drawings", "outlier_drawings"]

HEADS = ("trained", "gaussian")  # what `equip` may leave as the model's classifier


def model_outputs(model: OnnxModel, dataset, indices: np.ndarray, batch: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """(logits, embedding) of the model for the data set's samples at `indices`."""
    logits, embs = [], []
    for start in range(0, len(indices), batch):
        x = dataset_batch(dataset, indices[start : start + batch], model.spec)
        z, e = model.outputs(*x) if isinstance(x, tuple) else model.outputs(x)
        logits.append(z)
        embs.append(e)
    return np.concatenate(logits), np.concatenate(embs)


def _per_class(labels: np.ndarray, n: int, *, parity: int | None = None) -> np.ndarray:
    """The first `n` rows of each class (file order), every other row when `parity` is 0 or 1."""
    out = []
    for c in np.unique(labels):
        rows = np.flatnonzero(labels == c)
        if parity is not None:
            rows = rows[parity::2]
        out.append(rows[:n])
    return np.sort(np.concatenate(out)) if out else np.zeros(0, dtype=np.int64)


MAX_CLASSES = 500  # a vocabulary of thousands of characters is calibrated on a seeded sample of its classes


def known_drawings(model: OnnxModel, data: str | Path, *, per_class: int, split: str, parity: int | None = None):
    """(logits, embedding, labels) of drawings of the model's own classes in `data` (those it has; a seeded
    sample of `MAX_CLASSES` of them for a large vocabulary)."""
    whole = open_dataset(data, split="all", progress=False)
    shared = [c for c in model.labels if c in set(whole.classes)]
    if not shared:
        raise ConfigError(f"{data} holds none of the model's classes")
    if len(shared) > MAX_CLASSES:
        pick = np.random.default_rng(0).choice(len(shared), MAX_CLASSES, replace=False)
        shared = [shared[i] for i in sorted(pick)]
    ds = open_dataset(data, split=split, classes=shared, progress=False)
    rows = _per_class(np.asarray(ds.labels), per_class, parity=parity)
    logits, emb = model_outputs(model, ds, rows)
    index = {c: i for i, c in enumerate(model.labels)}
    labels = np.array([index[ds.classes[int(y)]] for y in np.asarray(ds.labels)[rows]], dtype=np.int64)
    return logits, emb, labels


def outlier_drawings(model: OnnxModel, data: str | Path, *, per_class: int, classes: list[str] | None = None,
                     split: str = "train"):
    """(logits, embedding, category of each drawing (an index into the last), categories) of drawings of
    categories the model does not have: `classes`, or by
    default every other one of them in sorted order (`shown_categories`: the same half a model may have
    learnt as auxiliary classes), so that the rest stay unseen for measuring the rule."""
    whole = open_dataset(data, split="all", progress=False)
    labels = set(model.labels)
    if classes is None:
        classes = shown_categories(whole.classes, model.labels)
    others = [c for c in classes if c not in labels]
    if not others:
        raise ConfigError(f"{data} holds no category the model lacks: nothing to expose it to")
    if len(others) > MAX_CLASSES:
        pick = np.random.default_rng(0).choice(len(others), MAX_CLASSES, replace=False)
        others = [others[i] for i in sorted(pick)]
    ds = open_dataset(data, split=split, classes=others, progress=False)
    rows = _per_class(np.asarray(ds.labels), per_class)
    return (*model_outputs(model, ds, rows), np.asarray(ds.labels)[rows], others)


def _fit_and_heldout(model: OnnxModel, data: str | Path, fit_per_class: int = 200, heldout_per_class: int = 100):
    """(logits, embedding, labels) of training drawings to fit on and of every other test drawing (parity 0;
    the rest stay unseen for `inkrec eval`) for thresholds."""
    cap = max(4, 20000 // min(MAX_CLASSES, max(1, len(model.labels))))
    fit = known_drawings(model, data, per_class=min(fit_per_class, cap), split="train")
    held = known_drawings(model, data, per_class=min(heldout_per_class, cap), split="test", parity=0)
    return fit, held


def calibrate(model: OnnxModel, data: str | Path, *, outliers: str | Path | None = None,
              outlier_classes: list[str] | None = None, known_accept: float = KNOWN_ACCEPT,
              precision: np.ndarray | None = None) -> dict:
    """{"open_set": ..., "teach": ...} for `model` from its own data set (and other categories' drawings);
    `precision` is the Gaussian head's, for a model that has one.

    The scorer and the teaching calibration are fit on training drawings; the threshold on held-out ones.
    """
    fit, held = _fit_and_heldout(model, data)
    out = used = None
    if outliers is not None:
        *out, used = outlier_drawings(model, outliers, per_class=20, classes=outlier_classes)
    rule = fit_open_set(fit[:2], held[:2], None if out is None else tuple(out[:2]), known_accept=known_accept,
                        note=f"threshold on every other test drawing of {Path(data).name}")
    if used:
        rule["outlier_classes"] = used
    others = None if out is None else _not_learnt(model, *out, used)
    if precision is not None:
        return {"open_set": rule, "teach": fit_gaussian_teach(fit, precision, others)}
    return {"open_set": rule, "teach": teach_calibration(model, fit, others)}


def _not_learnt(model: OnnxModel, logits, emb, cats, used: list[str]) -> tuple:
    """The outlier drawings of categories the model did not learn from as auxiliary classes (what teaching
    is calibrated on: a new category is as unknown to it as those), or all of them when none is left (a
    model that learnt from every shown category)."""
    learnt = set((model.meta.get("auxiliary") or {}).get("classes") or [])
    keep = np.array([used[int(c)] not in learnt for c in cats], dtype=bool)
    if len({int(c) for c in np.asarray(cats)[keep]}) < 2:
        return logits, emb, cats
    return logits[keep], emb[keep], np.asarray(cats)[keep]


def teach_calibration(model: OnnxModel, fit: tuple, others: list | None) -> dict:
    """The `teach` metadata. A model whose classes score `scale * cos(embedding, weight)` (a cosine
    classifier: `classifier` in its metadata) scores a taught class the same way, its prototype in the part
    of a class weight: one scale for all, no bias. Any other model's logits are on a scale of their own, so
    the two numbers are fit (`fit_teach`: by teaching it the outlier categories when there are some).
    A model with a Gaussian head is calibrated by `fit_gaussian_teach` instead (see `equip`)."""
    head = model.meta.get("classifier") or {}
    if head.get("head") == "cosine":
        return {"scale": float(head["scale"]), "bias": 0.0,
                "fit_on": "the model's cosine classifier: a prototype scores as a class weight does"}
    return fit_teach(fit[0], fit[1], fit[2], others=None if others is None else tuple(others))


def equip(src: str | Path, out: str | Path, *, data: str | Path | None = None, outliers: str | Path | None = None,
          outlier_classes: list[str] | None = None, known_accept: float = KNOWN_ACCEPT,
          head: str = "trained") -> dict:
    """Write `src` to `out` with the embedding output and, given `data`, the open-set rule and teaching
    calibration in its metadata; `head="gaussian"` also replaces the trained classifier by a Gaussian one
    fit on the data's training drawings (`fit_gaussian_head`). Returns what was added."""
    if head not in HEADS:
        raise ConfigError(f"unknown head {head!r}: one of {', '.join(HEADS)}")
    graph, meta = read_model_metadata(src)
    add_embedding(graph, str(src))
    added = {"embedding": True}
    if data is None:
        if head != "trained":
            raise ConfigError("a Gaussian head is fit on the model's own drawings: give --data")
        write_model(graph, out, meta)
        return added
    precision = None
    with tempfile.TemporaryDirectory() as tmp:
        staged = Path(tmp) / "model.onnx"
        write_model(graph, staged, meta)
        if head == "gaussian":
            model = OnnxModel(staged)
            if len(model.labels) > MAX_CLASSES:
                raise ConfigError(f"a Gaussian head is fit on drawings of every class; {len(model.labels):,} classes "
                                  f"is more than the {MAX_CLASSES} calibration samples")
            fit, held = _fit_and_heldout(model, data)
            g = fit_gaussian_head(fit[1], fit[2], len(model.labels), (held[1], held[2]))
            set_head(graph, g["weight"], g["bias"], where=str(src))
            precision = g["precision"]
            meta = dict(meta, classifier={
                "head": "gaussian", "temperature": g["temperature"], "shrinkage": SHRINKAGE,
                "fit_on": f"{len(fit[2])} training drawings of {Path(data).name}; temperature on {len(held[2])} "
                          f"held-out drawings"})
            write_model(graph, staged, meta)
            added["classifier"] = meta["classifier"]
        extra = calibrate(OnnxModel(staged), data, outliers=outliers, outlier_classes=outlier_classes,
                          known_accept=known_accept, precision=precision)
    meta = dict(meta, **extra)
    write_model(graph, out, meta)
    added.update(extra)
    return added


