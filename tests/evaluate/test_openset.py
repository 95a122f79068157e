"""`inkrec eval --unknown`: the bundled doodles model against Quick, Draw! categories it never saw."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score
from typer.testing import CliRunner

from inkrec.cli import app
from inkrec.errors import ConfigError
from inkrec.evaluate.metrics import auroc

REPO = Path(__file__).resolve().parents[2]
runner = CliRunner()


def test_auroc_matches_scikit_learn_with_ties():
    rng = np.random.default_rng(0)
    pos, neg = rng.integers(0, 5, 300).astype(float), rng.integers(-2, 4, 200).astype(float)
    want = roc_auc_score(np.r_[np.ones(300), np.zeros(200)], np.r_[pos, neg])
    assert auroc(pos, neg) == pytest.approx(want, abs=1e-12)
    with pytest.raises(ConfigError):
        auroc(pos, [])


def test_eval_unknown_reports_open_set(quickdraw, tmp_path):
    out = tmp_path / "eval.json"
    res = runner.invoke(app, ["eval", "--model", str(REPO / "models" / "doodles.onnx"), "--data",
                              str(quickdraw / "numpy_bitmap"), "--unknown", str(quickdraw / "simplified"),
                              "--max-per-class", "200", "-q", "--json", str(out)])
    assert res.exit_code == 0, res.output
    o = json.loads(out.read_text())["open_set"]
    assert set(o) >= {"auroc", "threshold", "known_accepted", "accuracy_on_accepted", "unknown_rejected"}
    # the 163 categories the rule was learnt from are left out; 326 - 163 remain, 25 drawings each
    assert o["left_out_as_shown_outliers"] == 163 and o["unknown_categories"] == 163 and o["n_unknown"] == 163 * 25
    assert o["auroc"] >= 0.85
    assert 0.85 <= o["known_accepted"] <= 1 and o["accuracy_on_accepted"] >= o["accuracy_all_known"]
    assert o["unknown_rejected"] > 0.3
    assert "open set" in res.output and "AUROC" in res.output


def test_unknown_data_with_nothing_unknown_is_refused(quickdraw, tmp_path):
    res = runner.invoke(app, ["eval", "--model", str(REPO / "models" / "doodles.onnx"), "--data",
                              str(quickdraw / "numpy_bitmap"), "--unknown", str(quickdraw / "numpy_bitmap"),
                              "--max-per-class", "20", "-q"])
    assert res.exit_code == 2 and "no category" in res.output
