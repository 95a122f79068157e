"""ServeSettings: one class for every server option, filled from `inkrec serve`'s options, INKREC_* variables
or Python, and handed to worker processes through the environment."""

from __future__ import annotations

import io
import json
import os
import subprocess

import httpx
import numpy as np
import pytest
import typer
from PIL import Image
from typer.main import get_command
from typer.testing import CliRunner

from inkrec.serve import cli
from inkrec.serve.settings import ServeSettings

from .conftest import REPO, SERVE_CMD


@pytest.fixture()
def clean_env(monkeypatch):
    """No INKREC_* server variables from the calling shell."""
    for name in ServeSettings.model_fields:
        monkeypatch.delenv(f"INKREC_{name.upper()}", raising=False)
    return monkeypatch


def settings_from_cli(monkeypatch, args: list[str], env: dict | None = None) -> ServeSettings:
    """What `inkrec serve ARGS` would run with (the server itself not started)."""
    seen = []
    monkeypatch.setattr(cli, "run", seen.append)
    app = typer.Typer()
    cli.register(app)
    app.command("other")(lambda: None)  # a group, so that "serve" is typed as on the real command line
    result = CliRunner().invoke(app, ["serve", *args], env=env)
    assert result.exit_code == 0, result.output
    return seen[0]


def test_defaults_environment_and_python(clean_env, tmp_path):
    assert ServeSettings(models=[]).port == 8000 and ServeSettings(models=[]).max_upload_bytes == 8 << 20
    clean_env.setenv("INKREC_PORT", "9001")
    clean_env.setenv("INKREC_MAX_BATCH", "0")
    clean_env.setenv("INKREC_ACCESS_LOG", "true")
    clean_env.setenv("INKREC_PAGE_DIR", str(tmp_path))
    s = ServeSettings(timeout=2.5)
    assert (s.port, s.max_batch, s.access_log, s.page_dir, s.timeout) == (9001, 1, True, tmp_path, 2.5)
    clean_env.setenv("INKREC_PORT", "not a port")
    with pytest.raises(ValueError, match="port"):
        ServeSettings()
    with pytest.raises(ValueError, match="modle"):  # a misspelt setting is an error, not ignored
        ServeSettings(modle=["x.onnx"])


def test_INKREC_MODELS_is_still_a_folder_of_models(clean_env, served_models, tmp_path):
    folder = served_models[0].parent
    clean_env.setenv("INKREC_MODELS", str(folder))
    assert ServeSettings().model_specs() == [str(p) for p in sorted(folder.glob("*.onnx"))]
    clean_env.setenv("INKREC_MODELS", str(tmp_path))  # an empty folder: no models, as before
    assert ServeSettings().model_specs() == []
    clean_env.setenv("INKREC_MODELS", json.dumps(["a=x.onnx", "y.onnx"]))
    assert ServeSettings().model_specs() == ["a=x.onnx", "y.onnx"]
    clean_env.setenv("INKREC_MODELS", "")  # set but empty: not set
    assert ServeSettings().models is None
    # named models win over the variable
    clean_env.setenv("INKREC_MODELS", str(folder))
    assert ServeSettings(models=["z.onnx"]).model_specs() == ["z.onnx"]


def test_as_env_hands_every_setting_to_a_worker(clean_env, served_models, tmp_path):
    clean_env.chdir(served_models[0].parent.parent)
    parent = ServeSettings(
        models=["pic=models/doodles.onnx", "models/digits.onnx"],
        host="0.0.0.0",
        port=1234,
        workers=3,
        threads=2,
        max_batch=4,
        timeout=2.5,
        graceful_timeout=1.5,
        max_upload_mb=0.5,
        max_json_bytes=1000,
        max_pixels=1000,
        page_dir=tmp_path,
        access_log=True,
        inline_batches=False,
    )
    env = parent.as_env()
    assert set(env) == {f"INKREC_{name.upper()}" for name in ServeSettings.model_fields}
    clean_env.chdir(tmp_path)  # a worker may start elsewhere: the model paths are absolute
    for key, value in env.items():
        clean_env.setenv(key, value)
    worker = ServeSettings()
    root = served_models[0].parent
    assert worker.models == [f"pic={root / 'doodles.onnx'}", str(root / "digits.onnx")]
    assert worker.model_dump(exclude={"models"}) == parent.model_dump(exclude={"models"})


def test_cli_options_map_onto_settings(clean_env):
    app = typer.Typer()
    cli.register(app)
    options = {p.name for p in get_command(app).params} - {"help", "install_completion", "show_completion"}
    mapped = {"models" if o == "model" else o for o in options}
    # every option is a setting; the few settings without an option are read from INKREC_* variables only
    assert set(ServeSettings.model_fields) - mapped == {"intra_op_threads", "max_json_bytes", "inline_batches"}

    s = settings_from_cli(clean_env, [])
    assert s == ServeSettings()
    s = settings_from_cli(
        clean_env,
        ["-m", "a.onnx", "--model", "b=c.onnx", "--host", "0.0.0.0", "--port", "9", "--threads", "2",
         "--workers", "2", "--max-batch", "0", "--timeout", "3", "--graceful-timeout", "4",
         "--max-upload-mb", "0.5", "--max-pixels", "100", "--page-dir", "/tmp", "--access-log"],
    )
    assert s.models == ["a.onnx", "b=c.onnx"] and (s.host, s.port, s.threads, s.workers) == ("0.0.0.0", 9, 2, 2)
    assert (s.max_batch, s.timeout, s.graceful_timeout, s.max_upload_mb) == (1, 3.0, 4.0, 0.5)
    assert (s.max_pixels, str(s.page_dir), s.access_log) == (100, "/tmp", True)
    # an option left out takes its variable; one given wins over it
    s = settings_from_cli(clean_env, ["--port", "9"], env={"INKREC_PORT": "7", "INKREC_TIMEOUT": "2"})
    assert (s.port, s.timeout) == (9, 2.0)


def test_workers_get_the_parents_settings(start_server, served_models):
    """--workers 2: each worker process serves the renamed model and enforces the upload cap."""
    doodles = next(p for p in served_models if p.stem == "doodles").relative_to(served_models[0].parents[1])
    srv = start_server(["--workers", "2", "--model", f"pic={doodles}", "--max-upload-mb", "0.01"])
    noise = np.random.default_rng(0).integers(0, 255, (200, 200), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(noise).save(buf, format="PNG")
    assert len(buf.getvalue()) > 0.01 * (1 << 20)
    for _ in range(6):  # a new connection each time: both workers answer
        assert httpx.get(srv.url + "/healthz", timeout=30).json() == {"status": "ok", "models": ["pic"]}
        r = httpx.post(srv.url + "/v1/predict", files={"file": ("a.png", buf.getvalue(), "image/png")}, timeout=30)
        assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large", r.text


def test_bad_settings_are_one_clear_error(tmp_path):
    """From an option or a variable: `error: ...` naming the setting, exit status 2, before any model loads."""
    env = {**os.environ, "INKREC_TIMEOUT": "soon"}
    for args, env, name in (
        (["--port", "70000"], None, "port"),
        ([], env, "timeout"),
        (["--model", str(tmp_path / "missing.onnx")], None, "missing.onnx: no such file"),
    ):
        out = subprocess.run([*SERVE_CMD, *args], capture_output=True, text=True, env=env, cwd=REPO, timeout=120)
        assert out.returncode == 2, (args, out.stderr[-2000:])
        assert "error:" in out.stderr and name in out.stderr and "Traceback" not in out.stderr, out.stderr
