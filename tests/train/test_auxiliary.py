"""`inkrec train --aux-data`: other categories' drawings learnt as extra classes, cut from the saved model."""

from __future__ import annotations

import pytest

from inkrec.data.dataset import open_dataset
from inkrec.data.splits import shown_categories, teaching_categories
from inkrec.errors import ConfigError
from inkrec.train.config import make_config
from inkrec.train.loop import train
from inkrec.train.runs import load_run

from .conftest import FEW_CLASSES, tiny_config


def aux_config(bitmaps, simplified, out, **extra):
    return make_config(**tiny_config(bitmaps, out, model="inknet", model_kwargs={"width": 8, "head": "cosine"},
                                     epochs=1, val_fraction=0.0, patience=0, aux_data=str(simplified),
                                     verbose=False, **extra))


def test_auxiliary_categories_train_but_the_model_keeps_its_own(bitmaps, simplified, tmp_path):
    result = train(aux_config(bitmaps, simplified, tmp_path / "aux", aux_repeat=2))
    model, meta = load_run(tmp_path / "aux")
    assert meta["classes"] == FEW_CLASSES and model.fc.weight.shape[0] == len(FEW_CLASSES)
    others = open_dataset(simplified, split="all", progress=False).classes
    aux = meta["auxiliary"]
    shown, kept = shown_categories(others, FEW_CLASSES), teaching_categories(others, FEW_CLASSES)
    assert len(shown) == (len(others) - len(set(others) & set(FEW_CLASSES)) + 1) // 2
    # the shown half less every fourth of it, kept unlearnt for calibrating how taught classes score
    assert aux["classes"] == [c for c in shown if c not in kept] and kept == shown[3::4] and kept
    assert not set(aux["classes"]) & set(FEW_CLASSES)
    assert aux["drawings"] == 20 * len(aux["classes"]) and aux["repeat"] == 2  # the training split: 1-20
    # the data set's own drawings plus every auxiliary drawing twice in an epoch (the last short batch dropped)
    assert result.train_samples > 2 * aux["drawings"]
    assert result.test is not None and 0 <= result.test["top1"] <= 1
    # an ordinary run of the three classes: --init takes it with its classifier
    again = train(make_config(**tiny_config(bitmaps, tmp_path / "init", epochs=1, init=str(tmp_path / "aux"),
                                            verbose=False)))
    assert again.classes == FEW_CLASSES
    assert "auxiliary" not in load_run(tmp_path / "init")[1]


def test_auxiliary_data_refusals(bitmaps, simplified, tmp_path):
    with pytest.raises(ConfigError, match="--teacher and --aux-data"):
        train(aux_config(bitmaps, simplified, tmp_path / "t", teacher=[str(tmp_path)]))
    with pytest.raises(ConfigError, match="aux_repeat must be at least 1"):
        aux_config(bitmaps, simplified, tmp_path / "r", aux_repeat=0)
    with pytest.raises(ConfigError, match="needs a bitmap data set that fits in memory"):
        train(aux_config(simplified, simplified, tmp_path / "s", max_per_class=5))
