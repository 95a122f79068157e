"""`inkrec eval` end to end on a model trained for real: JSON fields, report files, ONNX agreement, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from inkrec.cli import app
from inkrec.data.dataset import open_dataset

from .conftest import CLASSES

runner = CliRunner()


def _eval(*args):
    return runner.invoke(app, ["eval", *map(str, args), "--quiet"])


@pytest.fixture(scope="module")
def evaluated(tiny_run, bitmaps, tmp_path_factory):
    out = tmp_path_factory.mktemp("eval")
    res = _eval(
        "--model",
        tiny_run,
        "--data",
        bitmaps,
        "--split",
        "test",
        "--json",
        out / "m.json",
        "--report",
        out / "report",
    )
    assert res.exit_code == 0, res.output
    return out, json.loads((out / "m.json").read_text())


def test_json_fields(evaluated, bitmaps):
    _, m = evaluated
    # The 18-category folder is restricted to the model's three classes: exactly their test rows count.
    test = open_dataset(bitmaps, split="test")
    expected_n = int(sum((test.labels == test.classes.index(c)).sum() for c in CLASSES))
    assert m["n"] == expected_n
    for key in ("top1", "top3", "top5", "map3"):
        assert 0.0 <= m[key] <= 1.0
    assert m["top1"] <= m["map3"] <= m["top3"]
    assert m["top3"] == pytest.approx(1.0)  # three classes: the truth is always among three guesses
    assert m["top1"] > 0.4  # trained, not random (1/3)
    assert set(m["per_class"]) == set(CLASSES)
    assert sum(v["support"] for v in m["per_class"].values()) == expected_n
    for v in m["per_class"].values():
        assert set(v) >= {"precision", "recall", "f1", "support"}
    assert m["split"] == "test" and m["model_format"] == "run"


def test_report_files(evaluated):
    out, m = evaluated
    rep = out / "report"
    page = (rep / "index.html").read_text(encoding="utf-8")
    for name in ("confusion.png", "confidence.png", "reliability.png", "learning_curves.png"):
        assert (rep / name).stat().st_size > 1000, name
    failures = list((rep / "failures").glob("*.png"))
    assert 0 < len(failures) <= 60
    assert f"{100 * m['top1']:.2f}%" in page
    assert "banana" in page and "Least recognised" in page


def test_onnx_agrees_with_run(tiny_run, bitmaps, evaluated, tmp_path):
    from inkrec.export.onnx import export_run

    export_run(tiny_run, tmp_path / "tiny.onnx", parity_samples=32)
    res = _eval(
        "--model", tmp_path / "tiny.onnx", "--data", bitmaps, "--split", "test", "--json", tmp_path / "o.json"
    )
    assert res.exit_code == 0, res.output
    onnx_m = json.loads((tmp_path / "o.json").read_text())
    _, run_m = evaluated
    assert onnx_m["model_format"] == "onnx"
    assert onnx_m["n"] == run_m["n"]
    assert onnx_m["top1"] == pytest.approx(run_m["top1"], abs=1e-3)
    assert onnx_m["map3"] == pytest.approx(run_m["map3"], abs=1e-3)


def test_default_split_is_all(tiny_run, bitmaps, evaluated, tmp_path):
    res = _eval("--model", tiny_run, "--data", bitmaps / "apple.npy", "--json", tmp_path / "a.json")
    assert res.exit_code == 0, res.output
    m = json.loads((tmp_path / "a.json").read_text())
    assert m["split"] == "all"
    assert m["n"] == len(open_dataset(bitmaps / "apple.npy"))  # a data set with fewer classes is fine
    assert {k for k, v in m["per_class"].items() if v["support"]} == {"apple"}


def test_mismatched_class_map_is_refused(tiny_run, datasets, tmp_path):
    res = _eval("--model", tiny_run, "--data", datasets / "mnist", "--json", tmp_path / "x.json")
    assert res.exit_code == 2
    assert "does not know" in res.output and "'7'" in res.output
    assert "Traceback" not in res.output
    assert not (tmp_path / "x.json").exists()


def test_missing_model_is_a_clear_error(bitmaps, tmp_path):
    res = _eval("--model", tmp_path / "nothing-here", "--data", bitmaps)
    assert res.exit_code == 2 and "does not exist" in res.output
    (tmp_path / "empty-run").mkdir()
    res = _eval("--model", tmp_path / "empty-run", "--data", bitmaps)
    assert res.exit_code == 2 and "best.pt" in res.output


def test_predictions_match_direct_forward(tiny_run, bitmaps):
    """The batched predictor gives what the module computes on the same pixels."""
    import torch

    from inkrec.evaluate.predict import load_predictor, predict_dataset
    from inkrec.train.runs import load_run

    ds = open_dataset(bitmaps, split="test", classes=CLASSES, max_per_class=40)
    preds = predict_dataset(load_predictor(tiny_run), ds, batch_size=7, progress=False)
    model, _ = load_run(tiny_run)
    with torch.inference_mode():
        x = torch.from_numpy(ds.bitmaps(preds.indices).astype(np.float32)[:, None] / 255.0)
        direct = torch.softmax(model(x), 1).numpy()
    np.testing.assert_allclose(preds.probs, direct, atol=1e-5)
    assert preds.y_true.tolist() == ds.labels[preds.indices].tolist()


def test_bitmap_model_on_rasterized_strokes(tiny_run, quickdraw, tmp_path):
    """Cross-format: the 344-category simplified drawings, rasterized, restricted to the model's classes."""
    res = _eval("--model", tiny_run, "--data", quickdraw / "simplified", "--json", tmp_path / "x.json")
    assert res.exit_code == 0, res.output
    m = json.loads((tmp_path / "x.json").read_text())
    assert m["dataset_classes"] == 344
    assert m["n"] == 3 * 25
    assert m["top1"] > 0.4


def test_stroke_model(quickdraw, tmp_path):
    from inkrec.train.tune import model_kwargs

    from .conftest import train_tiny

    run = train_tiny(
        quickdraw / "simplified",
        tmp_path / "stroke-rnn",
        model="stroke-rnn",
        model_kwargs=model_kwargs("stroke-rnn", {"width": 0.15}),  # a narrow version, whatever its options
    )
    res = _eval(
        "--model",
        run,
        "--data",
        quickdraw / "simplified",
        "--split",
        "test",
        "--json",
        tmp_path / "s.json",
        "--report",
        tmp_path / "rep",
    )
    assert res.exit_code == 0, res.output
    m = json.loads((tmp_path / "s.json").read_text())
    assert m["n"] == 3 * 5  # drawings 21-25 of each of the three categories
    assert set(m["per_class"]) == set(CLASSES)
    assert (tmp_path / "rep" / "index.html").is_file()
    # A stroke model cannot read bitmaps: a clear refusal.
    res = _eval("--model", run, "--data", quickdraw / "numpy_bitmap")
    assert res.exit_code == 2 and "stroke" in res.output
