"""Strokes -> the (dx, dy, pen_lift) point sequence that stroke models read.

`encode_batch(drawings)` turns drawings in any coordinate space into a batch; `inkrec.preprocess.batch`
calls it for training, evaluation and serving alike. Raw drawings (strokes with a time row) are simplified
first with `inkrec.preprocess.simplify`, so a model sees the same representation whichever Quick, Draw!
format a drawing came in.

The recipe follows TensorFlow's drawing-classification tutorial: concatenate the points of all strokes,
mark the last point of each stroke with pen_lift = 1, scale x and y jointly by the drawing's bounding box
to [0, 1], then take differences between consecutive points (the first point is dropped).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from inkrec.preprocess.simplify import simplify

MAX_POINTS = 256


def strokes_to_sequence(strokes: Sequence, max_points: int = MAX_POINTS) -> np.ndarray:
    """One drawing -> float32 (T, 3) rows (dx, dy, pen_lift), 1 <= T <= max_points.

    Drawings with more points are thinned evenly (stroke ends are always kept, so pen lifts survive).
    An empty drawing gives a single zero row, so every drawing has a valid length.
    """
    xs, ys, ends = [], [], []
    for stroke in strokes:
        a = np.asarray(stroke, dtype=np.float64)
        if a.ndim != 2 or a.shape[0] < 2 or a.shape[1] == 0:
            continue
        xs.append(a[0])
        ys.append(a[1])
        e = np.zeros(a.shape[1], dtype=np.float64)
        e[-1] = 1.0
        ends.append(e)
    if not xs:
        return np.zeros((1, 3), dtype=np.float32)
    ink = np.stack([np.concatenate(xs), np.concatenate(ys), np.concatenate(ends)], axis=1)
    if len(ink) > max_points + 1:
        ink = ink[_thin(ink[:, 2] > 0, max_points + 1)]
    lower = ink[:, :2].min(axis=0)
    scale = ink[:, :2].max(axis=0) - lower
    scale = np.where(scale == 0, 1.0, scale).max()  # one scale for x and y keeps the aspect ratio
    ink[:, :2] = (ink[:, :2] - lower) / scale
    ink[1:, :2] -= ink[:-1, :2].copy()
    out = ink[1:] if len(ink) > 1 else ink[:1] * 0
    return np.ascontiguousarray(out, dtype=np.float32)


def as_xy(strokes: Sequence) -> list[np.ndarray]:
    """Strokes as float64 (2, n) arrays (time rows dropped, empty strokes skipped)."""
    out = []
    for s in strokes:
        a = np.asarray(s, dtype=np.float64)
        if a.ndim == 2 and a.shape[0] >= 2 and a.shape[1] > 0:
            out.append(a[:2])
    return out


def normalize_strokes(strokes: list[np.ndarray]) -> list[np.ndarray]:
    """Align to the top-left corner and scale uniformly so the longer side is 255 (the simplified space)."""
    if not strokes:
        return strokes
    pts = np.concatenate(strokes, axis=1)
    lo = pts.min(axis=1, keepdims=True)
    extent = float((pts.max(axis=1, keepdims=True) - lo).max())
    k = 255.0 / extent if extent > 0 else 1.0
    return [(s - lo) * k for s in strokes]


def canonical_strokes(strokes: Sequence) -> list[np.ndarray]:
    """Any drawing -> (2, n) strokes in the simplified 0-255 space. Raw drawings (with a time row) go
    through THE simplification (`inkrec.preprocess.simplify`); others are only aligned and scaled."""
    raw = any(np.asarray(s).ndim == 2 and np.asarray(s).shape[0] >= 3 for s in strokes)
    if raw:
        try:
            return normalize_strokes(as_xy(simplify(strokes)))
        except ValueError:  # empty or degenerate drawing: fall through to the plain path
            pass
    return normalize_strokes(as_xy(strokes))


def encode(strokes: Sequence, max_points: int = MAX_POINTS) -> np.ndarray:
    """One drawing (any coordinate space, raw or simplified) -> float32 (T, 3)."""
    return strokes_to_sequence(canonical_strokes(strokes), max_points)


def encode_batch(drawings: Sequence[Sequence], max_points: int = MAX_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """Drawings -> (float32 (N, T, 3) zero-padded, int64 lengths (N,))."""
    return pad_sequences([encode(d, max_points) for d in drawings])


def pad_sequences(seqs: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """List of (T_i, 3) -> zero-padded float32 (N, T_max, 3) and int64 lengths (N,)."""
    lengths = np.array([len(s) for s in seqs], dtype=np.int64)
    out = np.zeros((len(seqs), int(lengths.max(initial=1)), 3), dtype=np.float32)
    for i, s in enumerate(seqs):
        out[i, : len(s)] = s
    return out, lengths


def _thin(is_end: np.ndarray, budget: int) -> np.ndarray:
    """Indices of `budget` points spread evenly, keeping every stroke end while ends fit in half the budget."""
    ends = np.flatnonzero(is_end)
    if len(ends) > budget // 2:
        return np.linspace(0, len(is_end) - 1, budget).round().astype(np.int64)
    others = np.flatnonzero(~is_end)
    pick = others[np.linspace(0, len(others) - 1, budget - len(ends)).round().astype(np.int64)]
    return np.union1d(pick, ends)
