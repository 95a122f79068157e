"""Stroke drawings -> the padded (dx, dy, pen_lift) batches that stroke models read.

The encoding itself lives in `inkrec.models.stroke_input` (numpy only, so the server can use it without
torch); training, evaluation and export all go through these same functions, so a model always sees the
representation it was trained on.
"""

from __future__ import annotations

from inkrec.models.stroke_input import MAX_POINTS, canonical_strokes, encode, encode_batch, pad_sequences

__all__ = ["MAX_POINTS", "canonical_strokes", "encode", "encode_batch", "pad_sequences"]
