"""Fixtures for the drawing page's tests: a model, the real server and a static site on loopback, and
Debian's headless Chromium driven by Playwright."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import doodle_model
from pagekit import CHROMIUM, free_port, launch, start_server, stop, wait_http

from inkrec.page import PAGE_DIR, page_files

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def page_built() -> Path:
    """The built page that `inkrec serve` ships; a missing build is an error, never a skip."""
    files = page_files()
    for name in ("index.html", "app.js", "preprocess/ink.js", "vendor/ort.wasm.min.js",
                 "vendor/ort-wasm-simd-threaded.wasm"):
        if name not in files:
            pytest.fail(f"the drawing page is not built ({PAGE_DIR / name} missing): run `node build.mjs` in web/")
    return PAGE_DIR


def _model_cache(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """pytest's cache folder (models survive between runs), or a temp folder when the cache is off."""
    cache = getattr(request.config, "cache", None)
    return Path(cache.mkdir("inkrec-web-models")) if cache else tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def doodles_onnx(quickdraw: Path, request: pytest.FixtureRequest, tmp_path_factory) -> Path:
    """The bundled doodles model, or a small one trained on the real bitmaps (cached between runs)."""
    bundled = doodle_model.bundled_or_none()
    if bundled is not None:
        return bundled
    cache = _model_cache(request, tmp_path_factory)
    out = cache / "doodles.onnx"
    if not out.is_file():
        doodle_model.build(quickdraw, out)
    return out


@pytest.fixture(scope="session")
def second_onnx(quickdraw: Path, request: pytest.FixtureRequest, tmp_path_factory) -> Path:
    """A second, different model with a 64x64 input, for the model picker: the bundled hanzi-numerals
    model, or a small 6-class doodle model."""
    bundled = doodle_model.bundled_or_none("hanzi-numerals")
    if bundled is not None:
        return bundled
    cache = _model_cache(request, tmp_path_factory)
    out = cache / "doodles-six-64.onnx"
    if not out.is_file():
        doodle_model.build(quickdraw, out, model_id="doodles-six-64", size=64, steps=120, per_class=400,
                           classes=["apple", "banana", "clock", "eye", "fish", "house"])
    return out


@pytest.fixture(scope="session")
def second_meta(second_onnx: Path) -> dict:
    from inkrec.runtime.onnx_model import read_metadata

    return read_metadata(second_onnx)


@pytest.fixture(scope="session")
def labels(doodles_onnx: Path) -> list[str]:
    from inkrec.runtime.onnx_model import read_metadata

    return read_metadata(doodles_onnx)["labels"]


@pytest.fixture(scope="session")
def server(page_built: Path, doodles_onnx: Path, second_onnx: Path, second_meta: dict) -> Iterator[str]:
    """`inkrec serve` with both models, as a real process on a free loopback port; yields its base URL."""
    proc, url = start_server({"doodles": doodles_onnx, second_meta["id"]: second_onnx})
    try:
        yield url
    finally:
        stop(proc)


@pytest.fixture(scope="session")
def static_site(page_built: Path, doodles_onnx: Path, second_onnx: Path,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The static-site export of both models, served by `python -m http.server` on loopback."""
    from inkrec.export.web import write_site

    site = write_site([doodles_onnx, second_onnx], tmp_path_factory.mktemp("site") / "www")
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
                             "--directory", str(site)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_http(f"http://127.0.0.1:{port}/index.html", proc)
        yield f"http://127.0.0.1:{port}/"
    finally:
        stop(proc)


@pytest.fixture(scope="session")
def playwright_instance():
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"Chromium not found at {CHROMIUM}: apt-get install -y chromium chromium-driver")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser_context(playwright_instance, tmp_path_factory):
    ctx = launch(playwright_instance, tmp_path_factory.mktemp("chromium-profile"))
    yield ctx
    ctx.close()


@pytest.fixture()
def page(browser_context):
    pg = browser_context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.errors = errors
    yield pg
    pg.close()


# ---------------------------------------------------------------- character models (the writing pad)


@pytest.fixture(scope="session")
def hanzi_standin(request: pytest.FixtureRequest, tmp_path_factory) -> Path:
    """An untrained inknet with the `zh` vocabulary's 15,433 classes, int8, about the bundled Chinese
    model's size (cached between runs): the writing pad's big model."""
    import hanzi_model

    out = _model_cache(request, tmp_path_factory) / f"{hanzi_model.STANDIN_ID}-{hanzi_model.STANDIN_VERSION}.onnx"
    if not out.is_file():
        hanzi_model.build(out)
    return out


@pytest.fixture(scope="session")
def numerals_writing(tmp_path_factory) -> Path:
    """The bundled hanzi-numerals model (15 classes, real accuracy) marked for the writing pad through
    its metadata's explicit `page` entry."""
    from inkrec.export.model_file import write_with_metadata
    from inkrec.runtime.onnx_model import read_metadata

    src = doodle_model.bundled_or_none("hanzi-numerals")
    if src is None:
        pytest.fail("models/hanzi-numerals.onnx is missing: it is bundled with the repository")
    out = tmp_path_factory.mktemp("numerals") / "numerals-writing.onnx"
    write_with_metadata(src, out, dict(read_metadata(src), id="numerals-writing", page="writing"))
    return out


@pytest.fixture(scope="session")
def writing_server(page_built: Path, doodles_onnx: Path, hanzi_standin: Path, numerals_writing: Path
                   ) -> Iterator[str]:
    """`inkrec serve` with a doodle model first (the page's default) and the two character models."""
    from inkrec.runtime.onnx_model import read_metadata

    proc, url = start_server({"doodles": doodles_onnx, read_metadata(hanzi_standin)["id"]: hanzi_standin,
                              "numerals-writing": numerals_writing})
    try:
        yield url
    finally:
        stop(proc)
