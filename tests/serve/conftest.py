"""Fixtures for the export and serving tests: a small real model, and the real server on loopback."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
SERVE_CMD = [sys.executable, "-c", "from inkrec.cli import app; app()", "serve"]


@dataclass
class TinyModel:
    """A small CNN trained for a few seconds on real numpy_bitmap drawings, and its ONNX export."""

    torch_model: object
    onnx_path: Path
    meta: dict
    x_train: np.ndarray  # float32 (N, 1, 28, 28)
    x_test: np.ndarray
    y_test: np.ndarray


@pytest.fixture(scope="session")
def bitmaps(quickdraw: Path):
    """Standard split of the shared numpy_bitmap files: first 80% train, last 20% test, per category."""
    from inkrec.data.formats.numpy_bitmap import load_bitmaps

    classes = sorted(p.stem for p in (quickdraw / "numpy_bitmap").glob("*.npy"))
    xtr, ytr, xte, yte = [], [], [], []
    for i, name in enumerate(classes):
        a = load_bitmaps(quickdraw / "numpy_bitmap" / f"{name}.npy")
        cut = int(len(a) * 0.8)
        xtr.append(np.asarray(a[:160]))
        ytr.append(np.full(160, i))
        xte.append(np.asarray(a[cut : cut + 50]))
        yte.append(np.full(50, i))

    def prep(parts):
        return np.concatenate(parts).reshape(-1, 1, 28, 28).astype(np.float32) / 255.0

    return classes, prep(xtr), np.concatenate(ytr), prep(xte), np.concatenate(yte)


def train_tiny(x: np.ndarray, y: np.ndarray, n_classes: int, epochs: int = 2):
    import torch
    from torch import nn

    torch.manual_seed(0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small batches: one thread is fastest, and CI's cores are shared
    model = nn.Sequential(
        nn.Conv2d(1, 12, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(12, 24, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(24 * 7 * 7, 64),
        nn.ReLU(),
        nn.Linear(64, n_classes),
    )
    opt = torch.optim.Adam(model.parameters(), 3e-3)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    gen = torch.Generator().manual_seed(0)
    for _ in range(epochs):
        perm = torch.randperm(len(xt), generator=gen)
        for i in range(0, len(xt), 64):
            b = perm[i : i + 64]
            loss = nn.functional.cross_entropy(model(xt[b]), yt[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
    torch.set_num_threads(threads)
    return model.eval()


@pytest.fixture(scope="session")
def tiny_doodles(bitmaps, tmp_path_factory, quickdraw: Path) -> TinyModel:
    from inkrec.export.onnx import build_metadata, export_model
    from inkrec.preprocess.raster import RASTER_PARAMS

    classes, xtr, ytr, xte, yte = bitmaps
    model = train_tiny(xtr, ytr, len(classes))
    run_meta = {
        "format": "inkrec-run/1",
        "model": "tiny-cnn",
        "classes": classes,
        "input": {"kind": "bitmap", "size": 28, "channels": 1, "scale": 1 / 255},
        "preprocessing": dict(RASTER_PARAMS),
        "data": {"path": str(quickdraw / "numpy_bitmap"), "source": "quickdraw-bitmap"},
        "metrics": {"test": {"top1": 0.5}},
    }
    meta = build_metadata(run_meta, model_id="doodles")
    out = tmp_path_factory.mktemp("tiny") / "doodles.onnx"
    export_model(model, meta, out)
    return TinyModel(model, out, meta, xtr, xte, yte)


@pytest.fixture(scope="session")
def served_models(tiny_doodles: TinyModel) -> list[Path]:
    """What the server tests serve: the bundled models, and the small test model while no bundled doodles
    model exists."""
    from inkrec.runtime.onnx_model import read_metadata

    bundled = sorted((REPO / "models").glob("*.onnx"))
    if "doodles" not in {read_metadata(p)["id"] for p in bundled}:
        bundled.append(tiny_doodles.onnx_path)
    return bundled


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """`inkrec serve` in a child process on a free loopback port."""

    def __init__(
        self, args: list[str], cmd: list[str] | None = None, env: dict | None = None, start_s: float = 180
    ):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = Path(os.environ.get("TMPDIR", "/tmp")) / f"inkrec-serve-{self.port}.log"
        self._log = open(self.log, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [*(cmd or SERVE_CMD), "--port", str(self.port), *args],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=REPO,
            env=env,
        )
        deadline = time.monotonic() + start_s  # a fresh install compiles the ink kernels first
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited ({self.proc.returncode}):\n{self.log.read_text()}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"server did not come up:\n{self.log.read_text()}")
            time.sleep(0.1)

    def rss_kb(self) -> int:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


@pytest.fixture(scope="session")
def start_server():
    """Start more servers (with other options) inside a test; each is stopped at the end of the session."""
    started: list[LiveServer] = []

    def start(args: list[str], **kw) -> LiveServer:
        srv = LiveServer(args, **kw)
        started.append(srv)
        return srv

    yield start
    for srv in started:
        srv.stop()


@pytest.fixture(scope="session")
def server(served_models):
    srv = LiveServer([a for p in served_models for a in ("--model", str(p))])
    yield srv
    srv.stop()


@pytest.fixture()
def client(server):
    with httpx.Client(base_url=server.url, timeout=30) as c:
        yield c


@pytest.fixture(scope="session")
def drawings(quickdraw: Path, served_models):
    """Real drawings of the served doodle model's categories: (category, simplified record, raw record).

    The raw and simplified files hold the same key_ids; the test split (drawings 21-25) is used.
    """
    from inkrec.runtime.onnx_model import read_metadata

    labels = next(read_metadata(p)["labels"] for p in served_models if read_metadata(p)["id"] == "doodles")
    out = []
    for label in labels:
        simp = read_ndjson(quickdraw / "simplified" / f"{label}.ndjson")[20:25]
        raw = {r["key_id"]: r for r in read_ndjson(quickdraw / "raw" / f"{label}.ndjson")}
        for rec in simp[:2]:
            out.append((label, rec, raw.get(rec["key_id"])))
    return out


def read_ndjson(path: Path, n: int | None = None) -> list[dict]:
    out = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            out.append(json.loads(line))
            if n is not None and len(out) >= n:
                break
    return out
