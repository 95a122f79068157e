"""The drawing page against the real `inkrec serve` on loopback, in Debian's headless Chromium."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from pagekit import canvas_mapper, last_input, open_page, read_guesses, replay, settle
from PIL import Image

pytestmark = pytest.mark.browser


def drawing(quickdraw: Path, category: str, index: int = 0) -> list:
    with open(quickdraw / "simplified" / f"{category}.ndjson", encoding="utf-8") as f:
        for i, line in enumerate(f):
            if i == index:
                return json.loads(line)["drawing"]
    raise IndexError(index)


def test_page_starts_in_browser_isolated_and_offline(page, server, second_meta):
    seen: list[str] = []
    page.on("request", lambda r: seen.append(r.url))
    st = open_page(page, server)
    assert st["backend"] == "wasm"
    assert st["models"] == ["doodles", second_meta["id"]]
    # The server sends COOP/COEP, so the page may use wasm threads.
    assert page.evaluate("() => crossOriginIsolated") is True
    # Everything the page loads comes from our own server: it works without internet.
    assert seen and all(u.startswith(server) for u in seen), [u for u in seen if not u.startswith(server)]
    assert page.get_by_test_id("model-picker").is_enabled()
    assert not page.errors, page.errors


def test_guesses_update_while_drawing_and_mid_drawing_screenshot(page, server, quickdraw, labels, artifacts):
    open_page(page, server + "?model=doodles")
    strokes = drawing(quickdraw, "bicycle", 3)
    half = max(1, len(strokes) // 2)
    seen_after: dict[int, list[str]] = {}

    def after_stroke(i: int) -> None:
        settle(page)
        seen_after[i] = read_guesses(page)
        if i == half - 1:
            page.screenshot(path=str(artifacts / "page-mid-drawing.png"))

    replay(page, strokes, between=after_stroke)
    # Guesses were there after every stroke, five of them, each starting with a label, with a bar.
    for i, texts in seen_after.items():
        assert len(texts) == 5, (i, texts)
        assert all(any(t.startswith(lab) for lab in labels) for t in texts), texts
    assert (artifacts / "page-mid-drawing.png").stat().st_size > 10_000
    # The small view shows exactly the model input.
    shown = page.evaluate("""() => {
        const c = document.querySelector('[data-testid=model-input]');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        return Array.from({length: c.width * c.height}, (_, i) => d[4 * i]);
    }""")
    assert np.array_equal(np.asarray(shown, dtype=np.uint8), last_input(page))
    assert page.evaluate("() => inkrec.lastInferenceMs") > 0


def test_guesses_update_during_a_stroke(page, server, quickdraw):
    """Live: the guesses follow the pen while a stroke is still being drawn (not only at pointer-up)."""
    open_page(page, server + "?model=doodles")
    to_page = canvas_mapper(page)
    xs, ys = drawing(quickdraw, "rainbow", 0)[0]
    page.mouse.move(*to_page(xs[0], ys[0]))
    page.mouse.down()
    for x, y in zip(xs[1:], ys[1:]):
        page.mouse.move(*to_page(x, y))
    settle(page)
    assert page.evaluate("() => inkrec.strokes.length") == 1
    assert len(read_guesses(page)) == 5
    assert last_input(page).any()
    page.mouse.up()


def test_clear_and_undo(page, server, quickdraw):
    open_page(page, server + "?model=doodles")
    strokes = drawing(quickdraw, "house", 1)
    assert len(strokes) >= 2
    replay(page, strokes[:1])
    settle(page)
    after_first = last_input(page)
    replay(page, strokes[1:])
    settle(page)
    assert page.evaluate("() => inkrec.strokes.length") == len(strokes)
    assert not np.array_equal(last_input(page), after_first)

    for _ in strokes[1:]:
        page.get_by_test_id("undo").click()
    settle(page)
    assert page.evaluate("() => inkrec.strokes.length") == 1
    assert np.array_equal(last_input(page), after_first)

    page.get_by_test_id("clear").click()
    settle(page)
    assert page.evaluate("() => inkrec.strokes.length") == 0
    assert not last_input(page).any()
    assert page.locator("[data-testid^=guess-]").count() == 0
    assert page.get_by_test_id("clear").is_disabled()

    # Keyboard: Escape clears too.
    replay(page, strokes)
    settle(page)
    page.get_by_test_id("ink-canvas").focus()
    page.keyboard.press("Escape")
    settle(page)
    assert page.evaluate("() => inkrec.strokes.length") == 0


def test_model_picker_switches_models(page, server, quickdraw, second_meta):
    second = second_meta
    open_page(page, server)
    replay(page, drawing(quickdraw, "clock", 2))
    settle(page)
    assert page.evaluate("() => inkrec.model") == "doodles"
    assert last_input(page).size == 28 * 28

    page.get_by_test_id("model-picker").select_option(second["id"])
    page.wait_for_function("id => inkrec.model === id", arg=second["id"])
    settle(page)
    inp = last_input(page)
    assert inp.size == 64 * 64 and inp.any()
    assert page.get_by_test_id("model-input").evaluate("c => [c.width, c.height]") == [64, 64]
    texts = read_guesses(page)
    assert len(texts) == 5
    assert all(any(t.startswith(lab) for lab in second["labels"]) for t in texts), texts
    # The 18-class model's labels that the 6-class model lacks must be gone.
    assert not any(t.startswith(("airplane", "bicycle", "dog")) for t in texts)

    page.get_by_test_id("model-picker").select_option("doodles")
    page.wait_for_function("() => inkrec.model === 'doodles'")
    settle(page)
    assert last_input(page).size == 28 * 28


def test_touch_and_pen_input(page, server, quickdraw):
    """A finger (touch events) and a pen draw strokes just like the mouse."""
    open_page(page, server + "?model=doodles")
    to_page = canvas_mapper(page)
    cdp = page.context.new_cdp_session(page)
    first, second = drawing(quickdraw, "house", 1)[:2]
    pts = [to_page(x, y) for x, y in zip(*first)]
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": pts[0][0], "y": pts[0][1]}]})
    for x, y in pts[1:]:
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    settle(page)
    assert page.evaluate("() => inkrec.strokes.length") == 1
    assert page.evaluate("() => inkrec.strokes[0][0].length") >= 2

    pts = [to_page(x, y) for x, y in zip(*second)]
    pen = {"pointerType": "pen", "button": "left", "buttons": 1, "clickCount": 1}
    cdp.send("Input.dispatchMouseEvent", {"type": "mousePressed", "x": pts[0][0], "y": pts[0][1], **pen})
    for x, y in pts[1:]:
        cdp.send("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": x, "y": y, **pen})
    cdp.send("Input.dispatchMouseEvent", {"type": "mouseReleased", "x": pts[-1][0], "y": pts[-1][1], **pen})
    settle(page)
    assert page.evaluate("() => inkrec.strokes.length") == 2
    assert len(read_guesses(page)) == 5


def test_upload_a_picture(page, server, quickdraw, labels):
    """When the model runs on the server, the upload tab sends the file to POST /v1/predict and shows the
    server's guesses (in-browser reading is test_static_site.py's)."""
    from inkrec.data.formats.numpy_bitmap import load_bitmaps

    row = np.asarray(load_bitmaps(quickdraw / "numpy_bitmap" / "eye.npy")[-1]).reshape(28, 28)
    # A person's upload: big, dark ink on white paper.
    img = Image.fromarray(255 - row).resize((256, 256), Image.Resampling.BILINEAR)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    assert open_page(page, server + "?model=doodles&backend=api")["backend"] == "api"
    page.get_by_test_id("tab-upload").click()
    with page.expect_response(lambda r: r.url.endswith("/v1/predict")) as resp:
        page.get_by_test_id("upload-file").set_input_files(
            files=[{"name": "eye.png", "mimeType": "image/png", "buffer": buf.getvalue()}])
    body = resp.value.json()
    assert resp.value.status == 200, body
    page.wait_for_function("() => inkrec.lastPredictions.length === 5")
    texts = read_guesses(page)
    assert texts[0].startswith(body["predictions"][0]["label"])
    assert all(any(t.startswith(lab) for lab in labels) for t in texts)


def test_page_is_usable_on_a_phone_screen(browser_context, server):
    pg = browser_context.new_page()
    pg.set_viewport_size({"width": 390, "height": 844})
    try:
        open_page(pg, server)
        box = pg.get_by_test_id("ink-canvas").bounding_box()
        assert 300 <= box["width"] <= 390 and abs(box["width"] - box["height"]) < 2
        # No horizontal scrolling on a narrow screen.
        assert pg.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
        assert pg.evaluate("() => getComputedStyle(document.querySelector('[data-testid=ink-canvas]')).touchAction") == "none"
    finally:
        pg.close()


AXE = Path(__file__).resolve().parents[2] / "web" / "node_modules" / "axe-core" / "axe.min.js"


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_accessibility_audit(page, server, quickdraw, scheme):
    """axe-core (installed by npm from web/package-lock.json) finds no serious or critical problem."""
    if not AXE.is_file():
        pytest.fail(f"{AXE} missing: run `npm ci` in web/ (scripts/setup.sh does)")
    page.emulate_media(color_scheme=scheme)
    open_page(page, server)
    replay(page, drawing(quickdraw, "eye", 2))
    settle(page)
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    bad = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in result["violations"]
           if v["impact"] in ("serious", "critical")]
    assert not bad, bad
