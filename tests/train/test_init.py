"""`inkrec train --init` (transfer learning) and `--freeze`, from the bundled digits model's weights."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import torch

from inkrec.errors import ConfigError, DataFormatError
from inkrec.train.config import make_config
from inkrec.train.init import init_checkpoint
from inkrec.train.loop import train
from inkrec.train.runs import load_run

REPO = Path(__file__).resolve().parents[2]
DIGITS = REPO / "models" / "digits.onnx"


def config(data: Path, out: Path, **extra):
    return make_config(data=str(data), out=str(out), max_per_class=12, size=28, epochs=2, batch_size=32,
                       val_fraction=0.0, patience=0, track=False, progress=False, verbose=False, threads=1, **extra)


def test_fine_tune_from_a_bundled_model(chinese_mnist, tmp_path):
    result = train(config(chinese_mnist, tmp_path / "ft", init=str(DIGITS)))
    model, meta = load_run(tmp_path / "ft")
    base = init_checkpoint(DIGITS)
    assert meta["model"] == base["model"] and meta["model_kwargs"]["width"] == base["model_kwargs"]["width"]
    assert len(meta["classes"]) == 15 and result.test is not None


def test_freeze_trains_the_head_alone(chinese_mnist, tmp_path):
    train(config(chinese_mnist, tmp_path / "frozen", init=str(DIGITS), freeze=True))
    model, _ = load_run(tmp_path / "frozen")
    base = init_checkpoint(DIGITS)["state_dict"]
    mine = model.state_dict()
    for key, value in base.items():
        if key.startswith("fc."):
            continue
        assert torch.equal(mine[key], value), key  # batch-norm statistics included
    assert mine["fc.weight"].shape[0] == 15


def test_bad_init(chinese_mnist, tmp_path):
    lone = tmp_path / "lone.onnx"
    lone.write_bytes(DIGITS.read_bytes())
    with pytest.raises(ConfigError, match="no lone.pt ships beside it"):
        train(config(chinese_mnist, tmp_path / "a", init=str(lone)))
    evil = tmp_path / "evil.pt"

    class Boom:
        def __reduce__(self):
            return (print, ("this must never run",))

    evil.write_bytes(pickle.dumps({"format": "inkrec-run/1", "boom": Boom()}))
    with pytest.raises(DataFormatError, match="not a readable inkrec checkpoint"):
        init_checkpoint(evil)
    with pytest.raises(ConfigError, match="--freeze needs --init"):
        train(config(chinese_mnist, tmp_path / "b", freeze=True))
