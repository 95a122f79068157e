"""The built page in src/inkrec/serve/static/ is what web/ builds: nothing stale, nothing from elsewhere."""

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
PAGE = re.compile(r"\.(html|js|css|svg)$")


def test_static_copy_matches_sources(page_built: Path):
    build = json.loads((STATIC_DIR / "build.json").read_text())
    sources = sorted(p.name for p in (WEB / "src").iterdir() if p.is_file() and PAGE.search(p.name))
    assert "ink.js" in sources and "app.js" in sources
    for name in sources:
        assert (STATIC_DIR / name).read_bytes() == (WEB / "src" / name).read_bytes(), (
            f"{name} in the built page differs from web/src: run `node build.mjs` in web/")
    for rel, digest in build["files"].items():
        assert hashlib.sha256((STATIC_DIR / rel).read_bytes()).hexdigest() == digest, rel
    lock = json.loads((WEB / "package-lock.json").read_text())
    assert build["onnxruntime_web"] == lock["packages"]["node_modules/onnxruntime-web"]["version"]


def test_page_loads_nothing_from_elsewhere(page_built: Path):
    for name in ("index.html", "app.js", "pad.js", "runtime.js", "style.css"):
        text = (STATIC_DIR / name).read_text()
        assert not re.search(r"""(src|href)\s*=\s*["'](https?:)?//""", text), name
        assert not re.search(r"""(import|fetch)\s*\(?\s*["']https?://""", text), name
        assert "@import" not in text and "fonts.googleapis" not in text, name


def test_build_is_reproducible(page_built: Path, tmp_path: Path):
    node = shutil.which("node")
    if node is None or not (WEB / "node_modules" / "onnxruntime-web").is_dir():
        pytest.skip("node or web/node_modules missing (scripts/setup.sh installs them)")
    out = tmp_path / "static"
    subprocess.run([node, "build.mjs", str(out)], cwd=WEB, check=True, capture_output=True, timeout=120)
    fresh = json.loads((out / "build.json").read_text())
    assert fresh == json.loads((STATIC_DIR / "build.json").read_text())
