"""Scoring over the model's whole vocabulary (the default) or among the data set's labels (--restrict)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from inkrec.data.dataset import open_dataset
from inkrec.evaluate.metrics import top_k_accuracy
from inkrec.evaluate.predict import load_model, predict_dataset

REPO = Path(__file__).resolve().parents[2]


def test_restricting_rules_out_the_models_other_classes(datasets: Path):
    model = load_model(REPO / "models" / "digits.onnx")
    data = open_dataset(datasets / "mnist", split="test", classes=["4", "9"], max_per_class=150, progress=False)
    whole = predict_dataset(model, data, progress=False)
    only = whole.restricted()
    assert whole.probs.shape == only.probs.shape == (300, 10)
    allowed = [model.classes.index(c) for c in ("4", "9")]
    others = np.setdiff1d(np.arange(10), allowed)
    assert np.all(only.probs[:, others] == 0)
    assert np.allclose(only.probs.sum(axis=1), 1, atol=1e-5)
    # a chooser between two look-alikes is never worse than one among all ten
    assert top_k_accuracy(only.y_true, only.probs, 1) >= top_k_accuracy(whole.y_true, whole.probs, 1)
    assert np.array_equal(only.probs.argmax(1), np.asarray(allowed)[whole.probs[:, allowed].argmax(1)])
