"""`inkrec tune`: real (tiny) training trials, a SQLite study that resumes, the best config written out."""

from __future__ import annotations

import json

import optuna
import pytest
from typer.testing import CliRunner

from inkrec.cli import app
from inkrec.train.tune import model_knobs, model_kwargs

runner = CliRunner()


def _tune(bitmaps, tmp_path, trials):
    return runner.invoke(
        app,
        [
            "tune",
            "--data",
            str(bitmaps),
            "--classes",
            "apple,fish",
            "--model",
            "seed-cnn",
            "--trials",
            str(trials),
            "--study-db",
            str(tmp_path / "tune.db"),
            "--epochs",
            "2",
            "--out",
            str(tmp_path / "out"),
            "--max-per-class",
            "80",
            "--batch-size",
            "32",
            "--threads",
            "1",
            "--quiet",
        ],
    )


def _study(tmp_path):
    return optuna.load_study(study_name="seed-cnn-numpy_bitmap", storage=f"sqlite:///{tmp_path / 'tune.db'}")


@pytest.mark.slow
def test_tune_resumes_from_sqlite(bitmaps, tmp_path):
    assert _tune(bitmaps, tmp_path, 0).exit_code == 2  # --trials must be at least 1

    res = _tune(bitmaps, tmp_path, 2)
    assert res.exit_code == 0, res.output
    study = _study(tmp_path)
    first = [(t.number, t.params) for t in study.trials]
    assert len(first) == 2 and all(t.state.is_finished() for t in study.trials)
    assert all(len(t.intermediate_values) >= 1 for t in study.trials)  # per-epoch reports for the pruner
    best = json.loads((tmp_path / "out" / "best.json").read_text())
    assert best["params"] == study.best_params
    assert best["config"]["lr"] == study.best_params["lr"] and best["config"]["model"] == "seed-cnn"
    assert best["trials"]["complete"] + best["trials"]["pruned"] == 2
    assert (tmp_path / "out" / "study.png").stat().st_size > 1000

    # The same command again with --trials 3 runs only the missing trial and keeps the first two.
    res = _tune(bitmaps, tmp_path, 3)
    assert res.exit_code == 0, res.output
    study = _study(tmp_path)
    assert [(t.number, t.params) for t in study.trials[:2]] == first
    assert len(study.trials) == 3
    assert study.trials[2].params != study.trials[0].params  # a resumed sampler does not replay trial 0
    assert sorted(p.name for p in (tmp_path / "out" / "trials").iterdir()) == [
        "trial-0000",
        "trial-0001",
        "trial-0002",
    ]
    # Asking for what is already there runs nothing.
    res = _tune(bitmaps, tmp_path, 3)
    assert res.exit_code == 0
    assert len(_study(tmp_path).trials) == 3


def test_search_space_follows_the_model():
    assert model_knobs("seed-cnn") == set()
    assert model_knobs("inknet") == {"width", "dropout"}
    kw = model_kwargs("inknet", {"width": 0.5, "dropout": 0.3, "lr": 1e-3})
    assert kw["dropout"] == 0.3
    from inkrec.models import architecture, create_model

    assert kw["width"] == round(architecture("inknet").defaults["width"] * 0.5)
    small = sum(p.numel() for p in create_model("inknet", 10, **kw).parameters())
    full = sum(p.numel() for p in create_model("inknet", 10).parameters())
    assert small < full / 2


def test_unknown_model_is_refused(bitmaps, tmp_path):
    res = runner.invoke(
        app,
        [
            "tune",
            "--data",
            str(bitmaps),
            "--model",
            "no-such-net",
            "--trials",
            "1",
            "--study-db",
            str(tmp_path / "t.db"),
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert res.exit_code == 2 and "no-such-net" in res.output
    assert not (tmp_path / "o" / "best.json").exists()


def test_pruned_trial_stops_training_after_the_epoch(bitmaps, tmp_path):
    """A pruner's verdict reaches the training loop through its epoch callback and ends the run there."""
    from inkrec.errors import ConfigError
    from inkrec.train.tune import tune

    with pytest.raises(ConfigError, match="no trial completed"):
        tune(
            data=bitmaps,
            model="seed-cnn",
            trials=1,
            study_db=tmp_path / "p.db",
            out=tmp_path / "out",
            epochs=3,
            classes=["apple", "fish"],
            max_per_class=60,
            batch_size=32,
            threads=1,
            progress=False,
            # Nothing reaches 101%: prune at the first report.
            pruner=optuna.pruners.ThresholdPruner(lower=1.01),
        )
    study = optuna.load_study(study_name="seed-cnn-numpy_bitmap", storage=f"sqlite:///{tmp_path / 'p.db'}")
    (trial,) = study.trials
    assert trial.state == optuna.trial.TrialState.PRUNED
    assert list(trial.intermediate_values) == [1]
    import torch

    last = torch.load(tmp_path / "out" / "trials" / "trial-0000" / "last.pt", weights_only=True)
    assert last["epoch"] == 1  # epochs 2 and 3 never ran


def test_best_json_trains_with_inkrec_train_config(bitmaps, tmp_path):
    """The round trip: tune two tiny trials for real, then `inkrec train --config best.json` trains the winner."""
    res = _tune(bitmaps, tmp_path, 2)
    assert res.exit_code == 0, res.output
    best_path = tmp_path / "out" / "best.json"
    assert f"inkrec train --config {best_path}" in res.output
    best = json.loads(best_path.read_text())

    run = tmp_path / "winner"
    res = runner.invoke(app, ["train", "--config", str(best_path), "--out", str(run), "--epochs", "1", "--no-track",
                              "--quiet"])
    assert res.exit_code == 0, res.output
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["lr"] == best["params"]["lr"] and cfg["augment"] == best["params"]["augment"]
    assert cfg["model"] == "seed-cnn" and cfg["classes"] == ["apple", "fish"]
    assert cfg["max_per_class"] == 80 and cfg["batch_size"] == 32 and cfg["threads"] == 1
    assert cfg["data"] == str(bitmaps) and cfg["epochs"] == 1  # the command line overrides the file
    assert cfg["evaluate_test"] is True  # the winner is a normal run: scored on the test split
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["test"]["n"] > 0


def test_unusable_data_is_one_clear_error_before_any_trial(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    empty = tmp_path / "empty"
    empty.mkdir()
    r = subprocess.run([str(Path(sys.executable).parent / "inkrec"), "tune", "--data", str(empty), "--trials", "1",
                        "--study-db", str(tmp_path / "t.db"), "--out", str(tmp_path / "o"), "--quiet"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 2, r.stderr
    assert r.stderr.startswith("error: ") and "holds no data format" in r.stderr
    assert "Traceback" not in r.stderr and "Trial 0 failed" not in r.stderr
    assert not (tmp_path / "o" / "best.json").exists()
