"""The drawing page at `/`: exactly the files of `inkrec.page.page_files()`, answering whatever no API route
matched (a mount at "/" would also swallow the API's 405s, e.g. GET /v1/predict). Without a built page, a
plain page says what is loaded and where the API is."""

from __future__ import annotations

import html
import mimetypes
import os
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from inkrec.page import page_files
from inkrec.serve.dependencies import RegistryDep
from inkrec.serve.runtime import NO_MODELS

# Browsers compile WebAssembly while it downloads only when it is served as application/wasm.
mimetypes.add_type("application/wasm", ".wasm")
mimetypes.add_type("text/javascript", ".mjs")
mimetypes.add_type("application/octet-stream", ".onnx")


class PageFiles(StaticFiles):
    """The page's tree (`inkrec.page.page_files`) and nothing else: no directory listing, no Python source."""

    def __init__(self, files: dict[str, Path]):
        super().__init__(html=True, check_dir=False)
        self.files = files

    def lookup_path(self, path: str) -> tuple[str, os.stat_result | None]:
        name = "index.html" if path in ("", ".") else Path(path).as_posix()
        file = self.files.get(name)
        if file is None:
            return "", None
        try:
            return str(file), os.stat(file)
        except OSError:
            return "", None


fallback = APIRouter(include_in_schema=False)


@fallback.get("/", response_class=HTMLResponse)
async def plain_page(registry: RegistryDep) -> HTMLResponse:
    """A plain page for when the drawing page has not been built: what is loaded, and where the API is."""
    if len(registry):
        items = "".join(
            f"<li><b>{html.escape(m.id)}</b>: {len(m.labels)} classes "
            f"({html.escape(', '.join(m.labels[:8]))}{', ...' if len(m.labels) > 8 else ''})</li>"
            for m in registry.models.values()
        )
        body = f"<p>Models:</p><ul>{items}</ul>"
    else:
        body = f"<p>{html.escape(NO_MODELS)}</p>"
    return HTMLResponse(
        "<!doctype html><html><head><meta charset='utf-8'><title>inkrec</title></head><body>"
        f"<h1>inkrec</h1>{body}<p>The drawing page is not built in this install. API: "
        "<a href='/docs'>/docs</a>, <a href='/v1/models'>/v1/models</a>.</p></body></html>"
    )


def add_page(app: FastAPI, page_dir: str | Path | None) -> None:
    """Serve the page from `page_dir` (default: the packaged page), or the plain page without one."""
    files = page_files(page_dir)
    if "index.html" in files:
        app.router.default = PageFiles(files)
    else:
        app.include_router(fallback)
