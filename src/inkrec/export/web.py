"""Write the drawing page and its model(s) as a static site: a folder any web server can serve.

The folder holds the built page (the same files `inkrec serve` serves at `/`), onnxruntime-web's script
and .wasm, each model as `models/<id>.onnx`, and `models.json`: the model list the page would otherwise
ask the server for (`GET /v1/models`). All URLs are relative, so the folder works at any path of any
static server (Apache, nginx, GitHub Pages, `python -m http.server`) and from no internet at all: the
model runs in the visitor's browser.

Header files for hosts that read them (`_headers` for Netlify/Cloudflare Pages, `.htaccess` for Apache)
turn on cross-origin isolation, which lets the page run the model on several threads; without them it
runs on one thread, which is plenty for a 28x28 drawing.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

from inkrec.errors import ConfigError
from inkrec.page import check_built, page_files
from inkrec.runtime import metadata as md
from inkrec.runtime.onnx_model import read_metadata

MANIFEST_FORMAT = "inkrec-models/1"
# Fields of the model metadata that the page (and a person reading models.json) can use.
_PUBLIC_FIELDS = ("labels", "input", "preprocessing", "metrics", "dataset", "license", "attribution", "quantized",
                  "open_set", "teach")

_HEADERS = """/*
  Cross-Origin-Opener-Policy: same-origin
  Cross-Origin-Embedder-Policy: require-corp
"""
_HTACCESS = """# Cross-origin isolation lets the page run the model on several threads (it works without, on one).
<IfModule mod_headers.c>
  Header set Cross-Origin-Opener-Policy "same-origin"
  Header set Cross-Origin-Embedder-Policy "require-corp"
</IfModule>
AddType application/wasm .wasm
AddType text/javascript .js
"""
_README = """This folder is an inkrec drawing page: serve it with any static web server, for example

    python -m http.server 8000        (then open http://127.0.0.1:8000/)

The model runs in the visitor's browser (ONNX Runtime Web, WebAssembly); no server code is needed.
Files: index.html and its scripts, vendor/ (onnxruntime-web), models/*.onnx and models.json (the model
list, with labels, input size and the data set's licence and attribution).

To let the page use several threads, send these headers with every file (the page works without them,
on one thread):
    Cross-Origin-Opener-Policy: same-origin
    Cross-Origin-Embedder-Policy: require-corp
(_headers and .htaccess do this on Netlify, Cloudflare Pages and Apache; for nginx add
`add_header` lines for both.)
"""


def _as_paths(onnx_paths: str | os.PathLike | Iterable[str | os.PathLike]) -> list[Path]:
    if isinstance(onnx_paths, (str, os.PathLike)):
        return [Path(onnx_paths)]
    paths = [Path(p) for p in onnx_paths]
    if not paths:
        raise ConfigError("write_site needs at least one ONNX model")
    return paths


def _is_ours_or_empty(out_dir: Path) -> bool:
    if not out_dir.exists():
        return True
    if not out_dir.is_dir():
        return False
    return not any(out_dir.iterdir()) or (out_dir / "models.json").is_file() and (out_dir / "index.html").is_file()


_MANIFEST_META = '<meta name="inkrec-models" content="v1/models">'


def _point_page_at_manifest(index: Path) -> None:
    """Make the page read models.json instead of asking a server for GET v1/models."""
    html = index.read_text("utf-8")
    if _MANIFEST_META not in html:
        raise ConfigError(f"{index} does not declare where its model list comes from; rebuild the page")
    index.write_text(html.replace(_MANIFEST_META, '<meta name="inkrec-models" content="models.json">'), "utf-8")


def model_entry(meta: dict, url: str) -> dict:
    """One model of models.json: the same fields as the server's GET /v1/models, plus where the file is."""
    entry = {"id": meta["id"]}
    for key in _PUBLIC_FIELDS:
        if key in meta:
            entry[key] = meta[key]
    entry.setdefault("metrics", {})
    entry.update(md.page_fields(meta))
    entry["url"] = url
    return entry


def write_site(onnx_paths: str | os.PathLike | Iterable[str | os.PathLike], out_dir: str | os.PathLike, *,
               page_dir: str | os.PathLike | None = None) -> Path:
    """Write the page and the model(s) into `out_dir` as a static site; return `out_dir`.

    `out_dir` is replaced as a whole (built beside it, then swapped in), so a failed write never leaves a
    half-written site. It must be new, empty, or an earlier site written by this function: anything else
    is refused rather than overwritten.
    """
    paths = _as_paths(onnx_paths)
    out = Path(out_dir)
    files = page_files(page_dir)
    check_built(files)
    if not _is_ours_or_empty(out):
        raise ConfigError(f"{out} exists and is not an inkrec static site; refusing to overwrite it")

    metas = []
    for path in paths:
        meta = read_metadata(path)  # DataFormatError for a file that is not an inkrec model
        if any(m["id"] == meta["id"] for m, _ in metas):
            raise ConfigError(f"two models with the id {meta['id']!r}; export one with another --id")
        metas.append((meta, path))

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        for name, src in files.items():
            (tmp / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, tmp / name)
        _point_page_at_manifest(tmp / "index.html")
        (tmp / "models").mkdir(exist_ok=True)
        entries = []
        for meta, path in metas:
            shutil.copyfile(path, tmp / "models" / f"{meta['id']}.onnx")
            entries.append(model_entry(meta, f"models/{meta['id']}.onnx"))
        manifest = {"format": MANIFEST_FORMAT, "models": entries}
        (tmp / "models.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", "utf-8")
        (tmp / "_headers").write_text(_HEADERS, "utf-8")
        (tmp / ".htaccess").write_text(_HTACCESS, "utf-8")
        (tmp / "README.txt").write_text(_README, "utf-8")
        os.chmod(tmp, 0o755)
        old = None
        if out.exists():
            old = out.with_name(f".{out.name}.old-{os.getpid()}")
            os.replace(out, old)
        os.replace(tmp, out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out
