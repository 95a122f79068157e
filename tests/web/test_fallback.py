"""Where the browser cannot run the model (no WebAssembly, or the runtime fails to load), the page still
guesses, through the server's POST /v1/predict, and never hangs."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from pagekit import launch, open_page, read_guesses, replay, settle

pytestmark = pytest.mark.browser


def _drawing(quickdraw: Path, category: str, index: int) -> list:
    lines = (quickdraw / "simplified" / f"{category}.ndjson").read_text(encoding="utf-8").splitlines()
    return json.loads(lines[index])["drawing"]


def _draw_and_compare_with_api(pg, server: str, strokes: list) -> None:
    replay(pg, strokes)
    settle(pg)
    raw = pg.evaluate("() => inkrec.strokes")
    shown = read_guesses(pg)
    assert len(shown) == 5
    # The page shows what the API answers for the strokes it recorded.
    r = httpx.post(server + "v1/predict", json={"model": "doodles", "strokes": raw, "top_k": 5}, timeout=10)
    assert r.status_code == 200, r.text
    labels = [p["label"] for p in r.json()["predictions"]]
    assert all(t.startswith(lab) for t, lab in zip(shown, labels, strict=True)), (shown, labels)
    # The model input view is still drawn (ink.js needs no WebAssembly).
    assert pg.evaluate("() => inkrec.lastInput.some(v => v > 0)")


@pytest.mark.parametrize("how", ["jitless", "deleted"])
def test_no_webassembly_falls_back_to_the_api(playwright_instance, tmp_path_factory, server, quickdraw, how):
    # jitless: V8 without its JIT has no WebAssembly at all, as in browsers' hardened modes (Lockdown Mode,
    # Edge's enhanced security); `--noexpose_wasm` no longer hides it in current Chromium.
    # deleted: a browser whose JavaScript simply has no WebAssembly object.
    flags = ["--js-flags=--jitless"] if how == "jitless" else []
    ctx = launch(playwright_instance, tmp_path_factory.mktemp("profile-nowasm"), flags)
    if how == "deleted":
        ctx.add_init_script("delete globalThis.WebAssembly;")
    try:
        pg = ctx.new_page()
        errors: list[str] = []
        pg.on("pageerror", lambda e: errors.append(str(e)))
        st = open_page(pg, server + "?model=doodles")
        assert pg.evaluate("() => typeof WebAssembly") == "undefined"
        assert st["backend"] == "api"
        with pg.expect_request(lambda r: r.url.endswith("/v1/predict") and r.method == "POST"):
            _draw_and_compare_with_api(pg, server, _drawing(quickdraw, "fish", 4))
        assert not errors, errors
    finally:
        ctx.close()


def test_runtime_that_cannot_load_falls_back_to_the_api(browser_context, server, quickdraw):
    """The .wasm cannot be fetched (a proxy strips it, say): the page must not hang waiting for it."""
    pg = browser_context.new_page()
    try:
        pg.route("**/*.wasm", lambda route: route.abort())
        st = open_page(pg, server + "?model=doodles", timeout_ms=20_000)
        assert st["backend"] == "api"
        _draw_and_compare_with_api(pg, server, _drawing(quickdraw, "apple", 7))
    finally:
        pg.close()


def test_server_errors_are_shown_and_not_retried_every_frame(browser_context, server, quickdraw):
    """With the server answering errors, the page says so, sends nothing more until the drawing changes,
    and recovers when the server does."""
    pg = browser_context.new_page()
    try:
        st = open_page(pg, server + "?model=doodles&backend=api")
        assert st["backend"] == "api"
        sent: list[str] = []
        pg.on("request", lambda r: sent.append(r.url) if r.url.endswith("/v1/predict") else None)
        pg.route("**/v1/predict", lambda route: route.fulfill(
            status=503, content_type="application/json",
            body='{"error": {"code": "overloaded", "message": "the server is busy"}}'))
        strokes = _drawing(quickdraw, "book", 3)
        replay(pg, strokes[:1])
        settle(pg)
        assert "the server is busy" in pg.locator("#status").text_content()
        n = len(sent)
        pg.wait_for_timeout(1000)
        assert len(sent) == n, "the page kept asking a failing server"

        pg.unroute("**/v1/predict")
        replay(pg, strokes[1:] or strokes[:1])
        settle(pg)
        assert len(read_guesses(pg)) == 5
        assert pg.locator("#status").text_content().startswith("Ready")
    finally:
        pg.close()
