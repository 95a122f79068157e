"""The slim serving install: no torch (and no `onnx` package) anywhere on the serving path."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import httpx
import pytest

from inkrec.runtime.onnx_model import read_metadata

REPO = Path(__file__).resolve().parents[2]

NO_TORCH = """
import sys, json
for name in ("torch", "onnx", "onnxscript", "tensorflow"):
    sys.modules[name] = None   # any import of these now fails
import numpy as np
import click
from typer.main import get_command
from typer.testing import CliRunner
from inkrec.cli import app
root = get_command(app)
ctx = click.Context(root)
assert root.get_command(ctx, "serve").help.startswith("Serve")
assert root.get_command(ctx, "train").help.startswith("Not installed")
said = CliRunner().invoke(app, ["train", "--data", "x"])
assert said.exit_code == 2 and 'pip install "inkrec[train]"' in said.output, said.output
from inkrec.serve.app import create_app
from inkrec.serve.settings import ServeSettings
from inkrec.serve import preprocess
from inkrec.runtime.onnx_model import read_metadata
models = json.loads(sys.argv[1])
drawing = json.loads(sys.argv[2])
app = create_app(ServeSettings(models=models))
reg = app.state.registry
model = reg.get("doodles")
inputs, raw = preprocess.strokes_input(preprocess.to_arrays(drawing), model)
top = model.top_k(model.predict(*inputs)[0], 3)
assert read_metadata(models[0])["labels"]
print(json.dumps({"top": top, "modules": sorted(m for m in ("torch", "onnx") if sys.modules.get(m))}))
"""


def test_serving_path_imports_without_torch_or_onnx(served_models, drawings):
    drawing = drawings[0][1]["drawing"]
    out = subprocess.run(
        [sys.executable, "-c", NO_TORCH, json.dumps([str(p) for p in served_models]), json.dumps(drawing)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["modules"] == [] and len(result["top"]) == 3


@pytest.mark.slow
def test_fresh_venv_with_the_serve_extra_serves_the_models(
    tmp_path, served_models, drawings, client, start_server
):
    """pip install '.[serve]' into a new virtual environment; torch must not be there; it serves."""
    src = tmp_path / "src-copy"
    ignore = shutil.ignore_patterns(
        ".venv*",
        ".git",
        "node_modules",
        "__pycache__",
        "*.egg-info",
        "build",
        "runs",
        "mlruns",
        "bench-results",
        "test-artifacts",
        "tests",
        "web",
    )
    shutil.copytree(REPO, src, ignore=ignore)
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    py = env_dir / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    install = subprocess.run(
        [str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check", f"{src}[serve]"],
        capture_output=True,
        text=True,
        env=env,
        timeout=1500,
    )
    assert install.returncode == 0, install.stderr[-3000:]
    probe = subprocess.run(
        [
            str(py),
            "-c",
            "import importlib.util as u; "
            "print([m for m in ('torch', 'onnx', 'tensorflow') if u.find_spec(m)])",
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    assert probe.stdout.strip() == "[]", probe.stdout + probe.stderr
    models_dir = tmp_path / "models"
    models_dir.mkdir()
    for p in served_models:
        shutil.copy(p, models_dir / p.name)
    # no --model: the server finds the bundled models itself (INKREC_MODELS, as in the Docker image)
    srv = start_server(
        [],
        cmd=[str(env_dir / "bin" / "inkrec"), "serve"],
        env={**env, "INKREC_MODELS": str(models_dir)},
        start_s=600,  # a fresh install compiles the ink kernels (numba) on its first start
    )
    try:
        with httpx.Client(base_url=srv.url, timeout=30) as fresh:
            ids = set(fresh.get("/healthz").json()["models"])
            assert ids == {read_metadata(p)["id"] for p in served_models}
            for _label, rec, _raw in drawings[:6]:
                body = {"model": "doodles", "strokes": rec["drawing"]}
                got = fresh.post("/v1/predict", json=body)
                assert got.status_code == 200, got.text
                want = client.post("/v1/predict", json=body).json()
                # same model, same preprocessing; the fresh install may have a newer onnxruntime whose
                # kernels round differently in the last digits
                got_p, want_p = got.json()["predictions"], want["predictions"]
                assert got_p[0]["label"] == want_p[0]["label"]
                assert abs(got_p[0]["probability"] - want_p[0]["probability"]) < 1e-3
            assert fresh.post("/v1/predict", json={"strokes": []}).status_code == 422
    finally:
        srv.stop()
