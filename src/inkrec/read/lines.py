"""Lines made from real single characters, for measuring and testing the line reader: each character
scaled, shifted off the baseline and spaced by a random amount (overlapping or touching its neighbour now
and then), as people write. Pictures come out either polarity and sometimes unevenly lit; ink comes out
as raw strokes with pen times."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image


def _spacing(rng: np.random.Generator, height: float) -> float:
    """The gap before a character: mostly a little space, sometimes touching or overlapping."""
    if rng.random() < 0.25:
        return float(rng.uniform(-0.12, 0.0)) * height
    return float(rng.uniform(0.02, 0.5)) * height


def picture_line(
    bitmaps: Sequence[np.ndarray], rng: np.random.Generator, *, height: int = 40
) -> tuple[np.ndarray, list[list[float]]]:
    """White-on-black character bitmaps -> (a grey picture of them as one line, each character's box)."""
    pieces = []
    for b in bitmaps:
        b = np.asarray(b)
        ys, xs = np.nonzero(b > 0)
        crop = b[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
        s = height * rng.uniform(0.8, 1.2) / max(crop.shape)  # the longer side of the ink: about `height`
        size = (max(1, round(crop.shape[1] * s)), max(1, round(crop.shape[0] * s)))
        pieces.append(np.asarray(Image.fromarray(crop).resize(size, Image.Resampling.BILINEAR)))
    tallest = max(p.shape[0] for p in pieces)
    margin = height // 2
    canvas_h = tallest + 2 * margin + height // 3
    x = margin
    places = []
    for p in pieces:
        if places:
            x = max(places[-1][0] + 2, x + round(_spacing(rng, height)))
        y = margin + round(rng.uniform(-0.12, 0.12) * height) + (tallest - p.shape[0]) // 2 + height // 6
        places.append((x, y))
        x += p.shape[1]
    width = x + margin
    canvas = np.zeros((canvas_h, width), dtype=np.uint8)
    boxes = []
    for (x, y), p in zip(places, pieces, strict=True):
        region = canvas[y : y + p.shape[0], x : x + p.shape[1]]
        np.maximum(region, p, out=region)
        boxes.append([float(x), float(y), float(x + p.shape[1]), float(y + p.shape[0])])
    grey = canvas.astype(np.float32)
    if rng.random() < 0.6:  # dark ink on paper
        paper = 235.0 + rng.uniform(-15, 15)
        if rng.random() < 0.5:  # light falling off across the page
            paper = paper - np.linspace(0, rng.uniform(20, 60), width)[None, :]
        grey = paper - grey * (paper - 20.0) / 255.0
    return np.clip(grey, 0, 255).astype(np.uint8), boxes


def ink_line(
    drawings: Sequence[Sequence[np.ndarray]], rng: np.random.Generator, *, height: float = 100.0
) -> tuple[list[np.ndarray], list[list[float]]]:
    """Characters as strokes (any coordinates, y down) -> (one line of raw strokes [x; y; t], each
    character's box)."""
    out: list[np.ndarray] = []
    boxes = []
    x = 0.0
    t = 0.0
    for d in drawings:
        pts = np.concatenate([np.asarray(s, dtype=np.float64)[:2] for s in d], axis=1)
        lo = pts.min(axis=1)
        extent = max(float((pts.max(axis=1) - lo).max()), 1e-6)
        s = height * rng.uniform(0.8, 1.2) / extent
        dy = rng.uniform(-0.12, 0.12) * height
        if boxes:
            x = max(boxes[-1][0] + 1.0, x + _spacing(rng, height))
        char = []
        for stroke in d:
            a = np.asarray(stroke, dtype=np.float64)
            xs = (a[0] - lo[0]) * s + x
            ys = (a[1] - lo[1]) * s + dy
            ts = t + np.arange(a.shape[1]) * 10.0
            t = ts[-1] + 150.0
            char.append(np.vstack([xs, ys, ts]))
        t += 250.0
        cx = np.concatenate([c[0] for c in char])
        cy = np.concatenate([c[1] for c in char])
        boxes.append([float(cx.min()), float(cy.min()), float(cx.max()), float(cy.max())])
        out.extend(char)
        x = float(cx.max())
    return out, boxes
