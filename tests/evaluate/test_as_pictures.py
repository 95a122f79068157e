"""--as-pictures: a collection of photos scored the way the server and the page treat an uploaded picture."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from inkrec.data.dataset import open_dataset
from inkrec.errors import ConfigError
from inkrec.evaluate.predict import load_model, prepare_batch
from inkrec.evaluate.score import score_model

REPO = Path(__file__).resolve().parents[2]


def test_pictures_are_framed_like_uploads(datasets: Path):
    model = load_model(REPO / "models" / "hanzi-numerals.onnx")
    data = open_dataset(datasets / "chinese-mnist", split="test", max_per_class=2, progress=False)
    idx = np.arange(6)
    plain = prepare_batch(model, data, idx)
    framed = prepare_batch(model, data, idx, as_pictures=True)
    assert plain.shape == framed.shape and not np.allclose(plain, framed)
    result = score_model(REPO / "models" / "hanzi-numerals.onnx", datasets / "chinese-mnist", split="test",
                         max_per_class=10, as_pictures=True, progress=False)
    assert result["inputs"].startswith("pictures") and result["n"] == 150 and result["top1"] > 0.6


def test_stroke_data_sets_are_not_pictures(datasets: Path):
    model = load_model(REPO / "models" / "hanzi-numerals.onnx")
    data = open_dataset(datasets / "casia-olhwdb" / "1043-c.pot", split="all", progress=False)
    with pytest.raises(ConfigError, match="pictures"):
        prepare_batch(model, data, np.arange(2), as_pictures=True)
