"""The API docs at /docs render in a real browser with every non-loopback host blocked: Swagger UI comes
from the server itself, not from a CDN."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.browser

LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


def test_docs_render_offline(page, server, artifacts):
    blocked: list[str] = []

    def only_loopback(route):
        if urlsplit(route.request.url).hostname in LOOPBACK:
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort("internetdisconnected")

    page.route("**/*", only_loopback)
    failed: list[str] = []
    page.on("requestfailed", lambda r: failed.append(r.url))
    page.goto(server + "docs")
    page.wait_for_selector(".opblock-summary-path", timeout=30_000)
    paths = page.eval_on_selector_all(".opblock-summary-path", "els => els.map(e => e.textContent.trim())")
    assert {"/v1/predict", "/v1/models", "/v1/models/{model_id}", "/healthz"} <= set(paths), paths
    assert page.locator(".info .title").first.inner_text().startswith("inkrec")
    # open one operation: its request body and the schemas render from /openapi.json
    page.locator(".opblock-summary-path", has_text="/v1/predict").first.click()
    page.wait_for_selector(".opblock-body", timeout=10_000)
    assert "PredictRequest" in page.locator("body").inner_text()
    page.screenshot(path=str(artifacts / "api-docs-offline.png"))
    assert not blocked, blocked  # nothing was even asked of another host
    assert not failed and not page.errors, (failed, page.errors)
