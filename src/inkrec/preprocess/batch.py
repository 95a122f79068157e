"""Drawings, bitmaps and pictures -> the exact batch a model reads, driven by its `InputSpec`.

Training, evaluation, the exporter's calibration and the server all assemble model input here, so the
scaling, resizing, rasterizing and sequence encoding cannot drift apart between them (the page's twins,
ink.js and picture.js, repeat the same steps).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image

from inkrec.errors import ConfigError
from inkrec.preprocess.pictures import normalize_ink, to_model_input
from inkrec.preprocess.raster import rasterize_many
from inkrec.preprocess.simplify import simplify
from inkrec.preprocess.spec import InputSpec
from inkrec.preprocess.strokes import MAX_POINTS, encode_batch, pad_sequences, strokes_to_sequence

_RASTER_KEYS = ("line_diameter", "padding")
_FRAME_KEYS = ("canvas", "line_diameter", "padding", "supersample", "crisp")  # picture.js FRAMING_KEYS


def resize_bitmaps(bitmaps: np.ndarray, size: int) -> np.ndarray:
    """uint8 (N, H, W) -> (N, size, size) with Pillow's anti-aliased bilinear filter (unchanged if already)."""
    bitmaps = np.asarray(bitmaps)
    if bitmaps.shape[1:] == (size, size):
        return bitmaps
    out = np.empty((len(bitmaps), size, size), dtype=np.uint8)
    for i, img in enumerate(bitmaps):
        out[i] = np.asarray(Image.fromarray(img).resize((size, size), Image.Resampling.BILINEAR))
    return out


def bitmap_batch(bitmaps: np.ndarray, spec: InputSpec) -> np.ndarray:
    """uint8 white-on-black bitmaps (N, H, W) -> the model's float32 (N, C, S, S), scaled as it records."""
    x = resize_bitmaps(bitmaps, spec.size).astype(np.float32)[:, None] * np.float32(spec.scale)
    return np.repeat(x, spec.channels, axis=1) if spec.channels != 1 else x


def rasterize_drawings(drawings: Sequence, spec: InputSpec, *, raw: bool = False) -> np.ndarray:
    """Simplified drawings (raw ones with `raw=True`, simplified first) -> uint8 (N, S, S), in one call."""
    if raw:
        drawings = [simplify(d) for d in drawings]
    return rasterize_many(drawings, int(spec.size), **spec.params_for(_RASTER_KEYS))


def _max_points(spec: InputSpec) -> int:
    return int(spec.preprocessing.get("max_points") or MAX_POINTS)


def stroke_batch(drawings: Sequence, spec: InputSpec) -> tuple[np.ndarray, np.ndarray]:
    """Drawings in any coordinate space, raw or simplified -> (float32 (N, T, 3), int64 lengths (N,))."""
    return encode_batch(drawings, _max_points(spec))


def simplified_stroke_batch(drawings: Sequence, spec: InputSpec) -> tuple[np.ndarray, np.ndarray]:
    """Drawings already in the simplified 0-255 space -> the stroke models' batch (no re-canonicalising)."""
    max_points = _max_points(spec)
    return pad_sequences([strokes_to_sequence(d, max_points) for d in drawings])


def picture_bitmap(grey: np.ndarray, spec: InputSpec) -> np.ndarray:
    """A decoded grey picture (any polarity, any size) -> uint8 (S, S) framed like the model's drawings."""
    return ink_bitmap(normalize_ink(grey), spec)


def dataset_batch(dataset, indices, spec: InputSpec):
    """The model's input for a data set's samples at `indices` (an `InkDataset`, read by duck typing: this
    layer sits below the data package): a float32 bitmap batch, or (sequences, lengths) for stroke models."""
    if spec.kind == "strokes":
        if getattr(dataset, "kind", "bitmap") != "strokes":
            raise ConfigError("this model reads stroke sequences, but the data set holds bitmaps")
        return stroke_batch([dataset[int(i)][0] for i in indices], spec)
    return bitmap_batch(dataset.bitmaps(indices, size=spec.size), spec)


def ink_bitmap(ink: np.ndarray, spec: InputSpec) -> np.ndarray:
    """Ink already normalised to white on black (a piece of a picture) -> uint8 (S, S), framed as
    `picture_bitmap` frames a whole picture."""
    return to_model_input(ink, int(spec.size), **spec.params_for(_FRAME_KEYS))
