"""The API docs at /docs load Swagger UI from the server itself: nothing from a CDN, every asset served."""

from __future__ import annotations

import hashlib
import json
import re

from inkrec.page import PAGE_DIR


def test_docs_page_references_only_its_own_assets(client):
    r = client.get("/docs")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    html = r.text
    assert not re.search(r"https?://", html), html
    assert '"validatorUrl": null' in html  # no schema URL sent to validator.swagger.io
    refs = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html)
    refs += re.findall(r"""url:\s*'([^']+)'""", html)
    assert {"/docs/swagger-ui-bundle.js", "/docs/swagger-ui.css", "/openapi.json"} <= set(refs), refs
    build = json.loads((PAGE_DIR / "vendor" / "build.json").read_text())["files"]
    for ref in refs:
        got = client.get(ref)
        assert got.status_code == 200, ref
        assert got.headers["cross-origin-embedder-policy"] == "require-corp", ref
        name = ref.rsplit("/", 1)[1]
        if f"swagger/{name}" in build:  # exactly the vendored, pinned file
            assert hashlib.sha256(got.content).hexdigest() == build[f"swagger/{name}"], ref
    assert client.get("/docs/swagger-ui-bundle.js").headers["content-type"].split(";")[0].endswith("javascript")
    assert client.get("/docs/swagger-ui.css").headers["content-type"].startswith("text/css")


def test_docs_serve_only_the_swagger_files(client):
    for path in ("/docs/build.json", "/docs/..%2F__init__.py", "/docs/swagger-ui.css.map", "/redoc"):
        r = client.get(path)
        assert r.status_code == 404, path
