"""The page's "Teach me" and "not sure", in Debian's headless Chromium against the real server."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import numpy as np
import pytest
from pagekit import open_page, replay_events, settle

from inkrec.export.teach import read_page_file, teach_model
from inkrec.preprocess.batch import bitmap_batch, rasterize_drawings
from inkrec.runtime.onnx_model import OnnxModel

pytestmark = pytest.mark.browser

NEW = "snail"  # not one of the doodles model's 18 categories


def drawings(quickdraw: Path, category: str) -> list:
    with open(quickdraw / "simplified" / f"{category}.ndjson", encoding="utf-8") as f:
        return [json.loads(line)["drawing"] for line in f if line.strip()]


def teach_one(page, label: str, strokes) -> None:
    replay_events(page, strokes)
    settle(page)
    page.get_by_test_id("teach-label").fill(label)
    page.get_by_test_id("teach-add").click()


def top_guess(page) -> str:
    return page.evaluate("() => inkrec.lastPredictions[0].label")


def test_teach_a_category_from_five_drawings_then_guess_the_sixth(page, server, quickdraw, tmp_path, labels):
    assert NEW not in labels
    snails = drawings(quickdraw, NEW)
    open_page(page, server + "?model=doodles")
    page.evaluate("() => new Promise((r) => { const q = indexedDB.deleteDatabase('inkrec-teach'); "
                  "q.onsuccess = q.onerror = q.onblocked = r; })")
    page.reload()
    open_page(page, server + "?model=doodles")
    # before teaching, the sixth snail is one of the 18 known things
    replay_events(page, snails[5])
    settle(page)
    assert top_guess(page) != NEW
    page.get_by_test_id("clear").click()
    for k in range(5):
        teach_one(page, NEW, snails[k])
        page.wait_for_function(f"() => document.querySelector('[data-testid=\"taught-{NEW}\"]')?.textContent"
                               f".startsWith('{NEW}: {k + 1} drawing')")
        assert page.get_by_test_id("clear").is_disabled()  # the pad is cleared for the next drawing
    replay_events(page, snails[5])
    settle(page)
    assert top_guess(page) == NEW
    assert page.get_by_test_id("guess-0").text_content().startswith(NEW)

    # kept in the browser across a reload (IndexedDB)
    page.reload()
    open_page(page, server + "?model=doodles")
    page.wait_for_function(f"() => document.querySelector('[data-testid=\"taught-{NEW}\"]')")
    assert page.get_by_test_id(f"taught-{NEW}").text_content().startswith(f"{NEW}: 5 drawings")
    replay_events(page, snails[5])
    settle(page)
    assert top_guess(page) == NEW

    # exported for the server: `inkrec teach --from-page` makes a model that guesses the same
    with page.expect_download() as dl:
        page.get_by_test_id("teach-export").click()
    exported = tmp_path / "taught.json"
    dl.value.save_as(exported)
    doc = json.loads(exported.read_text("utf-8"))
    assert doc["format"] == "inkrec-page-teach/1" and doc["model"] == "doodles"
    assert [c["label"] for c in doc["classes"]] == [NEW] and len(doc["classes"][0]["drawings"]) == 5
    assert not page.errors, page.errors


# Every IndexedDB answer comes late, as on a busy device: long enough for the next drawing to begin while a
# drawing is still being stored.
SLOW_STORAGE = """(() => {
  const d = Object.getOwnPropertyDescriptor(IDBRequest.prototype, "onsuccess");
  Object.defineProperty(IDBRequest.prototype, "onsuccess", { ...d, set(fn) {
    d.set.call(this, fn && ((e) => setTimeout(() => fn.call(this, e), 300))); } });
})()"""


def test_quick_adds_keep_every_drawing_apart_while_storage_is_slow(page, server, quickdraw, tmp_path):
    snails = drawings(quickdraw, NEW)[:5]
    page.add_init_script(SLOW_STORAGE)
    open_page(page, server + "?model=doodles")
    page.evaluate("() => new Promise((r) => { const q = indexedDB.deleteDatabase('inkrec-teach'); "
                  "q.onsuccess = q.onerror = q.onblocked = r; })")
    page.reload()
    open_page(page, server + "?model=doodles")
    for snail in snails:
        teach_one(page, NEW, snail)
        assert page.get_by_test_id("clear").is_disabled()  # the pad is emptied at the click, not once stored
    page.wait_for_function(f"() => document.querySelector('[data-testid=\"taught-{NEW}\"]')?.textContent"
                           f".startsWith('{NEW}: 5 drawings')")
    with page.expect_download() as dl:
        page.get_by_test_id("teach-export").click()
    exported = tmp_path / "taught.json"
    dl.value.save_as(exported)
    stored = json.loads(exported.read_text("utf-8"))["classes"][0]["drawings"]
    # one drawing per click, none merged with the next: each has the strokes that were drawn
    assert [len(d) for d in stored] == [len(s) for s in snails]
    assert [[len(x) for x, *_ in d] for d in stored] == [[len(xs) for xs, *_ in s] for s in snails]
    assert not page.errors, page.errors


def test_page_file_becomes_a_model_that_agrees(page, server, quickdraw, tmp_path, doodles_onnx):
    """The page's export, taught with `inkrec teach --from-page`, scores like the page did."""
    snails = drawings(quickdraw, NEW)
    open_page(page, server + "?model=doodles")
    page.evaluate("() => new Promise((r) => { const q = indexedDB.deleteDatabase('inkrec-teach'); "
                  "q.onsuccess = q.onerror = q.onblocked = r; })")
    page.reload()
    open_page(page, server + "?model=doodles")
    for k in range(5):
        teach_one(page, NEW, snails[k])
    page.wait_for_function(f"() => document.querySelector('[data-testid=\"taught-{NEW}\"]')?.textContent"
                           f".startsWith('{NEW}: 5 drawings')")
    with page.expect_download() as dl:
        page.get_by_test_id("teach-export").click()
    exported = tmp_path / "taught.json"
    dl.value.save_as(exported)
    replay_events(page, snails[6])
    settle(page)
    in_page = page.evaluate("() => inkrec.lastPredictions.map((p) => [p.label, p.probability])")

    model = OnnxModel(doodles_onnx)
    classes, _ = read_page_file(exported, model.spec)
    out = tmp_path / "taught.onnx"
    teach_model(doodles_onnx, classes, out)
    taught = OnnxModel(out)
    x = bitmap_batch(rasterize_drawings([[np.asarray(s, float) for s in snails[6]]], taught.spec), taught.spec)
    probs = taught.predict(x)[0]
    assert taught.labels[int(probs.argmax())] == in_page[0][0]
    for label, p in in_page:
        assert abs(float(probs[taught.labels.index(label)]) - p) < 0.02, (label, p)


def test_page_says_not_sure_like_the_server(page, server, quickdraw, doodles_onnx):
    model = OnnxModel(doodles_onnx)
    if model.open_set is None:
        pytest.fail("the doodles model carries no open-set rule")
    spiders = drawings(quickdraw, "spider")
    x = bitmap_batch(rasterize_drawings([[np.asarray(s, float) for s in d] for d in spiders], model.spec), model.spec)
    _, scores = model.predict_open(x)
    unsure = int(np.argmin(scores))
    sure_known = drawings(quickdraw, "rainbow")[0]
    assert scores[unsure] < model.open_set["threshold"]

    api = httpx.post(server + "v1/predict", json={"model": "doodles", "strokes": spiders[unsure]}).json()
    assert api["not_sure"] is True and len(api["predictions"]) == 5
    open_page(page, server + "?model=doodles")
    page.evaluate("() => new Promise((r) => { const q = indexedDB.deleteDatabase('inkrec-teach'); "
                  "q.onsuccess = q.onerror = q.onblocked = r; })")
    page.reload()
    open_page(page, server + "?model=doodles")
    replay_events(page, spiders[unsure])
    settle(page)
    assert page.get_by_test_id("not-sure").is_visible()
    assert page.locator("[data-testid^=guess-]").count() == 5  # the best guesses are still shown
    page.get_by_test_id("clear").click()
    replay_events(page, sure_known)
    settle(page)
    assert httpx.post(server + "v1/predict", json={"model": "doodles", "strokes": sure_known}).json()["not_sure"] is False
    assert not page.get_by_test_id("not-sure").is_visible()
    assert not page.errors, page.errors
