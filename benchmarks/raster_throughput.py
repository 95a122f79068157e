"""Rasterization throughput on one core: inkrec's rasterizer vs a plain Pillow ImageDraw baseline.

Both run in the same process on the same real simplified drawings (../shared/datasets/quickdraw),
single-threaded. Printed: drawings/s for each, the ratio, and how close each comes to the real
numpy_bitmap files: pooled ink statistics of the 18 numpy_bitmap categories against all their rows,
and, for the drawings whose very numpy_bitmap row is in the shared files (matched by our rendering),
the share of bitmaps that are identical and the mean absolute pixel difference.

The Pillow baseline is the straightforward way to draw a Quick, Draw! drawing: the same transform,
each segment a line of the scaled width, a disc at every point for the round caps and joins, drawn
at the target size. A second Pillow row draws 4x larger and averages down (anti-aliased), for a
fairer look at quality.

    python benchmarks/raster_throughput.py [--size 28] [--repeat 5] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import numpy as np
from PIL import Image, ImageDraw

REPO = Path(__file__).resolve().parents[1]
DATASETS = Path(os.environ.get("INKREC_DATASETS", REPO.parent / "shared" / "datasets"))


def pillow_rasterize(strokes, size: int, supersample: int = 1) -> np.ndarray:
    """The vector_to_raster geometry drawn with Pillow: lines of the scaled width plus discs."""
    side = size * supersample
    scale = side / (256.0 + 48.0)
    bx = max(float(np.max(s[0])) for s in strokes)
    by = max(float(np.max(s[1])) for s in strokes)
    ox, oy = (256.0 - bx) / 2 + 24.0, (256.0 - by) / 2 + 24.0
    width = 16.0 * scale
    r = width / 2
    img = Image.new("L", (side, side), 0)
    draw = ImageDraw.Draw(img)
    for s in strokes:
        pts = [((x + ox) * scale, (y + oy) * scale) for x, y in zip(s[0], s[1])]
        if len(pts) > 1:
            draw.line(pts, fill=255, width=max(1, round(width)))
        for x, y in pts:
            draw.ellipse((x - r, y - r, x + r, y + r), fill=255)
    if supersample > 1:
        img = img.resize((size, size), Image.Resampling.BOX)
    return np.asarray(img, dtype=np.uint8)


def load(quickdraw: Path):
    from inkrec.data.formats.ndjson import iter_ndjson
    from inkrec.data.formats.numpy_bitmap import load_bitmaps

    everything = [
        d.strokes for p in sorted((quickdraw / "simplified").glob("*.ndjson")) for d in iter_ndjson(p)
    ]
    categories = {}
    for npy in sorted((quickdraw / "numpy_bitmap").glob("*.npy")):
        drawings = [d.strokes for d in iter_ndjson(quickdraw / "simplified" / f"{npy.stem}.ndjson")]
        categories[npy.stem] = (drawings, load_bitmaps(npy))
    return everything, categories


def timed(fn, repeat: int) -> float:
    """Best of `repeat` runs, in CPU seconds of this thread: everything here runs on one thread, and
    CPU time stays meaningful on a machine whose other cores (or this one) are busy with other work."""
    best = float("inf")
    for _ in range(repeat):
        t = time.thread_time()
        fn()
        best = min(best, time.thread_time() - t)
    return best


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=28)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = ap.parse_args(argv)
    size = args.size

    from inkrec.preprocess.raster import pack_drawings, rasterize, rasterize_many, rasterize_packed
    from inkrec.preprocess.stats import ink_statistics

    quickdraw = DATASETS / "quickdraw"
    everything, categories = load(quickdraw)
    n = len(everything)
    rasterize_many(everything[:10], size)  # compile (or load numba's cache) outside the timing

    packed = pack_drawings(everything)
    ours_batch = timed(lambda: rasterize_many(everything, size), args.repeat)
    ours_packed = timed(lambda: rasterize_packed(*packed, size), args.repeat)
    ours_single = timed(lambda: [rasterize(d, size) for d in everything], args.repeat)
    pil = timed(lambda: [pillow_rasterize(d, size) for d in everything], args.repeat)
    pil4 = timed(lambda: [pillow_rasterize(d, size, 4) for d in everything], max(1, args.repeat // 2))

    # quality against the real numpy_bitmap files (28x28 only)
    quality: dict[str, dict] = {}
    if size == 28:
        ref_rows = np.concatenate([np.asarray(r) for _, r in categories.values()])
        ref = ink_statistics(ref_rows)
        renderers = {
            "inkrec": lambda ds: rasterize_many(ds, 28),
            "pillow": lambda ds: np.stack([pillow_rasterize(d, 28) for d in ds]),
            "pillow 4x": lambda ds: np.stack([pillow_rasterize(d, 28, 4) for d in ds]),
        }
        # the drawings whose numpy_bitmap row is in the shared files, found by our rendering
        matched = []
        for drawings, rows in categories.values():
            index = {r.tobytes(): i for i, r in enumerate(rows)}
            for d, img in zip(drawings, rasterize_many(drawings, 28)):
                i = index.get(img.tobytes())
                if i is not None:
                    matched.append((d, np.asarray(rows[i]).reshape(28, 28)))
        for name, render in renderers.items():
            imgs = np.concatenate([render(ds).reshape(len(ds), -1) for ds, _ in categories.values()])
            st = ink_statistics(imgs)
            got = render([d for d, _ in matched]).astype(np.int16)
            want = np.stack([r for _, r in matched]).astype(np.int16)
            quality[name] = {
                "mean_rel": st["mean"] / ref["mean"] - 1,
                "coverage_rel": st["coverage"] / ref["coverage"] - 1,
                "width_rel": st["width"] / ref["width"] - 1,
                "histogram_l1": float(np.abs(st["histogram"] - ref["histogram"]).sum()),
                "identical": float(np.mean([np.array_equal(a, b) for a, b in zip(got, want)])),
                "mean_abs_diff": float(np.abs(got - want).mean()),
            }

    rows = [
        ("inkrec rasterize_many (batch)", n / ours_batch),
        ("inkrec rasterize_packed (pre-packed)", n / ours_packed),
        ("inkrec rasterize (one call each)", n / ours_single),
        ("Pillow ImageDraw, target size", n / pil),
        ("Pillow ImageDraw, 4x + box filter", n / pil4),
    ]
    print(
        f"\nRasterization, {n} real simplified drawings at {size}x{size}, one thread "
        f"(CPU time, best of {args.repeat})"
    )
    print(f"{'renderer':40s} {'drawings/s':>12s} {'vs Pillow':>10s}")
    for name, rate in rows:
        print(f"{name:40s} {rate:12,.0f} {rate / rows[3][1]:9.2f}x")
    print(f"\nratio inkrec (batch) / Pillow (target size): {rows[0][1] / rows[3][1]:.2f}x")
    if quality:
        print(
            f"\nCloseness to numpy_bitmap (18 categories pooled; {len(matched)} drawings with their own row)"
        )
        print(
            f"{'renderer':12s} {'mean':>8s} {'coverage':>9s} {'width':>8s} {'hist L1':>8s} {'identical':>10s} {'|diff|':>8s}"
        )
        for name, q in quality.items():
            print(
                f"{name:12s} {q['mean_rel']:+8.1%} {q['coverage_rel']:+9.1%} {q['width_rel']:+8.1%} "
                f"{q['histogram_l1']:8.3f} {q['identical']:10.1%} {q['mean_abs_diff']:8.3f}"
            )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps(
                {"size": size, "drawings": n, "throughput": dict(rows), "quality": quality},
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
