"""src/inkrec/preprocess/picture.js (the page's picture preprocessing) gives the pixels of inkrec.preprocess.pictures.

The page runs a model on what picture.js makes of an upload, and the model was trained (and the server
answers) on what the Python code makes of it, so the two are compared on real pictures: Chinese MNIST
scans, Quick, Draw! bitmaps blown up to odd sizes as dark ink on paper, and a shaded photo of paper that
takes the background-surface path."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import numpy as np
from PIL import Image

from inkrec.preprocess.batch import _FRAME_KEYS, ink_bitmap
from inkrec.preprocess.pictures import INK_WHITE_PERCENTILE, decode_image, normalize_ink, to_model_input
from inkrec.preprocess.spec import InputSpec

from .jskit import run_harness, run_script

HARNESS = Path(__file__).with_name("picture_harness.mjs")
# A framing measured from thin-lined data (measure_framing's kind of output), besides Quick, Draw!'s own.
THIN = {"canvas": 256.0, "line_diameter": 5.5, "padding": 70.0}



def _b64(a: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(a, dtype=np.uint8).tobytes()).decode()


def _pictures(datasets: Path) -> list[np.ndarray]:
    pics = []
    chars = sorted(p for p in (datasets / "chinese-mnist").iterdir() if p.is_dir())
    for d in chars:  # 15 characters x 4 writers = 60 scans
        for f in sorted(d.glob("*.jpg"))[::97][:4]:
            pics.append(decode_image(f))
    sizes = [(37, 37), (101, 77), (150, 150), (64, 211), (257, 190), (45, 120)]
    k = 0
    for cat in ("eye", "flower", "house", "fish"):
        rows = np.load(datasets / "quickdraw" / "numpy_bitmap" / f"{cat}.npy", mmap_mode="r")
        for i in (3, 500, 2001):
            w, h = sizes[k % len(sizes)]
            k += 1
            img = Image.fromarray(np.asarray(rows[i]).reshape(28, 28)).resize((w, h), Image.Resampling.BILINEAR)
            pics.append(255 - np.asarray(img))
    pics.append(_shaded_photo(np.asarray(np.load(datasets / "quickdraw" / "numpy_bitmap" / "flower.npy",
                                                  mmap_mode="r")[7]).reshape(28, 28)))
    return pics


def _shaded_photo(bitmap: np.ndarray) -> np.ndarray:
    """Grey ink on paper photographed under uneven light: a diagonal gradient, grain and a soft edge."""
    h, w = 180, 220
    yy, xx = np.mgrid[0:h, 0:w]
    paper = 120.0 + 110.0 * (xx / w) * 0.6 + 110.0 * (yy / h) * 0.4
    ink = np.asarray(Image.fromarray(bitmap).resize((140, 140), Image.Resampling.BILINEAR), dtype=np.float64) / 255
    full = np.zeros((h, w))
    full[20:160, 40:180] = ink
    noise = np.random.default_rng(7).normal(0, 3.0, (h, w))
    return np.clip(paper * (1 - 0.7 * full) + noise, 0, 255).round().astype(np.uint8)



def _compare(name: str, expected: list[np.ndarray], got: list[str]) -> None:
    assert len(got) == len(expected)
    maxes, means = [], []
    for ref, b64 in zip(expected, got):
        js = np.frombuffer(base64.b64decode(b64), np.uint8).reshape(ref.shape)
        d = np.abs(js.astype(np.int16) - ref.astype(np.int16))
        maxes.append(int(d.max()))
        means.append(float(d.mean()))
    maxes_a = np.array(maxes)
    identical = float(np.mean(maxes_a == 0))
    close = float(np.mean(maxes_a <= 2))
    print(f"picture.js {name}: {len(maxes)} outputs, {identical:.3f} identical, {close:.3f} within 2 levels, "
          f"mean abs diff {np.mean(means):.4f}, worst max diff {maxes_a.max()}")
    assert close >= 0.95, (name, maxes)
    assert float(np.mean(means)) < 0.5, (name, means)
    # and no picture read differently: a wrong branch shows as one output far off, not as a low average
    assert maxes_a.max() <= 4 and max(means) < 0.5, (name, maxes, means)


def test_picture_js_matches_python(datasets, tmp_path):
    pics = _pictures(datasets)
    assert len(pics) >= 70
    assert min(_shaded_photo(np.zeros((28, 28), np.uint8)).shape) >= 96
    normalized = [normalize_ink(g) for g in pics]
    frames = [(28, {}), (64, {}), (64, THIN), (28, {"supersample": 2, "crisp": False})]
    job = {
        "pictures": [{"grey": _b64(g), "width": g.shape[1], "height": g.shape[0]} for g in pics],
        "frame": [{"ink": _b64(n), "width": n.shape[1], "height": n.shape[0], "size": size, "opts": opts}
                  for size, opts in frames for n in normalized],
        "chain": [{"grey": _b64(g), "width": g.shape[1], "height": g.shape[0], "size": 28, "opts": {}}
                  for g in pics],
    }
    out = run_harness(HARNESS, job, tmp_path)
    _compare("normalize_ink", normalized, out["normalized"])
    _compare("to_model_input", [to_model_input(n, size, **opts) for size, opts in frames for n in normalized],
             out["framed"])
    _compare("normalize_ink + to_model_input", [to_model_input(n, 28) for n in normalized], out["chained"])
    # the test pictures do exercise every path: both polarities' inputs, the shaded background, real ink
    assert all(n.any() for n in normalized)


def test_js_refuses_bad_input(tmp_path):
    out = run_script(
        'import { normalizeInk, toModelInput, headerSize } from "{static}/picture.js";\n'
        "const cases = [() => normalizeInk(new Uint8Array(5), 2, 2), () => normalizeInk([1, 2, 3, 4], 2, 2),\n"
        "  () => toModelInput(new Uint8Array(4), 2, 2, 0), () => toModelInput(new Uint8Array(4), 2, 2, 2.5)];\n"
        "let refused = 0;\n"
        "for (const c of cases) { try { c(); } catch (e) { refused++; } }\n"
        "const blank = toModelInput(new Uint8Array(100).fill(0), 10, 10, 28);\n"
        "const flat = normalizeInk(new Uint8Array(100).fill(200), 10, 10);\n"
        "const png = new Uint8Array(24); png.set([0x89, 80, 78, 71], 0); png.set([0, 0, 0x4e, 0x20, 0, 0, 0x4e, 0x20], 16);\n"
        "console.log(JSON.stringify({ refused, blank: blank.length, blankInk: blank.some((v) => v > 0),\n"
        "  flatInk: flat.some((v) => v > 0), png: headerSize(png) }));\n",
        tmp_path,
    )
    assert out == {"refused": 4, "blank": 784, "blankInk": False, "flatInk": False, "png": [20000, 20000]}


def test_python_and_the_page_take_the_same_framing_keys_from_a_model():
    """What a model's metadata may set for framing pictures is one list, in Python and in picture.js, and both
    stretch faint ink to the same percentile."""
    text = (Path(__file__).resolve().parents[2] / "src" / "inkrec" / "preprocess" / "picture.js").read_text()
    keys = re.search(r"const FRAMING_KEYS = \[(.*?)\];", text).group(1)
    assert tuple(k.strip().strip('"') for k in keys.split(",")) == _FRAME_KEYS
    white = re.search(r"export const INK_WHITE_PERCENTILE = (\d+);", text).group(1)
    assert int(white) == INK_WHITE_PERCENTILE
    spec = InputSpec(kind="bitmap", size=28, preprocessing={"supersample": 2, "crisp": False})
    ink = np.zeros((40, 30), np.uint8)
    ink[5:35, 12:16] = 255
    assert np.array_equal(ink_bitmap(ink, spec), to_model_input(ink, 28, supersample=2, crisp=False))
    assert not np.array_equal(ink_bitmap(ink, spec), to_model_input(ink, 28))
