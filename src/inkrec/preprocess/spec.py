"""What a model reads, as the model itself records it.

Training writes an `input` and a `preprocessing` entry into every checkpoint, and export copies both into the
ONNX metadata. Everything that feeds a model (evaluation, the server, the exporter's calibration) rebuilds an
`InputSpec` from those entries instead of assuming a size or a scale, so a model is always given the input it
was trained on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from inkrec.preprocess.raster import RASTER_PARAMS
from inkrec.preprocess.strokes import MAX_POINTS

BITMAP = "bitmap"
STROKES = "strokes"
DEFAULT_SCALE = 1 / 255  # uint8 ink -> [0, 1]

STROKE_PARAMS: dict = {
    "recipe": "tf-drawing-classification",
    "features": ["dx", "dy", "pen_lift"],
    "normalize": "bbox-scale-to-unit",
    "max_points": MAX_POINTS,
}


def recorded_preprocessing(kind: str) -> dict:
    """The preprocessing parameters training records for a model reading `kind` input."""
    return dict(STROKE_PARAMS if kind == STROKES else RASTER_PARAMS)


@dataclass(frozen=True)
class InputSpec:
    """A model's input: bitmaps of `size` x `size` with `channels` channels scaled by `scale`, or stroke
    sequences; `preprocessing` holds the recipe's parameters (rasterizer, sequence length)."""

    kind: str = BITMAP
    size: int = 28
    channels: int = 1
    scale: float = DEFAULT_SCALE
    preprocessing: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_meta(cls, meta: Mapping[str, Any]) -> InputSpec:
        """From a checkpoint's or an ONNX file's metadata (keys `input` and `preprocessing`)."""
        inp = dict(meta.get("input") or {})
        kind = str(inp.get("kind", BITMAP))
        return cls(
            kind=kind,
            size=int(inp.get("size") or 28),
            channels=int(inp.get("channels") or 1),
            scale=float(inp.get("scale") or DEFAULT_SCALE),
            preprocessing=dict(meta.get("preprocessing") or recorded_preprocessing(kind)),
        )

    def as_input(self) -> dict:
        """The `input` entry of model metadata."""
        if self.kind == STROKES:
            return {"kind": STROKES, "features": list(STROKE_PARAMS["features"]), "max_points": MAX_POINTS}
        return {"kind": BITMAP, "size": self.size, "channels": self.channels, "scale": self.scale}

    def params_for(self, keys: tuple[str, ...]) -> dict:
        """The recorded parameters among `keys` (those a preprocessing function takes)."""
        return {k: self.preprocessing[k] for k in keys if k in self.preprocessing}
