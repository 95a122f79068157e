"""Fixtures for the serving tests: the bundled models, real drawings, and the real server on loopback."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from inkrec.runtime.onnx_model import read_metadata

REPO = Path(__file__).resolve().parents[2]
SERVE_CMD = [sys.executable, "-c", "from inkrec.cli import app; app()", "serve"]


@pytest.fixture(scope="session")
def served_models() -> list[Path]:
    """What the server tests serve: the bundled models (models/, rebuilt by scripts/build-models.sh)."""
    bundled = sorted((REPO / "models").glob("*.onnx"))
    if "doodles" not in {read_metadata(p)["id"] for p in bundled}:
        pytest.fail(f"the bundled doodles model is missing from {REPO / 'models'}: run scripts/build-models.sh")
    return bundled


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """`inkrec serve` in a child process on loopback: a free port, or the one given (a restart)."""

    def __init__(
        self,
        args: list[str],
        cmd: list[str] | None = None,
        env: dict | None = None,
        start_s: float = 180,
        port: int | None = None,
        wait: bool = True,
    ):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = Path(os.environ.get("TMPDIR", "/tmp")) / f"inkrec-serve-{self.port}.log"
        self._log = open(self.log, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [*(cmd or SERVE_CMD), "--port", str(self.port), *args],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=REPO,
            env=env,
        )
        if wait:
            self.wait_healthy(start_s)

    def wait_healthy(self, start_s: float = 180) -> None:
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
