"""`inkrec.export.web.write_site`: a folder that works from any static server, here `python -m http.server`
on loopback, with the model running in the browser (there is no API behind it)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from pagekit import last_input, open_page, read_guesses, replay, settle
from PIL import Image

from inkrec.errors import ConfigError, DataFormatError
from inkrec.export.web import write_site
from inkrec.preprocess.batch import bitmap_batch, picture_bitmap
from inkrec.preprocess.pictures import decode_image
from inkrec.runtime.onnx_model import OnnxModel


def test_site_layout_and_manifest(tmp_path: Path, page_built: Path, doodles_onnx: Path, second_onnx: Path,
                                  second_meta: dict):
    out = write_site([doodles_onnx, second_onnx], tmp_path / "site")
    for name in ("index.html", "app.js", "preprocess/ink.js", "preprocess/picture.js", "style.css", "vendor/ort.wasm.min.js",
                 "vendor/ort-wasm-simd-threaded.js", "vendor/ort-wasm-simd-threaded.wasm",
                 "models/doodles.onnx", f"models/{second_meta['id']}.onnx", "models.json", "README.txt"):
        assert (out / name).is_file(), name
    assert not (out / "vendor" / "swagger").exists()  # the API docs belong to the server, not to a static site
    manifest = json.loads((out / "models.json").read_text())
    assert [m["id"] for m in manifest["models"]] == ["doodles", second_meta["id"]]
    first = manifest["models"][0]
    assert first["url"] == "models/doodles.onnx" and first["input"]["size"] == 28 and len(first["labels"]) == 18
    assert first["attribution"]
    assert (out / "models" / "doodles.onnx").read_bytes() == doodles_onnx.read_bytes()
    html = (out / "index.html").read_text()
    assert '<meta name="inkrec-models" content="models.json">' in html
    # Relative URLs only: the folder works at any path of any server.
    for attr in ('src="/', 'href="/', "http://", "https://"):
        assert attr not in html, attr


def test_rewriting_a_site_replaces_it(tmp_path: Path, page_built: Path, doodles_onnx: Path, second_onnx: Path,
                                      second_meta: dict):
    out = write_site([doodles_onnx, second_onnx], tmp_path / "site")
    write_site(doodles_onnx, out)
    assert not (out / "models" / f"{second_meta['id']}.onnx").exists()
    assert [m["id"] for m in json.loads((out / "models.json").read_text())["models"]] == ["doodles"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]  # no temp folders left behind


def test_refuses_bad_input(tmp_path: Path, page_built: Path, doodles_onnx: Path):
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "thesis.tex").write_text("years of work")
    with pytest.raises(ConfigError, match="not an inkrec static site"):
        write_site(doodles_onnx, precious)
    assert (precious / "thesis.tex").read_text() == "years of work"

    not_onnx = tmp_path / "model.onnx"
    not_onnx.write_bytes(b"\x89PNG\r\n\x1a\n not a model")
    with pytest.raises(DataFormatError):
        write_site(not_onnx, tmp_path / "site")
    with pytest.raises(ConfigError, match="two models with the id"):
        write_site([doodles_onnx, doodles_onnx], tmp_path / "site")
    with pytest.raises(ConfigError, match="not built"):
        write_site(doodles_onnx, tmp_path / "site", page_dir=tmp_path / "nowhere")
    assert not (tmp_path / "site").exists()


@pytest.mark.browser
def test_static_site_guesses_in_the_browser(page, static_site: str, quickdraw: Path, doodles_onnx: Path, labels,
                                            second_meta: dict):
    from inkrec.preprocess.raster import rasterize

    seen: list[str] = []
    page.on("request", lambda r: seen.append(r.url))
    st = open_page(page, static_site)
    assert st["backend"] == "wasm"
    assert st["threads"] == 1  # http.server sends no COOP/COEP: one thread, and no hang
    assert page.evaluate("() => crossOriginIsolated") is False
    assert st["models"] == ["doodles", second_meta["id"]]
    assert not any("/v1/" in u for u in seen), "a static site must not ask for an API"

    sess = ort.InferenceSession(str(doodles_onnx), providers=["CPUExecutionProvider"])
    lines = (quickdraw / "simplified" / "flower.ndjson").read_text(encoding="utf-8").splitlines()
    strokes = json.loads(lines[5])["drawing"]
    replay(page, strokes)
    settle(page)
    x = rasterize([np.asarray(s, dtype=np.float64) for s in strokes], size=28).astype(np.float32) / 255
    py_top = labels[int(sess.run(None, {"input": x[None, None]})[0][0].argmax())]
    assert read_guesses(page)[0].startswith(py_top)

    page.get_by_test_id("model-picker").select_option(second_meta["id"])
    page.wait_for_function("id => inkrec.model === id", arg=second_meta["id"])
    settle(page)
    assert page.evaluate("() => inkrec.lastInput.length") == 64 * 64
    assert not page.errors, page.errors


def _upload(page, name: str, mime: str, data: bytes) -> None:
    """Give the page's file input a picture and wait until the page has answered it."""
    page.evaluate("() => { document.getElementById('upload-note').textContent = ''; }")
    page.get_by_test_id("upload-file").set_input_files(files=[{"name": name, "mimeType": mime, "buffer": data}])
    page.wait_for_function("() => /Recognised|Could not/.test(document.getElementById('upload-note').textContent)",
                           timeout=30_000)
    note = page.locator("#upload-note").text_content()
    assert note.startswith("Recognised in this browser"), note


def _python_top(onnx: Path, data: bytes) -> tuple[str, np.ndarray]:
    """The top guess of the Python pipeline (what `POST /v1/predict` answers) for a picture: decoded,
    normalised and framed with the model's own framing from its metadata, as the server frames uploads."""
    model = OnnxModel(onnx)
    x = picture_bitmap(decode_image(data), model.spec)
    probs = model.predict(bitmap_batch(x[None], model.spec))[0]
    return model.labels[int(probs.argmax())], x


@pytest.mark.browser
def test_static_site_reads_pictures_in_the_browser(page, static_site: str, quickdraw: Path, datasets: Path,
                                                   doodles_onnx: Path, second_onnx: Path, second_meta: dict):
    """Without any inkrec server, an uploaded picture is read by picture.js and guessed by the in-browser
    model, exactly as the server's Python pipeline would guess it."""
    seen: list[str] = []
    page.on("request", lambda r: seen.append(r.url))
    st = open_page(page, static_site + "?model=doodles")
    assert st["backend"] == "wasm"
    page.get_by_test_id("tab-upload").click()

    # A person's drawing on paper: dark ink on white, PNG (decoded losslessly by both).
    row = np.asarray(np.load(quickdraw / "numpy_bitmap" / "eye.npy", mmap_mode="r")[-1]).reshape(28, 28)
    buf = io.BytesIO()
    Image.fromarray(255 - row).resize((300, 300), Image.Resampling.BILINEAR).save(buf, format="PNG")
    py_top, x = _python_top(doodles_onnx, buf.getvalue())
    _upload(page, "eye.png", "image/png", buf.getvalue())
    guesses = read_guesses(page)
    assert len(guesses) == 5 and guesses[0].startswith(py_top), (guesses, py_top)
    diff = np.abs(last_input(page).astype(np.int16) - x.reshape(-1))
    assert diff.max() <= 2, diff.max()

    # A real scan (JPEG, decoded by the browser's own decoder) on the second model.
    page.get_by_test_id("model-picker").select_option(second_meta["id"])
    page.wait_for_function("id => inkrec.model === id", arg=second_meta["id"])
    scan = sorted((datasets / "chinese-mnist" / "七").glob("*.jpg"))[5].read_bytes()
    py_top, _ = _python_top(second_onnx, scan)
    _upload(page, "scan.jpg", "image/jpeg", scan)
    guesses = read_guesses(page)
    assert guesses[0].startswith(py_top), (guesses, py_top)
    assert page.evaluate("() => inkrec.lastInput.length") == second_meta["input"]["size"] ** 2

    # A picture whose header claims 20000x20000 pixels is refused before any decoding, with a reason.
    bomb = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + (20000).to_bytes(4, "big") * 2 + bytes(64)
    page.evaluate("() => { document.getElementById('upload-note').textContent = ''; }")
    page.get_by_test_id("upload-file").set_input_files(files=[{"name": "bomb.png", "mimeType": "image/png",
                                                               "buffer": bomb}])
    page.wait_for_function("() => /Recognised|Could not/.test(document.getElementById('upload-note').textContent)",
                           timeout=10_000)
    note = page.locator("#upload-note").text_content()
    assert "Could not read this picture" in note and "megapixels" in note, note

    assert not any("/v1/" in u for u in seen), "a static site must not ask for an API"
    assert not page.errors, page.errors
