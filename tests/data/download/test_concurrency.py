"""Several fetches into one destination at once, and files damaged after they arrived.

Two `inkrec data fetch` processes started together must both succeed and leave exactly the published
bytes (one waits for the other's file, then finds it verified); a file whose bytes no longer match the
manifest's sha256 is fetched again, not reported as already there.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from inkrec.cli import app
from inkrec.data.download.engine import MANIFEST_NAME
from inkrec.data.download.quickdraw import fetch_quickdraw

CAT = "/full/numpy_bitmap/cat.npy"
runner = CliRunner()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _fetch_process(server, dest: Path, categories: str) -> subprocess.Popen:
    code = "from inkrec.cli import app; app()"
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            code,
            "data",
            "fetch",
            "quickdraw",
            "-c",
            categories,
            "--dest",
            str(dest),
            "--base-url",
            server.base_url,
            "--retries",
            "2",
            "--timeout",
            "20",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_two_fetch_processes_into_one_folder_both_succeed_with_the_published_bytes(
    server, quickdraw, tmp_path
):
    server.slow[CAT] = 0.03  # about 3 s for the 6 MB file: the two transfers overlap
    server.slow["/full/numpy_bitmap/apple.npy"] = 0.03
    procs = [_fetch_process(server, tmp_path, "cat"), _fetch_process(server, tmp_path, "apple,cat")]
    outs = [p.communicate(timeout=120) for p in procs]
    for p, (_out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err
        assert "Traceback" not in err
    for name in ("cat", "apple"):
        src = quickdraw / "numpy_bitmap" / f"{name}.npy"
        got = tmp_path / f"{name}.npy"
        assert got.stat().st_size == src.stat().st_size
        assert _sha256(got) == _sha256(src)
    manifest = json.loads((tmp_path / MANIFEST_NAME).read_text())
    assert set(manifest["files"]) == {"cat.npy", "apple.npy"}  # neither process lost the other's entry
    assert manifest["files"]["cat.npy"]["sha256"] == _sha256(quickdraw / "numpy_bitmap" / "cat.npy")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["apple.npy", "cat.npy", MANIFEST_NAME]
    # one process fetched cat.npy, the other found it whole
    assert sum("fetched: cat.npy" in err for _out, err in outs) == 1
    assert sum("already there: cat.npy" in err for _out, err in outs) == 1


def test_a_damaged_file_is_detected_and_fetched_again(server, fetcher, quickdraw, tmp_path):
    src = quickdraw / "numpy_bitmap" / "cat.npy"
    fetch_quickdraw("cat", "numpy_bitmap", tmp_path, base_url=server.base_url, fetcher=fetcher)
    with open(tmp_path / "cat.npy", "r+b") as fh:  # same size, one byte changed
        fh.seek(5000)
        fh.write(bytes([fh.read(1)[0] ^ 0xFF]))
    assert _sha256(tmp_path / "cat.npy") != _sha256(src)
    result = runner.invoke(
        app,
        ["data", "fetch", "quickdraw", "-c", "cat", "--dest", str(tmp_path), "--base-url", server.base_url],
    )
    assert result.exit_code == 0, result.output
    assert "fetched: cat.npy" in result.stderr and "already there" not in result.stderr
    assert _sha256(tmp_path / "cat.npy") == _sha256(src)
    assert len(server.requests_for(CAT)) == 2
    again = runner.invoke(
        app,
        ["data", "fetch", "quickdraw", "-c", "cat", "--dest", str(tmp_path), "--base-url", server.base_url],
    )
    assert again.exit_code == 0 and "already there: cat.npy" in again.stderr
    assert len(server.requests_for(CAT)) == 2
