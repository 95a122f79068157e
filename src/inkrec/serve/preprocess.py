"""Turn what a request brings (strokes, or a picture) into the exact input the model was trained on.

The model input itself is `inkrec.preprocess`, driven by the model's recorded `InputSpec`; this module only
checks a request's drawing or picture and turns what is wrong with it into a clear API error.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from inkrec.errors import DataFormatError
from inkrec.preprocess.batch import bitmap_batch, picture_bitmap, rasterize_drawings, simplified_stroke_batch
from inkrec.preprocess.pictures import decode_image
from inkrec.preprocess.raster import rasterize
from inkrec.preprocess.simplify import simplify
from inkrec.preprocess.spec import BITMAP, STROKES
from inkrec.runtime.onnx_model import OnnxModel
from inkrec.serve.errors import ApiError

__all__ = ["drawings_input", "image_input", "is_raw", "precompile", "simplified", "strokes_input", "to_arrays"]


def to_arrays(strokes: list[list[list[float]]]) -> list[np.ndarray]:
    """Validated request strokes -> float64 arrays of shape (2|3, n)."""
    return [np.asarray(s, dtype=np.float64) for s in strokes]


def is_raw(strokes: list[np.ndarray]) -> bool:
    """Raw ndjson strokes (need simplifying) vs simplified ones (integers 0-255, no time row)."""
    if any(s.shape[0] == 3 for s in strokes):
        return True
    xy = np.concatenate(strokes, axis=1)
    return bool(xy.min() < 0 or xy.max() > 255 or (xy != np.floor(xy)).any())


def _to_batch(bitmap: np.ndarray, model: OnnxModel) -> np.ndarray:
    if not bitmap.any():
        raise ApiError(422, "empty_drawing", "the drawing has no ink")
    return bitmap_batch(bitmap[None], model.spec)


def simplified(strokes: list[np.ndarray]) -> tuple[list[np.ndarray], bool]:
    """Strokes in the simplified 0-255 space (raw ones simplified exactly like the data set's), and
    whether they were raw. ApiError for a drawing without points."""
    if sum(s.shape[1] for s in strokes) == 0:
        raise ApiError(422, "empty_drawing", "the drawing has no points")
    raw = is_raw(strokes)
    if raw:
        strokes = simplify(strokes)
        if not strokes or sum(np.asarray(s).shape[-1] for s in strokes) == 0:
            raise ApiError(422, "empty_drawing", "the drawing has no points after simplification")
    return strokes, raw


def drawings_input(drawings: list[list[np.ndarray]], model: OnnxModel) -> np.ndarray:
    """Simplified drawings -> the bitmap model's input batch (N, C, S, S), rasterized in one call."""
    return bitmap_batch(rasterize_drawings(drawings, model.spec), model.spec)


def strokes_input(strokes: list[np.ndarray], model: OnnxModel) -> tuple[tuple, bool]:
    """(model inputs for a batch of one, whether the strokes were raw and got simplified first).

    Bitmap models get the strokes rasterized exactly as their training data was; stroke models get
    the (dx, dy, pen_lift) sequence of the simplified strokes and its length.
    """
    strokes, raw = simplified(strokes)
    if model.kind == STROKES:
        return simplified_stroke_batch([strokes], model.spec), raw
    return (_to_batch(rasterize_drawings([strokes], model.spec)[0], model),), raw


def image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from the picture's header, without decoding its pixels (None if unreadable)."""
    try:
        with Image.open(io.BytesIO(data)) as im:
            return im.size
    except Image.DecompressionBombError as exc:  # Pillow's own header check, for the very largest
        raise ApiError(413, "image_too_large", f"picture refused before decoding: {exc}") from None
    except Exception:  # noqa: BLE001 - not a picture Pillow knows; the decoder below says why
        return None


def image_input(data: bytes, model: OnnxModel, *, max_pixels: int) -> tuple:
    """A picture (PNG/JPEG/..., any size and polarity) -> model input batch of one.

    The pixel count is checked from the header before anything is decoded, so a small file that would
    inflate to gigabytes (a decompression bomb) costs nothing.
    """
    if model.kind != BITMAP:
        raise ApiError(422, "unsupported_input", f"model {model.id!r} reads strokes, not pictures")
    if not data:
        raise ApiError(422, "bad_image", "the uploaded file is empty")
    size = image_size(data)
    if size is not None and size[0] * size[1] > max_pixels:
        raise ApiError(
            413, "image_too_large", f"picture is {size[0]}x{size[1]} pixels; at most {max_pixels:,} pixels"
        )
    try:
        # large photos are shrunk while decoding: the model sees at most a few dozen pixels a side
        grey = decode_image(data, max_pixels=max_pixels, max_side=max(1024, 8 * int(model.size)))
    except DataFormatError as exc:
        raise ApiError(422, "bad_image", f"cannot read the picture: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - a decoder's own error on hostile bytes is still bad input
        raise ApiError(422, "bad_image", f"cannot read the picture ({type(exc).__name__}: {exc})") from None
    if grey.size == 0:
        raise ApiError(422, "bad_image", "the picture has no pixels")
    return (_to_batch(picture_bitmap(grey, model.spec), model),)


def precompile() -> None:
    """Compile the ink kernels (numba) once, e.g. while building an image, so that a server's first
    start does not spend its first seconds compiling them."""
    raw = [np.array([[10.0, 400.5, 700.0], [20.0, 300.0, 90.0], [0.0, 16.0, 33.0]])]
    for size in (28, 64):
        rasterize(simplify(raw), size=size)
