"""src/inkrec/preprocess/ink.js (the page's preprocessing) gives the same points and pixels as inkrec.preprocess."""

from __future__ import annotations

import base64
from pathlib import Path

import numpy as np

from inkrec.data.formats.ndjson import iter_ndjson
from inkrec.preprocess.raster import rasterize_many
from inkrec.preprocess.simplify import simplify

from .jskit import run_harness, run_script

HARNESS = Path(__file__).with_name("js_harness.mjs")



def _every(paths, step: int) -> list:
    drawings = [d for p in paths for d in iter_ndjson(p)]
    return drawings[::step]



def test_js_twin_matches_python(quickdraw, tmp_path):
    simplified = _every(sorted((quickdraw / "simplified").glob("*.ndjson")), 20)  # 430 drawings
    raw = _every(sorted((quickdraw / "raw").glob("*.ndjson")), 25)  # ~315 drawings
    sizes = (28, 64)
    as_lists = [[s.tolist() for s in d.strokes] for d in simplified]
    py_simplified = [simplify(d.strokes) for d in raw]
    job = {
        "simplify": [[s.tolist() for s in d.strokes] for d in raw],
        "rasterize": [{"strokes": s, "size": size} for size in sizes for s in as_lists]
        + [{"strokes": [s.tolist() for s in d], "size": 28} for d in py_simplified],
    }
    out = run_harness(HARNESS, job, tmp_path)

    # simplify: identical points
    assert len(out["simplified"]) == len(raw)
    for ours, js in zip(py_simplified, out["simplified"]):
        assert [s.tolist() for s in ours] == js

    # rasterize: identical pixels (at most one level apart is allowed)
    expected = [rasterize_many([d.strokes for d in simplified], size) for size in sizes]
    expected.append(rasterize_many(py_simplified, 28))
    flat = [img for batch in expected for img in batch]
    assert len(out["rasters"]) == len(flat)
    diffs = []
    for img, b64 in zip(flat, out["rasters"]):
        js = np.frombuffer(base64.b64decode(b64), np.uint8).reshape(img.shape)
        diffs.append(int(np.abs(js.astype(np.int16) - img).max()))
    diffs = np.array(diffs)
    identical = float(np.mean(diffs == 0))
    print(f"ink.js vs inkrec.preprocess: {len(diffs)} rasters, {identical:.4f} identical, max diff {diffs.max()}")
    assert diffs.max() <= 1
    assert identical >= 0.99


def test_js_rejects_bad_input(tmp_path):
    out = run_script(
        'import { simplify, rasterize } from "{static}/ink.js";\n'
        "const cases = [() => simplify([]), () => simplify([[[1, NaN], [2, 3]]]), () => rasterize([[[1]]]),\n"
        "  () => rasterize([[[1, 2], [3, 4]]], 0), () => rasterize([[[1, 2], [3, 4]]], 2.5)];\n"
        "let refused = 0;\n"
        "for (const c of cases) { try { c(); } catch (e) { refused++; } }\n"
        "const empty = rasterize([], 28);\n"
        "console.log(JSON.stringify({ refused, emptyLength: empty.length, emptyInk: empty.some((v) => v > 0) }));\n",
        tmp_path,
    )
    assert out == {"refused": 5, "emptyLength": 784, "emptyInk": False}
