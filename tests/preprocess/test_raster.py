"""rasterize(): the Quick, Draw! numpy_bitmap rendering, checked against the real numpy_bitmap files."""

from __future__ import annotations

import numpy as np
import pytest

from inkrec.data.formats.ndjson import iter_ndjson
from inkrec.data.formats.numpy_bitmap import load_bitmaps
from inkrec.preprocess.raster import RASTER_PARAMS, pack_drawings, rasterize, rasterize_many, rasterize_packed
from inkrec.preprocess.stats import ink_statistics


@pytest.fixture(scope="module")
def categories(quickdraw):
    """category -> (simplified drawings, numpy_bitmap rows) for the 18 numpy_bitmap categories."""
    out = {}
    for npy in sorted((quickdraw / "numpy_bitmap").glob("*.npy")):
        drawings = [d.strokes for d in iter_ndjson(quickdraw / "simplified" / f"{npy.stem}.ndjson")]
        out[npy.stem] = (drawings, load_bitmaps(npy))
    assert len(out) == 18
    return out


def _agree(ours: dict, ref: dict) -> dict[str, float]:
    return {
        "mean": abs(ours["mean"] / ref["mean"] - 1),
        "coverage": abs(ours["coverage"] / ref["coverage"] - 1),
        "width": abs(ours["width"] / ref["width"] - 1),
        "histogram_l1": float(np.abs(ours["histogram"] - ref["histogram"]).sum()),
    }


def test_pixel_identical_to_the_numpy_bitmap_rows_of_the_same_drawings(categories):
    """Where a numpy_bitmap file holds the very drawings of our simplified file (12 of the 18
    categories here), our rasterization must find each of them as an identical row."""
    found_total = 0
    for name, (drawings, rows) in categories.items():
        index = {row.tobytes() for row in rows}
        ours = rasterize_many(drawings, 28).reshape(len(drawings), -1)
        found = sum(row.tobytes() in index for row in ours)
        # a category's .npy holds either all of its 25 drawings or other ones
        assert found in (0, len(drawings)), f"{name}: {found} of {len(drawings)} rows found"
        found_total += found
    assert found_total >= 300


def test_ink_statistics_match_numpy_bitmap(categories):
    """All 18 categories pooled: our 450 rasterized drawings vs the 65,960 numpy_bitmap rows.
    Measured: mean intensity -1.2%, coverage -1.3%, stroke width +0.3%, histogram L1 0.009."""
    ours = np.concatenate([rasterize_many(d, 28).reshape(len(d), -1) for d, _ in categories.values()])
    ref = np.concatenate([np.asarray(r) for _, r in categories.values()])
    diff = _agree(ink_statistics(ours), ink_statistics(ref))
    assert diff["mean"] < 0.05
    assert diff["coverage"] < 0.05
    assert diff["width"] < 0.05
    assert diff["histogram_l1"] < 0.05
    # the same bounds reject a recipe that is only a little off (lines of 12 instead of 16 units)
    thin = np.concatenate(
        [rasterize_many(d, 28, line_diameter=12).reshape(len(d), -1) for d, _ in categories.values()]
    )
    off = _agree(ink_statistics(thin), ink_statistics(ref))
    assert off["mean"] > 0.05 or off["width"] > 0.05


def test_batch_equals_single_and_packed(categories):
    drawings = categories["cat"][0] + categories["train"][0]
    many = rasterize_many(drawings, 28)
    assert many.shape == (50, 28, 28) and many.dtype == np.uint8
    for i in (0, 7, 31, 49):
        assert np.array_equal(rasterize(drawings[i], 28), many[i])
    assert np.array_equal(rasterize_packed(*pack_drawings(drawings), 28), many)


@pytest.mark.parametrize("size", [1, 8, 17, 28, 64, 100])
def test_any_size(categories, size):
    drawings = categories["house"][0][:10]
    out = rasterize_many(drawings, size)
    assert out.shape == (10, size, size) and out.dtype == np.uint8
    assert (out.reshape(10, -1).max(axis=1) > 0).all()
    if size >= 17:
        # the same drawing at another size keeps its share of ink (within a few per cent)
        share = out.reshape(10, -1).mean(axis=1) / 255
        ref = rasterize_many(drawings, 28).reshape(10, -1).mean(axis=1) / 255
        assert np.allclose(share, ref, rtol=0.12)


def test_dot_line_and_centering():
    dot = rasterize([[[100], [100]]], 28)
    assert dot.max() > 0
    assert np.array_equal(dot, dot.T)  # a dot at (x, x) is symmetric about the diagonal
    # ... centred where the recipe puts the point: (100 + (256 - 100) / 2 + 24) * 28 / 304 px
    ys, xs = np.mgrid[0:28, 0:28] + 0.5
    centre = (100 + (256 - 100) / 2 + 24) * 28 / 304
    assert abs((xs * dot).sum() / dot.sum() - centre) < 0.05
    assert abs((ys * dot).sum() / dot.sum() - centre) < 0.05
    # a stroke and the same stroke with its points repeated or reversed give the same pixels
    line = [[[10, 200], [30, 120]]]
    assert np.array_equal(rasterize(line), rasterize([[[10, 10, 200, 200], [30, 30, 120, 120]]]))
    assert np.array_equal(rasterize(line), rasterize([[[200, 10], [120, 30]]]))
    # centring uses the bounding box maximum only: shifting a drawing moves it on the canvas
    a = rasterize([[[0, 100], [0, 100]]])
    b = rasterize([[[50, 150], [50, 150]]])
    assert not np.array_equal(a, b)
    assert abs(int(a.sum()) - int(b.sum())) < 0.02 * a.sum()


def test_overlapping_strokes_blend_and_t_row_is_ignored():
    one = rasterize([[[20, 200], [20, 200]]])
    two = rasterize([[[20, 200], [20, 200]], [[20, 200], [20, 200]]])
    assert (two >= one).all() and (two > one).any()  # anti-aliased edges darken under a second pass
    with_t = rasterize([[[20, 200], [20, 200], [0, 40]]])
    assert np.array_equal(with_t, one)


def test_empty_and_invalid_input():
    assert not rasterize([]).any()
    assert not rasterize([[[], []]], 28).any()
    with pytest.raises(ValueError):
        rasterize([[[0.0, float("inf")], [0.0, 1.0]]])
    with pytest.raises(ValueError):
        rasterize([[[1.0, 2.0]]])
    for size in (0, -3, 2.5, 100000, True):
        with pytest.raises(ValueError):
            rasterize([[[1, 2], [3, 4]]], size)
    # far off the canvas: no crash, nothing drawn where nothing is
    far = rasterize([[[-1e9, 1e9], [5, 5]], [[0, 1], [0, 1]]], 28)
    assert far.dtype == np.uint8


def test_raster_params_describe_the_recipe():
    assert RASTER_PARAMS["line_diameter"] == 16 and RASTER_PARAMS["padding"] == 16
    assert RASTER_PARAMS["original_side"] == 256
    import json

    assert json.loads(json.dumps(RASTER_PARAMS)) == RASTER_PARAMS
