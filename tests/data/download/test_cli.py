"""`inkrec data fetch ...` end to end against the loopback server: options, files, messages, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
from typer.testing import CliRunner

from inkrec.cli import app
from inkrec.data.download.engine import MANIFEST_NAME

runner = CliRunner()


def test_quickdraw_simplified_first_n_per_class(server, quickdraw, tmp_path):
    result = runner.invoke(app, [
        "data", "fetch", "quickdraw", "--categories", "cat,The Great Wall of China", "--format", "simplified",
        "--dest", str(tmp_path), "--max-per-class", "3", "--base-url", server.base_url, "--retries", "1"])
    assert result.exit_code == 0, result.output
    for cat in ("cat", "The Great Wall of China"):
        lines = (tmp_path / f"{cat}.ndjson").read_text().splitlines()
        assert lines == (quickdraw / "simplified" / f"{cat}.ndjson").read_text().splitlines()[:3]
    assert "fetched: cat.ndjson" in result.stderr and "first 3 per class" in result.stderr
    assert "2 file(s) in" in result.stderr


def test_quickdraw_categories_from_a_file_npy(server, quickdraw, tmp_path):
    listing = tmp_path / "classes.txt"
    listing.write_text("apple\nbanana\n", encoding="utf-8")
    out = tmp_path / "out"
    result = runner.invoke(app, [
        "data", "fetch", "quickdraw", "-c", f"@{listing}", "--dest", str(out), "-n", "50",
        "--base-url", server.base_url, "-q"])
    assert result.exit_code == 0, result.output
    assert result.stderr == ""  # --quiet
    for cat in ("apple", "banana"):
        got = np.load(out / f"{cat}.npy", mmap_mode="r", allow_pickle=False)
        src = np.load(quickdraw / "numpy_bitmap" / f"{cat}.npy", mmap_mode="r", allow_pickle=False)
        assert np.array_equal(got, src[:50])
    assert set(json.loads((out / MANIFEST_NAME).read_text())["files"]) == {"apple.npy", "banana.npy"}


def test_interrupted_download_is_resumed_by_the_next_command(server, quickdraw, tmp_path):
    server.cut_after["/full/numpy_bitmap/clock.npy"] = 777_777
    args = ["data", "fetch", "quickdraw", "-c", "clock", "--dest", str(tmp_path), "--base-url", server.base_url,
            "--retries", "0"]
    first = runner.invoke(app, args)
    assert first.exit_code == 2
    assert "error:" in first.stderr and "run the same command again to resume" in first.stderr
    assert "Traceback" not in first.output
    assert (tmp_path / "clock.npy.part").stat().st_size == 777_777

    second = runner.invoke(app, args)
    assert second.exit_code == 0, second.output
    assert server.requests_for("/full/numpy_bitmap/clock.npy")[-1]["range"] == "bytes=777777-"
    assert (tmp_path / "clock.npy").read_bytes() == (quickdraw / "numpy_bitmap" / "clock.npy").read_bytes()

    third = runner.invoke(app, args)
    assert third.exit_code == 0 and "already there: clock.npy" in third.stderr
    assert len(server.requests_for("/full/numpy_bitmap/clock.npy")) == 2


def test_unknown_category_messages(server, tmp_path):
    result = runner.invoke(app, ["data", "fetch", "quickdraw", "-c", "zebra,zebrra", "--format", "raw",
                                 "--dest", str(tmp_path), "--base-url", server.base_url])
    assert result.exit_code == 2
    assert "category 'zebrra' (raw) not found" in result.stderr and "HTTP 404" in result.stderr
    assert (tmp_path / "zebra.ndjson").is_file()

    official = runner.invoke(app, ["data", "fetch", "quickdraw", "-c", "zebrra", "--dest", str(tmp_path)])
    assert official.exit_code == 2 and "did you mean 'zebra'" in official.stderr  # no request was made

    missing = runner.invoke(app, ["data", "fetch", "quickdraw", "--dest", str(tmp_path)])
    assert missing.exit_code == 2 and "--categories is required" in missing.stderr


def test_list_prints_the_official_categories():
    result = runner.invoke(app, ["data", "fetch", "quickdraw", "--list"])
    assert result.exit_code == 0
    names = result.stdout.splitlines()
    assert len(names) == 345 and "zigzag" in names and "The Mona Lisa" in names


def test_mnist_checksum_mismatch_and_no_verify(server, datasets, tmp_path):
    base = server.base_url + "/mnist/"
    bad = runner.invoke(app, ["data", "fetch", "mnist", "--dest", str(tmp_path), "--base-url", base])
    assert bad.exit_code == 2 and "checksum mismatch" in bad.stderr and "Traceback" not in bad.output
    ok = runner.invoke(app, ["data", "fetch", "mnist", "--dest", str(tmp_path), "--base-url", base, "--no-verify"])
    assert ok.exit_code == 0, ok.output
    for name in ("train-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        assert (tmp_path / name).read_bytes() == (datasets / "mnist" / name).read_bytes()


def test_console_script_in_a_subprocess_reports_errors_without_traceback(server, tmp_path):
    code = "from inkrec.cli import app; app()"
    proc = subprocess.run(
        [sys.executable, "-c", code, "data", "fetch", "kmnist", "--dest", str(tmp_path),
         "--base-url", server.base_url + "/kmnist-missing/", "--retries", "0"],
        check=False, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "error: kmnist: could not fetch train-images-idx3-ubyte.gz" in proc.stderr
    assert "not found (HTTP 404)" in proc.stderr and "Traceback" not in proc.stderr
