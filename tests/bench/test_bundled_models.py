"""The bundled models in models/: they load with their metadata, their cards match it, and they reach their
stated test accuracy on a real sample of the standard test split."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
MODELS = REPO / "models"

# id -> (data folder under ../shared/datasets, number of classes, input side, words the attribution must name)
BUNDLED = {
    "doodles": ("quickdraw/numpy_bitmap", 18, 28, ("Google", "CC BY 4.0")),
    "digits": ("mnist", 10, 28, ("LeCun", "Cortes")),
    "hanzi-numerals": ("chinese-mnist", 15, 64, ("Newcastle University", "Gabriel Preda")),
}
PER_CLASS = 25  # test samples per class: the first of each class in file order, so the sample never changes


def _meta(model_id: str) -> dict:
    from inkrec.runtime.onnx_model import read_metadata

    path = MODELS / f"{model_id}.onnx"
    assert path.is_file(), f"{path} is missing: run `bash scripts/build-models.sh`"
    return read_metadata(path)


@pytest.mark.parametrize("model_id", sorted(BUNDLED))
def test_metadata_and_card(model_id: str) -> None:
    _, n_classes, size, names = BUNDLED[model_id]
    meta = _meta(model_id)
    assert meta["id"] == model_id
    assert len(meta["labels"]) == n_classes and len(set(meta["labels"])) == n_classes
    assert meta["input"]["kind"] == "bitmap" and meta["input"]["size"] == size
    assert meta["preprocessing"], "the ink preprocessing must travel inside the model"
    for name in names:
        assert name in meta["attribution"] + " " + meta["license"]
    test = meta["metrics"]["test"]
    assert test["measured_by"] == "inkrec eval" and test["n"] > 0
    assert 0.5 < test["top1"] <= test["top3"] <= test["top5"] <= 1.0

    card = (MODELS / f"{model_id}.md").read_text(encoding="utf-8")
    assert f"{100 * test['top1']:.2f}%" in card, "the card's top-1 must be the figure stored in the model"
    assert f"{test['n']:,} samples" in card
    for name in names:
        assert name in card
    index = (MODELS / "README.md").read_text(encoding="utf-8")
    assert f"[`{model_id}`]({model_id}.md)" in index and f"{100 * test['top1']:.2f}%" in index

    size_mb = (MODELS / f"{model_id}.onnx").stat().st_size / 2**20
    assert size_mb < 8, f"{model_id}.onnx is {size_mb:.1f} MiB; bundled models must stay small"


@pytest.mark.parametrize("model_id", sorted(BUNDLED))
def test_reaches_stated_accuracy_on_real_sample(model_id: str, datasets: Path) -> None:
    """Served the way the server serves it (onnxruntime on the file), the model scores on real test drawings
    what its card says, within the sampling error of a sample this size."""
    from inkrec.data.dataset import open_dataset
    from inkrec.evaluate.metrics import top_k_accuracy
    from inkrec.evaluate.predict import load_model, predict_dataset

    folder, n_classes, _, _ = BUNDLED[model_id]
    meta = _meta(model_id)
    sample = open_dataset(datasets / folder, split="test", max_per_class=PER_CLASS, progress=False)
    preds = predict_dataset(load_model(MODELS / f"{model_id}.onnx"), sample, progress=False)
    assert len(preds.y_true) == n_classes * PER_CLASS
    got = top_k_accuracy(preds.y_true, preds.probs, 1)
    stated = meta["metrics"]["test"]["top1"]
    # four standard errors of a binomial proportion, plus a point: a wrong preprocessing or label order
    # costs tens of points and fails this; an honest model on a different sample does not.
    slack = 4 * math.sqrt(max(stated * (1 - stated), 0.01) / len(preds.y_true)) + 0.01
    assert got >= stated - slack, (
        f"{model_id}: {got:.4f} on {len(preds.y_true)} test drawings, card says {stated:.4f}"
    )


def test_card_figures_are_those_of_the_eval_json(tmp_path: Path) -> None:
    """scripts/model_card.py takes the eval JSON's figures as they are, and refuses a non-test split."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("model_card", REPO / "scripts" / "model_card.py")
    mc = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mc)
    result = {"top1": 0.91234, "top3": 0.97, "top5": 0.99, "map3": 0.94, "n": 1234, "split": "test"}
    scores = mc.test_scores(result)
    assert scores["top1"] == 0.91234 and scores["n"] == 1234 and scores["measured_by"] == "inkrec eval"
    with pytest.raises(SystemExit, match="test split"):
        mc.test_scores({**result, "split": "all"})
    meta = _meta("digits")
    meta["metrics"] = {**meta["metrics"], "test": scores}
    text = mc.card(meta, MODELS / "digits.onnx", params=123_456)
    assert "91.23%" in text and "1,234 samples" in text and "123,456 parameters" in text
    assert re.search(r"LeCun", text)


def test_onnx_runs_on_a_real_digit(datasets: Path) -> None:
    """One real t10k digit through onnxruntime gives a confident, right answer (labels in the right order)."""
    from inkrec.data.formats.idx import load_idx
    from inkrec.evaluate.predict import load_model

    model = load_model(MODELS / "digits.onnx")
    images = load_idx(datasets / "mnist" / "t10k-images-idx3-ubyte.gz")[:50]
    labels = load_idx(datasets / "mnist" / "t10k-labels-idx1-ubyte.gz")[:50]
    probs = model.predict(np.asarray(images, dtype=np.float32)[:, None] / 255.0)
    guesses = [model.classes[i] for i in probs.argmax(1)]
    right = sum(g == str(int(y)) for g, y in zip(guesses, labels))
    assert right >= 47, f"{right}/50 right: {json.dumps(guesses)}"
