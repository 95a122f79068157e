"""The page in src/inkrec/page/ ships exactly the onnxruntime-web and Swagger UI that web/ pins, and loads nothing
from elsewhere."""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from inkrec.page import PAGE_DIR, page_files

WEB = Path(__file__).resolve().parents[2] / "web"
VENDOR = PAGE_DIR / "vendor"


def test_vendored_files_match_the_lockfile(page_built: Path):
    build = json.loads((VENDOR / "build.json").read_text())
    on_disk = {p.relative_to(VENDOR).as_posix() for p in VENDOR.rglob("*") if p.is_file()} - {"build.json"}
    assert set(build["files"]) == on_disk, (
        "page/vendor holds files the build did not write: run `node build.mjs` in web/")
    for rel, digest in build["files"].items():
        assert hashlib.sha256((VENDOR / rel).read_bytes()).hexdigest() == digest, rel
    lock = json.loads((WEB / "package-lock.json").read_text())
    package = json.loads((WEB / "package.json").read_text())
    for name, key in (("onnxruntime-web", "onnxruntime_web"), ("swagger-ui-dist", "swagger_ui_dist")):
        assert build[key] == lock["packages"][f"node_modules/{name}"]["version"], name
        assert package["dependencies"][name] == build[key], f"{name} is pinned to one exact version"
    # what the API docs load, with the licences that travel with them
    for name in ("swagger-ui-bundle.js", "swagger-ui.css", "LICENSE-swagger-ui.txt", "NOTICE-swagger-ui.txt",
                 "swagger-ui-bundle.js.LICENSE.txt"):
        assert f"swagger/{name}" in build["files"], name
    assert "sourceMappingURL" not in (VENDOR / "swagger" / "swagger-ui.css").read_text()


def test_page_scripts_import_only_page_files(page_built: Path):
    files = page_files()
    for name in ("app.js", "pad.js", "runtime.js", "preprocess/ink.js", "preprocess/picture.js"):
        text = files[name].read_text()
        for target in re.findall(r"""(?:from|import\()\s*["'](\.[^"']+)["']""", text):
            url = posixpath.normpath(posixpath.join(posixpath.dirname(name), target))
            assert url in files, f"{name} imports {target}, which is not in the page"


def test_page_loads_nothing_from_elsewhere(page_built: Path):
    files = page_files()
    for name in ("index.html", "app.js", "pad.js", "runtime.js", "preprocess/ink.js", "preprocess/picture.js",
                 "style.css"):
        text = files[name].read_text()
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
