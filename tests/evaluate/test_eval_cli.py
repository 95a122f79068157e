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
    for key in ("top1", "top3", "top5", "top10", "map3"):
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


def test_default_split_is_the_standard_test_split(tiny_run, bitmaps, evaluated, tmp_path):
    res = _eval("--model", tiny_run, "--data", bitmaps, "--json", tmp_path / "d.json")
    assert res.exit_code == 0, res.output
    m = json.loads((tmp_path / "d.json").read_text())
    _, explicit = evaluated
    assert m["split"] == "test" and "standard test split" in m["split_reason"]
    assert m["n"] == explicit["n"] and m["top1"] == explicit["top1"]
    assert "split scored: test" in " ".join(res.output.split())
    assert m["warnings"] == []  # the test split of the data the model trained on: a fair figure
    # a single Quick, Draw! file has the standard cut too; a data set with fewer classes is fine
    res = _eval("--model", tiny_run, "--data", bitmaps / "apple.npy", "--json", tmp_path / "a.json")
    assert res.exit_code == 0, res.output
    a = json.loads((tmp_path / "a.json").read_text())
    assert a["split"] == "test"
    assert a["n"] == len(open_dataset(bitmaps / "apple.npy", split="test"))
    assert {k for k, v in a["per_class"].items() if v["support"]} == {"apple"}


@pytest.fixture(scope="module")
def image_folder(bitmaps, tmp_path_factory):
    """Real drawings saved as a plain folder of pictures per class: a format with no standard split."""
    from PIL import Image

    root = tmp_path_factory.mktemp("pictures")
    ds = open_dataset(bitmaps, split="test", classes=CLASSES, max_per_class=8)
    for i in range(len(ds)):
        picture, label = ds[i]
        folder = root / ds.classes[label]
        folder.mkdir(exist_ok=True)
        Image.fromarray(255 - picture).save(folder / f"drawing{i:03d}.png")
    return root


def test_without_a_standard_split_everything_is_scored_and_said(tiny_run, image_folder, tmp_path):
    res = _eval("--model", tiny_run, "--data", image_folder, "--json", tmp_path / "f.json")
    assert res.exit_code == 0, res.output
    m = json.loads((tmp_path / "f.json").read_text())
    assert m["split"] == "all" and "no standard train/test split" in m["split_reason"]
    assert m["n"] == 3 * 8
    said = " ".join(res.output.split())  # the console wraps long lines
    assert "split scored: all" in said and "no standard train/test split" in said


def test_scoring_training_data_is_warned_about(tiny_run, bitmaps, tmp_path):
    for args in (["--split", "all"], ["--split", "train"]):
        res = _eval("--model", tiny_run, "--data", bitmaps, *args, "--json", tmp_path / "w.json")
        assert res.exit_code == 0, res.output
        m = json.loads((tmp_path / "w.json").read_text())
        assert m["split"] == args[1]
        assert len(m["warnings"]) == 1 and "trained on" in m["warnings"][0]
        assert "warning:" in res.output and "overstates" in " ".join(res.output.split())
    # one file of the training folder counts too
    res = _eval("--model", tiny_run, "--data", bitmaps / "fish.npy", "--split", "all", "--json", tmp_path / "f.json")
    assert json.loads((tmp_path / "f.json").read_text())["warnings"]
    # other data than the model's: nothing to warn about
    res = _eval("--model", tiny_run, "--data", bitmaps.parent / "simplified", "--split", "all",
                "--json", tmp_path / "s.json")
    assert res.exit_code == 0, res.output
    assert json.loads((tmp_path / "s.json").read_text())["warnings"] == []


def test_exported_model_warns_from_its_metadata(tiny_run, bitmaps, tmp_path):
    from inkrec.export.onnx import export_run

    export_run(tiny_run, tmp_path / "tiny.onnx", parity_samples=16)
    res = _eval("--model", tmp_path / "tiny.onnx", "--data", bitmaps, "--split", "all", "--json", tmp_path / "o.json")
    assert res.exit_code == 0, res.output
    assert json.loads((tmp_path / "o.json").read_text())["warnings"]
    res = _eval("--model", tmp_path / "tiny.onnx", "--data", bitmaps, "--json", tmp_path / "t.json")
    m = json.loads((tmp_path / "t.json").read_text())
    assert m["split"] == "test" and m["warnings"] == []


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

    from inkrec.evaluate.predict import load_model, predict_dataset
    from inkrec.train.runs import load_run

    ds = open_dataset(bitmaps, split="test", classes=CLASSES, max_per_class=40)
    preds = predict_dataset(load_model(tiny_run), ds, batch_size=7, progress=False)
    model, _ = load_run(tiny_run)
    with torch.inference_mode():
        x = torch.from_numpy(ds.bitmaps(preds.indices).astype(np.float32)[:, None] / 255.0)
        direct = torch.softmax(model(x), 1).numpy()
    np.testing.assert_allclose(preds.probs, direct, atol=1e-5)
    assert preds.y_true.tolist() == ds.labels[preds.indices].tolist()


def test_bitmap_model_on_rasterized_strokes(tiny_run, quickdraw, tmp_path):
    """Cross-format: the 344-category simplified drawings, rasterized, restricted to the model's classes."""
    res = _eval("--model", tiny_run, "--data", quickdraw / "simplified", "--split", "all", "--json",
                tmp_path / "x.json")
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
