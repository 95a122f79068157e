"""The page in src/inkrec/serve/static/ ships exactly the onnxruntime-web that web/ pins, and loads nothing from elsewhere."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from inkrec.export.web import STATIC_DIR

WEB = Path(__file__).resolve().parents[2] / "web"
VENDOR = STATIC_DIR / "vendor"


def test_vendored_runtime_matches_the_lockfile(page_built: Path):
    build = json.loads((VENDOR / "build.json").read_text())
    assert set(build["files"]) == {p.name for p in VENDOR.iterdir() if p.name != "build.json"}, (
        "static/vendor holds files the build did not write: run `node build.mjs` in web/")
    for rel, digest in build["files"].items():
        assert hashlib.sha256((VENDOR / rel).read_bytes()).hexdigest() == digest, rel
    lock = json.loads((WEB / "package-lock.json").read_text())
    assert build["onnxruntime_web"] == lock["packages"]["node_modules/onnxruntime-web"]["version"]


def test_page_scripts_import_only_page_files(page_built: Path):
    for name in ("app.js", "pad.js", "runtime.js", "ink.js", "picture.js"):
        text = (STATIC_DIR / name).read_text()
        for target in re.findall(r"""(?:from|import\()\s*["'](\.[^"']+)["']""", text):
            assert (STATIC_DIR / target).resolve().is_file(), f"{name} imports {target}, which is not in the page"


def test_page_loads_nothing_from_elsewhere(page_built: Path):
    for name in ("index.html", "app.js", "pad.js", "runtime.js", "ink.js", "picture.js", "style.css"):
        text = (STATIC_DIR / name).read_text()
        assert not re.search(r"""(src|href)\s*=\s*["'](https?:)?//""", text), name
        assert not re.search(r"""(import|fetch)\s*\(?\s*["']https?://""", text), name
        assert "@import" not in text and "fonts.googleapis" not in text, name


def test_build_is_reproducible(page_built: Path, tmp_path: Path):
    node = shutil.which("node")
    if node is None or not (WEB / "node_modules" / "onnxruntime-web").is_dir():
        pytest.skip("node or web/node_modules missing (scripts/setup.sh installs them)")
    out = tmp_path / "vendor"
    subprocess.run([node, "build.mjs", str(out)], cwd=WEB, check=True, capture_output=True, timeout=120)
    fresh = json.loads((out / "build.json").read_text())
    assert fresh == json.loads((VENDOR / "build.json").read_text())
