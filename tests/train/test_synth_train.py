"""Training on the handwriting synthesizer: new samples every epoch, fixed validation, the vocabulary kept."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from inkrec.data.synth import SynthSpec
from inkrec.errors import ConfigError
from inkrec.train.config import make_config
from inkrec.train.data import load_splits
from inkrec.train.loop import train

DATA = "synth:hanzi?chars=一二三十&per_class=64&boost=1,1&fonts=0&val_per_class=10"


def test_a_run_on_synthetic_ink_learns_the_characters(tmp_path):
    out = tmp_path / "run"
    cfg = dict(data=DATA, out=str(out), model="inknet", model_kwargs={"width": 16}, size=32, epochs=5,
               batch_size=32, lr=5e-3, threads=1, track=False, progress=False, verbose=False, seed=0)
    train(cfg)
    best = torch.load(out / "best.pt", weights_only=True)
    assert best["classes"] == list("一二三十")
    assert best["data"]["vocabulary"] == "一二三十" and best["data"]["source"] == "synth"
    assert best["input"]["size"] == 32
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test"]["n"] == 4 and metrics["best"]["val_top1"] > 0.6  # chance is 0.25


def test_training_samples_change_every_epoch_and_validation_does_not():
    cfg = make_config(data=DATA, out="unused", size=32, seed=0, progress=False)

    splits = load_splits(cfg, "bitmap", augmenting=True)
    assert len(splits.train) == 4 * 64 and len(splits.val) == 40 and len(splits.test) == 4
    idx = np.arange(8)
    a = splits.train.inputs(idx, 0.5, np.random.default_rng([0, 1]))[0]
    b = splits.train.inputs(idx, 0.5, np.random.default_rng([0, 2]))[0]
    assert not torch.equal(a, b)
    v1 = splits.val.inputs(np.arange(4), 0.0, np.random.default_rng(1))[0]
    v2 = splits.val.inputs(np.arange(4), 0.0, np.random.default_rng(2))[0]
    assert torch.equal(v1, v2) and not torch.equal(v1, splits.test.inputs(np.arange(4), 0.0, None)[0])
    with pytest.raises(ConfigError, match="bitmap model"):
        load_splits(cfg, "strokes", augmenting=True)
    assert SynthSpec.parse(DATA).class_repeats().tolist() == [64] * 4
