"""Training on real data: a few steps, the run directory, load_run, repeatability, strokes, bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from inkrec.errors import ConfigError, InkrecError
from inkrec.train.config import TrainConfig, make_config
from inkrec.train.loop import lr_at, train
from inkrec.train.runs import load_run

from .conftest import FEW_CLASSES, tiny_config

RUN_FILES = {"config.json", "metrics.json", "learning_curve.png", "best.pt", "last.pt"}


def same_weights(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_train_writes_a_complete_run_directory(bitmaps, tmp_path):
    out = tmp_path / "run"
    result = train(tiny_config(bitmaps, out, model="inknet", epochs=3, batch_size=16, augment="light"))
    assert RUN_FILES <= {p.name for p in out.iterdir()}

    metrics = json.loads((out / "metrics.json").read_text())
    assert [h["epoch"] for h in metrics["history"]] == [1, 2, 3]
    for h in metrics["history"]:
        assert {"epoch", "train_loss", "val_loss", "val_top1", "lr", "seconds"} <= h.keys()
        assert h["seconds"] > 0 and np.isfinite(h["train_loss"])
    assert metrics["best"]["epoch"] == result.best_epoch
    # --max-per-class caps training samples only: the whole test split of the three classes is scored
    from inkrec.data.dataset import open_dataset

    assert metrics["test"]["n"] == len(open_dataset(bitmaps, split="test", classes=FEW_CLASSES)) > 3 * 60
    # it learned something: three easy classes, well above chance on held-out test drawings
    assert metrics["test"]["top1"] > 0.6
    assert metrics["history"][-1]["train_loss"] < metrics["history"][0]["train_loss"]

    cfg = TrainConfig(**json.loads((out / "config.json").read_text()))
    assert cfg.model == "inknet" and cfg.classes == FEW_CLASSES

    with Image.open(out / "learning_curve.png") as img:
        assert img.format == "PNG" and img.width > 300

    best = torch.load(out / "best.pt", weights_only=True)
    assert best["format"] == "inkrec-run/1"
    assert best["model"] == "inknet" and best["classes"] == FEW_CLASSES
    assert best["input"] == {"kind": "bitmap", "size": 28, "channels": 1, "scale": 1 / 255}
    assert best["preprocessing"]["line_diameter"] == 16
    assert best["data"]["source"] == "quickdraw-bitmap" and best["data"]["path"] == str(bitmaps)
    assert best["model_kwargs"]["image_size"] == 28
    assert best["metrics"]["test"]["top1"] == metrics["test"]["top1"]
    last = torch.load(out / "last.pt", weights_only=True)
    assert last["epoch"] == 3 and {"optimizer", "scheduler", "rng", "state_dict"} <= last.keys()

    # load_run rebuilds the same model: same logits as the one training returned
    model, meta = load_run(out)
    assert not model.training
    assert meta["classes"] == FEW_CLASSES and meta["input"]["kind"] == "bitmap" and "state_dict" not in meta
    x = torch.rand(4, 1, 28, 28)
    with torch.no_grad():
        assert torch.allclose(model(x), result.model(x), atol=1e-6)
    assert same_weights(model.state_dict(), best["state_dict"])


def test_same_seed_same_weights_other_seed_other_weights(bitmaps, tmp_path):
    cfg = tiny_config(bitmaps, tmp_path / "a", epochs=1, augment="strong", evaluate_test=False)
    a = train(cfg).model.state_dict()
    b = train({**cfg, "out": str(tmp_path / "b")}).model.state_dict()
    c = train({**cfg, "out": str(tmp_path / "c"), "seed": 1}).model.state_dict()
    assert same_weights(a, b)
    assert not same_weights(a, c)


def test_early_stopping_restores_the_best_weights(bitmaps, tmp_path):
    # a learning rate far too high: validation stops improving quickly
    result = train(tiny_config(bitmaps, tmp_path / "run", epochs=8, lr=0.5, patience=2, evaluate_test=False))
    vals = [h["val_top1"] for h in result.history]
    assert result.stopped_early and len(vals) < 8
    assert result.best_epoch == 1 + int(np.argmax(vals))
    assert len(vals) - result.best_epoch == 2
    best = torch.load(tmp_path / "run" / "best.pt", weights_only=True)["state_dict"]
    assert same_weights(result.model.state_dict(), best)


def test_stroke_models_and_on_the_fly_rasterizing(simplified, tmp_path):
    rnn = train(tiny_config(simplified, tmp_path / "rnn", model="stroke-rnn", epochs=1, max_per_class=None,
                            model_kwargs={"hidden": 16, "layers": 1}, augment="light"))
    assert rnn.test["n"] == 3 * 5  # drawings 21-25 of each category
    model, meta = load_run(tmp_path / "rnn")
    assert meta["input"]["kind"] == "strokes" and meta["model"] == "stroke-rnn"
    x = torch.zeros(2, 10, 3)
    assert model(x, torch.tensor([10, 4])).shape == (2, 3)

    cnn = train(tiny_config(simplified, tmp_path / "cnn", model="seed-cnn", epochs=1, max_per_class=None,
                            augment="light", size=28))
    assert cnn.history[0]["samples"] > 0 and cnn.test["n"] == 15


def test_bitmap_augmentation_is_repeatable_and_keeps_the_ink(bitmaps):
    from inkrec.data.formats.numpy_bitmap import load_bitmaps
    from inkrec.train.augment import augment_bitmaps

    x = torch.from_numpy(np.array(load_bitmaps(bitmaps / "apple.npy")[:64])).float().div(255).view(64, 1, 28, 28)
    a = augment_bitmaps(x, 1.0, torch.Generator().manual_seed(3))
    b = augment_bitmaps(x, 1.0, torch.Generator().manual_seed(3))
    assert a.shape == x.shape and torch.equal(a, b)
    assert not torch.allclose(a, x)
    ratio = a.sum((1, 2, 3)) / x.sum((1, 2, 3))
    assert ratio.median() > 0.6 and ratio.median() < 1.6
    assert torch.equal(augment_bitmaps(x, 0.0, torch.Generator()), x)


def test_stroke_augmentation_stays_in_the_simplified_space(simplified):
    from inkrec.data.formats.ndjson import iter_ndjson
    from inkrec.train.augment import augment_strokes

    rng = np.random.default_rng(0)
    for d in list(iter_ndjson(simplified / "cat.ndjson"))[:10]:
        out = augment_strokes(d.strokes, 1.0, rng)
        pts = np.concatenate(out, axis=1)
        assert 1 <= len(out) <= len(d.strokes)
        assert pts.min() >= -1e-9 and np.isclose(pts.max(axis=1).max(), 255)


def test_learning_rate_schedule():
    kw = dict(base=1e-2, warmup=10, total=100)
    cos = [lr_at(s, schedule="cosine", **kw) for s in range(100)]
    assert cos[0] == pytest.approx(1e-3) and cos[9] == pytest.approx(1e-2)
    assert all(x >= y for x, y in zip(cos[10:], cos[11:]))
    assert cos[-1] < 2e-4
    one = [lr_at(s, schedule="onecycle", **kw) for s in range(100)]
    assert max(one) == pytest.approx(1e-2, rel=1e-3) and one[0] < 1e-3 and one[-1] < 1e-4


# ------------------------------------------------------------------------------------- bad input


def test_unknown_model_is_a_config_error_listing_the_models(bitmaps, tmp_path):
    with pytest.raises(ConfigError, match="known models: .*inknet.*seed-cnn"):
        make_config(data=str(bitmaps), model="vgg", out=str(tmp_path))


def test_bad_options_are_config_errors(bitmaps, tmp_path):
    with pytest.raises(ConfigError, match="epochs"):
        make_config(data=str(bitmaps), epochs=0)
    with pytest.raises(ConfigError, match="val_fraction"):
        make_config(data=str(bitmaps), val_fraction=1.5)


def test_stroke_model_on_bitmaps_is_refused(bitmaps, tmp_path):
    with pytest.raises(ConfigError, match="stroke sequences"):
        train(tiny_config(bitmaps, tmp_path / "r", model="stroke-rnn"))


def test_empty_data_set_is_refused(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    for name in ("cat", "dog"):
        np.save(empty / f"{name}.npy", np.zeros((0, 784), dtype=np.uint8))
    with pytest.raises(InkrecError, match="no samples|no training samples"):
        train(tiny_config(empty, tmp_path / "r", classes=None))


def test_resume_with_another_class_map_is_refused(bitmaps, tmp_path):
    out = tmp_path / "run"
    train(tiny_config(bitmaps, out, epochs=1, evaluate_test=False))
    with pytest.raises(ConfigError, match="class map differs"):
        train(tiny_config(bitmaps, out, epochs=2, resume=True, classes=["apple", "banana", "cat"]))
    with pytest.raises(ConfigError, match="model"):
        train(tiny_config(bitmaps, out, epochs=2, resume=True, model="logreg"))


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(Path(sys.executable).parent / "inkrec"), *args], capture_output=True, text=True, timeout=300)


def test_cli_reports_bad_input_without_a_traceback(tmp_path):
    r = _cli("train", "--data", str(tmp_path / "nowhere"), "--model", "inknet", "--out", str(tmp_path / "r"),
             "--no-track")
    assert r.returncode == 2
    assert "no such file" in r.stderr and "Traceback" not in r.stderr
    r = _cli("train", "--data", str(tmp_path), "--model", "nonesuch", "--no-track")
    assert r.returncode == 2 and "known models" in r.stderr and "Traceback" not in r.stderr


def test_epoch_callback_sees_each_epoch_and_can_stop_training(bitmaps, tmp_path):
    class Stop(Exception):
        pass

    seen = []

    def on_epoch(record: dict) -> None:
        seen.append(record["epoch"])
        assert 0 <= record["val_top1"] <= 1
        if record["epoch"] == 2:
            raise Stop

    with pytest.raises(Stop):
        train(tiny_config(bitmaps, tmp_path / "run", epochs=4, augment=0.3, evaluate_test=False), on_epoch=on_epoch)
    assert seen == [1, 2]
    assert torch.load(tmp_path / "run" / "last.pt", weights_only=True)["epoch"] == 2


def test_runs_are_tracked_where_a_plain_mlflow_ui_looks(bitmaps, tmp_path, monkeypatch, capsys):
    """A tracked run lands in the store `mlflow ui` opens when started in the same folder, and the run
    prints the exact command to look at it."""
    import mlflow
    from mlflow.tracking import MlflowClient
    from mlflow.tracking._tracking_service.utils import _get_default_tracking_uri

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    train(tiny_config(bitmaps, tmp_path / "runs" / "tracked", epochs=2, track=True, evaluate_test=False))
    printed = capsys.readouterr().out
    assert f"mlflow ui --backend-store-uri sqlite:///{tmp_path / 'mlflow.db'}" in printed

    # what `mlflow ui` (= `mlflow server`) resolves with no --backend-store-uri, run from this folder
    ui_uri = _get_default_tracking_uri()
    assert ui_uri == "sqlite:///mlflow.db"
    client = MlflowClient(tracking_uri=ui_uri)
    exp = client.get_experiment_by_name("inkrec")
    (run,) = client.search_runs([exp.experiment_id])
    assert run.info.run_name == "tracked" and run.info.status == "FINISHED"
    assert run.data.params["config.model"] == "seed-cnn"
    history = client.get_metric_history(run.info.run_id, "val_top1")
    assert [m.step for m in history] == [1, 2]
    metrics = json.loads((tmp_path / "runs" / "tracked" / "metrics.json").read_text())
    assert [m.value for m in history] == pytest.approx([h["val_top1"] for h in metrics["history"]])
    assert run.data.metrics["best_val_top1"] == pytest.approx(metrics["best"]["val_top1"])
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"metrics.json", "config.json", "learning_curve.png"} <= artifacts
    assert not (tmp_path / "mlruns" / "mlflow.db").exists()
    mlflow.set_tracking_uri(None)


def test_tracking_uri_default_follows_mlflow(tmp_path, monkeypatch):
    from inkrec.train.tracking import default_tracking_uri, ui_command

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert default_tracking_uri(tmp_path) == f"sqlite:///{tmp_path / 'mlflow.db'}"
    old_store = tmp_path / "mlruns" / "0"  # MLflow 2's file store: `mlflow ui` opens that instead
    old_store.mkdir(parents=True)
    (old_store / "meta.yaml").write_text("name: Default\n")
    assert default_tracking_uri(tmp_path) == (tmp_path / "mlruns").as_uri()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5000")
    assert default_tracking_uri(tmp_path) == "http://127.0.0.1:5000"
    assert ui_command("sqlite:////x/mlflow.db") == "mlflow ui --backend-store-uri sqlite:////x/mlflow.db"
