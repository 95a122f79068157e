"""Running the page's JavaScript twins (ink.js, picture.js) under node, for the parity tests."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

STATIC = Path(__file__).resolve().parents[2] / "src" / "inkrec" / "preprocess"  # the twins, beside their Python


def node() -> str:
    """The node executable; a missing node fails the test (it never skips it)."""
    found = shutil.which("node")
    if found is None:
        pytest.fail(f"node (v20+) is needed to run the page's scripts in {STATIC}; install Node.js")
    return found


def run_harness(harness: Path, job: dict, tmp_path: Path) -> dict:
    """Hand `job` to a node harness script as a JSON file; its stdout, parsed as JSON."""
    job_file = tmp_path / "job.json"
    job_file.write_text(json.dumps(job))
    proc = subprocess.run(
        [node(), str(harness), str(job_file)], check=False, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def run_script(body: str, tmp_path: Path) -> dict:
    """Run an ES module whose `{static}` placeholder names the folder of the page's preprocessing twins (as a file URL);
    its stdout, parsed as JSON."""
    script = tmp_path / "script.mjs"
    script.write_text(body.replace("{static}", STATIC.as_uri()))
    proc = subprocess.run([node(), str(script)], check=False, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)
