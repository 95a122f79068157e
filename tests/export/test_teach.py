"""`inkrec teach`: classes from a few real drawings on the bundled doodles model, and what bad input says."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from inkrec.cli import app
from inkrec.errors import ConfigError, DataFormatError
from inkrec.export.teach import PAGE_FORMAT, read_page_file, read_teach_folder, teach_model
from inkrec.preprocess.batch import bitmap_batch, rasterize_drawings
from inkrec.preprocess.raster import rasterize
from inkrec.runtime.onnx_model import OnnxModel

REPO = Path(__file__).resolve().parents[2]
DOODLES = REPO / "models" / "doodles.onnx"
NEW = ["anvil", "cactus", "envelope"]  # none of the model's 18, nor of the categories it learnt from (auxiliary)
runner = CliRunner()


def lines(quickdraw: Path, category: str) -> list[str]:
    return [ln for ln in (quickdraw / "simplified" / f"{category}.ndjson").read_text("utf-8").splitlines() if ln]


@pytest.fixture(scope="module")
def folders(quickdraw: Path, tmp_path_factory) -> tuple[Path, Path]:
    """(teach: the first 10 drawings of each new category, test: the other 15), as .ndjson per class."""
    root = tmp_path_factory.mktemp("teach")
    for part, sl in (("teach", slice(0, 10)), ("test", slice(10, 25))):
        (root / part).mkdir()
        for c in NEW:
            (root / part / f"{c}.ndjson").write_text("\n".join(lines(quickdraw, c)[sl]) + "\n", "utf-8")
    return root / "teach", root / "test"


def held_out(quickdraw: Path, model: OnnxModel) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = [], []
    for c in NEW:
        drawings = [[np.asarray(s, float) for s in json.loads(ln)["drawing"]] for ln in lines(quickdraw, c)[10:]]
        xs.append(bitmap_batch(rasterize_drawings(drawings, model.spec), model.spec))
        ys += [c] * len(drawings)
    return np.concatenate(xs), np.asarray(ys)


def test_teach_keeps_the_base_classes_and_learns_the_new_ones(folders, quickdraw, tmp_path):
    base = OnnxModel(DOODLES)
    out = tmp_path / "taught.onnx"
    res = runner.invoke(app, ["teach", "--model", str(DOODLES), "--data", str(folders[0]), "-o", str(out)])
    assert res.exit_code == 0, res.output
    taught = OnnxModel(out)
    assert taught.labels == base.labels + NEW and taught.id == "taught" and taught.has_embedding
    x, y = held_out(quickdraw, taught)
    probs, scores = taught.predict_open(x)
    guess = np.asarray(taught.labels)[probs.argmax(1)]
    assert (guess == y).mean() >= 0.45  # 3 new among 21: chance is 0.05, the base model scores 0
    assert scores is not None and taught.open_set["score"] == "taught"
    # the model's own classes still score as before on their drawings (their logits are untouched)
    known = bitmap_batch(np.load(quickdraw / "numpy_bitmap" / "cat.npy", mmap_mode="r")[-50:].reshape(-1, 28, 28),
                         base.spec)
    assert np.allclose(taught.logits(known)[:, : len(base.labels)], base.logits(known), atol=1e-5)
    # and the taught file can be taught again
    again = tmp_path / "again.onnx"
    renamed = tmp_path / "renamed"
    shutil.copytree(folders[0], renamed)
    for f in renamed.iterdir():
        f.rename(f.with_name(f"my {f.name}"))
    teach_model(out, read_teach_folder(renamed, taught.spec), again)
    assert OnnxModel(again).labels == taught.labels + [f"my {c}" for c in NEW]


def test_new_only_and_eval(folders, tmp_path):
    out = tmp_path / "only.onnx"
    res = runner.invoke(app, ["teach", "--model", str(DOODLES), "--data", str(folders[0]), "-o", str(out),
                              "--new-only", "--id", "three"])
    assert res.exit_code == 0, res.output
    assert OnnxModel(out).labels == NEW
    scored = tmp_path / "eval.json"
    res = runner.invoke(app, ["eval", "--model", str(out), "--data", str(folders[1]), "--split", "all", "-q",
                              "--json", str(scored)])
    assert res.exit_code == 0, res.output
    assert json.loads(scored.read_text())["top1"] >= 0.6


def test_a_class_with_no_examples_is_named(folders, tmp_path):
    bad = tmp_path / "bad"
    shutil.copytree(folders[0], bad)
    (bad / "ghost.ndjson").write_text("", "utf-8")
    with pytest.raises(ConfigError, match="no examples.*ghost"):
        read_teach_folder(bad, OnnxModel(DOODLES).spec)
    pictures = tmp_path / "pictures"
    (pictures / "circle").mkdir(parents=True)
    (pictures / "empty").mkdir()
    Image.fromarray(rasterize([np.array([[10.0, 200, 100, 10], [10, 10, 200, 10]])], 64)).save(pictures / "circle" / "a.png")
    res = runner.invoke(app, ["teach", "--model", str(DOODLES), "--data", str(pictures), "-o", str(tmp_path / "x.onnx")])
    assert res.exit_code == 2 and "no examples" in res.output and "empty" in res.output
    assert not (tmp_path / "x.onnx").exists()


def test_pictures_of_mixed_sizes_are_framed_like_uploads(quickdraw, tmp_path):
    """Pictures of several sizes in one class are each framed to the model's input (as the server frames an
    upload), so a class of scans and screenshots is taught as well as one of equal pictures."""
    model = OnnxModel(DOODLES)
    folder = tmp_path / "pictures"
    for c in NEW:
        (folder / c).mkdir(parents=True)
        for k, ln in enumerate(lines(quickdraw, c)[:10]):
            strokes = [np.asarray(s, float) for s in json.loads(ln)["drawing"]]
            side = (64, 100, 256)[k % 3]
            Image.fromarray(255 - rasterize(strokes, side)).save(folder / c / f"{k}.png")
    classes = read_teach_folder(folder, model.spec)
    assert [c.name for c in classes] == NEW and all(len(c) == 10 for c in classes)
    assert all(c.batch.shape[1:] == (1, 28, 28) for c in classes)
    out = tmp_path / "pics.onnx"
    teach_model(DOODLES, classes, out, new_only=True)
    x, y = held_out(quickdraw, model)
    m = OnnxModel(out)
    assert (np.asarray(m.labels)[m.predict(x).argmax(1)] == y).mean() >= 0.5


def test_bitmaps_of_mixed_sizes_are_refused(quickdraw, tmp_path):
    folder = tmp_path / "npy"
    folder.mkdir()
    cat = np.load(quickdraw / "numpy_bitmap" / "cat.npy", mmap_mode="r")[:10]
    np.save(folder / "small.npy", np.ascontiguousarray(cat))
    big = np.stack([np.asarray(Image.fromarray(r.reshape(28, 28)).resize((64, 64))) for r in cat]).reshape(10, -1)
    np.save(folder / "big.npy", big)
    with pytest.raises((ConfigError, DataFormatError), match="(?i)size|shape|784|4096"):
        read_teach_folder(folder, OnnxModel(DOODLES).spec)


def test_page_files(quickdraw, tmp_path):
    spec = OnnxModel(DOODLES).spec
    not_json = tmp_path / "a.json"
    not_json.write_bytes(b"\x89PNG\r\n")
    with pytest.raises(DataFormatError, match="not a page teaching file"):
        read_page_file(not_json, spec)
    foreign = tmp_path / "b.json"
    foreign.write_text(json.dumps({"format": "teachable-machine", "classes": []}))
    with pytest.raises(DataFormatError, match="not a page teaching file"):
        read_page_file(foreign, spec)
    empty = tmp_path / "c.json"
    empty.write_text(json.dumps({"format": PAGE_FORMAT, "classes": [{"label": "snail", "drawings": []}]}))
    with pytest.raises(ConfigError, match="'snail'.*no examples"):
        read_page_file(empty, spec)
    broken = tmp_path / "d.json"
    broken.write_text(json.dumps({"format": PAGE_FORMAT, "classes": [{"label": "snail", "drawings": [[["x"]]]}]}))
    with pytest.raises(DataFormatError, match="stroke"):
        read_page_file(broken, spec)
    res = runner.invoke(app, ["teach", "--model", str(DOODLES), "--from-page", str(foreign), "-o", str(tmp_path / "m.onnx")])
    assert res.exit_code == 2 and "not a page teaching file" in res.output
    # raw page strokes (screen coordinates and times) are simplified like the server's
    raw = [[[x * 2.5 + 7.25 for x in s[0]], [y * 2.5 + 3.5 for y in s[1]], list(range(len(s[0])))]
           for s in json.loads(lines(quickdraw, "snail")[0])["drawing"]]
    ok = tmp_path / "e.json"
    ok.write_text(json.dumps({"format": PAGE_FORMAT, "model": "doodles",
                              "classes": [{"label": "snail", "drawings": [raw]}]}))
    classes, doc = read_page_file(ok, spec)
    assert classes[0].name == "snail" and len(classes[0]) == 1 and doc["model"] == "doodles"


def test_a_base_label_cannot_be_taught_again(folders, tmp_path):
    clash = tmp_path / "clash"
    clash.mkdir()
    shutil.copy(folders[0] / f"{NEW[0]}.ndjson", clash / "cat.ndjson")
    res = runner.invoke(app, ["teach", "--model", str(DOODLES), "--data", str(clash), "-o", str(tmp_path / "m.onnx")])
    assert res.exit_code == 2 and "already has class(es) cat" in res.output
