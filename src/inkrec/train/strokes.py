"""Stroke drawings -> the padded (dx, dy, pen_lift) batches that stroke models read.

Training, evaluation and export all encode strokes through `encode_batch`, so a model always sees the
same representation it was trained on.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from inkrec.models.stroke_input import MAX_POINTS, pad_sequences, strokes_to_sequence
from inkrec.train.augment import as_xy, normalize_strokes


def encode(strokes: Sequence, max_points: int = MAX_POINTS) -> np.ndarray:
    """One drawing (any coordinate space) -> float32 (T, 3)."""
    return strokes_to_sequence(normalize_strokes(as_xy(strokes)), max_points)


def encode_batch(drawings: Sequence[Sequence], max_points: int = MAX_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """Drawings -> (float32 (N, T, 3) zero-padded, int64 lengths (N,))."""
    return pad_sequences([encode(d, max_points) for d in drawings])
