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


def test_known_only_scores_the_labels_the_model_knows_and_counts_the_rest(datasets: Path, tmp_path: Path):
    from PIL import Image

    from inkrec.errors import ConfigError
    from inkrec.evaluate.score import score_model

    digits = open_dataset(datasets / "mnist", split="test", classes=["3", "7"], max_per_class=5, progress=False)
    for i in range(len(digits)):
        img, label = digits[i]
        for name in (digits.classes[label], "x" if i % 2 else digits.classes[label]):
            (tmp_path / name).mkdir(exist_ok=True)
            Image.fromarray(np.asarray(img, dtype=np.uint8)).save(tmp_path / name / f"{i}.png")
    model = REPO / "models" / "digits.onnx"
    try:
        score_model(model, tmp_path, split="all", progress=False)
        raise AssertionError("a foreign label must be refused without --known-only")
    except ConfigError as e:
        assert "'x'" in str(e) and "--known-only" in str(e)
    result = score_model(model, tmp_path, split="all", known_only=True, progress=False)
    assert result["n"] == 10 and result["left_out"] == {"classes": 1, "samples": 5, "labels": ["x"]}
    assert result["top1"] > 0.7
