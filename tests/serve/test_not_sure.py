"""`/v1/predict` says "not sure" by the model's own open-set rule; models without one answer as before."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import httpx
import numpy as np

from inkrec.export.model_file import read_model_metadata, write_model
from inkrec.export.teach import TaughtClass, teach_model
from inkrec.preprocess.batch import bitmap_batch, rasterize_drawings
from inkrec.runtime.onnx_model import OnnxModel

REPO = Path(__file__).resolve().parents[2]
DOODLES = REPO / "models" / "doodles.onnx"


def simplified(quickdraw: Path, category: str) -> list:
    path = quickdraw / "simplified" / f"{category}.ndjson"
    return [json.loads(ln)["drawing"] for ln in path.read_text("utf-8").splitlines() if ln]


def batch(model: OnnxModel, drawings: list) -> np.ndarray:
    return bitmap_batch(rasterize_drawings([[np.asarray(s, float) for s in d] for d in drawings], model.spec),
                        model.spec)


def test_not_sure_follows_the_models_rule(client, quickdraw):
    model = OnnxModel(DOODLES)
    spiders = simplified(quickdraw, "spider")
    _, scores = model.predict_open(batch(model, spiders))
    for drawing, score in zip(spiders[:8], scores[:8], strict=True):
        body = client.post("/v1/predict", json={"model": "doodles", "strokes": drawing}).json()
        assert body["not_sure"] is bool(score < model.open_set["threshold"])
        assert abs(body["open_set_score"] - score) < 1e-3
        assert len(body["predictions"]) == 5  # the best guesses come all the same
    assert any(s < model.open_set["threshold"] for s in scores)
    info = client.get("/v1/models").json()["models"]
    doodles = next(m for m in info if m["id"] == "doodles")
    assert doodles["embedding"] is True and doodles["open_set"]["score"] == "linear" and doodles["teach"]


def test_models_without_a_rule_and_taught_models(start_server, quickdraw, tmp_path):
    graph, meta = read_model_metadata(DOODLES)
    write_model(graph, tmp_path / "plain.onnx", {k: v for k, v in meta.items() if k != "open_set"})
    snails = simplified(quickdraw, "snail")
    base = OnnxModel(DOODLES)
    teach_model(DOODLES, [TaughtClass("snail", batch(base, snails[:10]))], tmp_path / "taught.onnx")
    srv = start_server(["--model", f"plain={tmp_path / 'plain.onnx'}", "--model", f"taught={tmp_path / 'taught.onnx'}"],
                       cmd=[sys.executable, "-c", "from inkrec.cli import app; app()", "serve"])
    with httpx.Client(base_url=srv.url, timeout=30) as c:
        body = c.post("/v1/predict", json={"model": "plain", "strokes": snails[12]}).json()
        assert "not_sure" not in body and len(body["predictions"]) == 5
        hits = 0
        for drawing in snails[10:]:
            body = c.post("/v1/predict", json={"model": "taught", "strokes": drawing}).json()
            hits += body["predictions"][0]["label"] == "snail"
            assert isinstance(body["not_sure"], bool)
        assert hits >= 10  # of 15
