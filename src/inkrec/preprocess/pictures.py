"""Pictures of ink -> what a model was trained on: white ink on black, framed like Quick, Draw! bitmaps.

Three steps, used by the image-folder readers, ``inkrec data import-images`` and the server's uploads:

1. `decode_image`: PNG / JPEG / BMP / GIF (and WebP) bytes or file -> uint8 grey (H, W). The pixel count
   is checked from the header *before* decoding, so a small file that claims 20000x20000 pixels (a
   decompression bomb) is refused without allocating anything. EXIF rotation is applied (phone photos),
   transparency is composited onto a background that contrasts with the ink.
2. `normalize_ink`: detects the polarity (dark ink on paper, or light ink on a dark ground), flattens
   uneven lighting of photos, drops background noise and stretches faint ink to full contrast.
3. `to_model_input`: crops to the ink, scales and centres it exactly as Google's ``vector_to_raster``
   frames a drawing (256-unit canvas, line padding, bounding-box centring) and thickens thin lines to
   the rasterizer's line width, so an uploaded picture looks like the training bitmaps.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numba as nb
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from inkrec.errors import DataFormatError

# A 40-megapixel photo decodes to 120 MB of RGB; anything larger is refused before decoding.
DEFAULT_MAX_PIXELS = 40_000_000
IMAGE_FORMATS = ("PNG", "JPEG", "BMP", "GIF", "WEBP")

# Google's vector_to_raster framing (quickdraw-dataset issue #19): drawings live in a 256-unit canvas,
# are drawn with a 16-unit round pen and get `padding` units of margin plus half a line on each side.
QUICKDRAW_FRAME = {"canvas": 256, "line_diameter": 16, "padding": 16}

# Faint ink is stretched until this percentile of its inked pixels is full white. A thin pen line in a small
# JPEG scan is uneven along its length, a few pixels much brighter than the rest: stretching only its
# brightest percent to white would leave most of the line below the framing's solid-ink threshold
# (`to_model_input`'s crisp step), which breaks it into beads. The 85th percentile is such a line's own
# brightness (on Chinese MNIST's training writers, `hanzi` reads 69% of the scans with the 99th and 83% with
# this), and solid strokes, whose inked pixels are nearly all equally bright, come out as before.
INK_WHITE_PERCENTILE = 85


def decode_image(
    data: bytes | bytearray | memoryview | str | Path,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_side: int | None = None,
    name: str | None = None,
) -> np.ndarray:
    """Decode an image (bytes or a file path) to uint8 grey (H, W), keeping its polarity.

    `max_pixels` bounds width*height, checked from the header before any pixel is decoded.
    `max_side` (optional) shrinks large images while decoding (JPEG decodes at 1/2..1/8 scale directly),
    which makes phone photos cheap when only a small model input is wanted.
    Corrupt, truncated, unsupported or oversized images raise `DataFormatError` naming `name` (or the
    path, or ``<image bytes>``).
    """
    if isinstance(data, (str, Path)):
        label = str(name or data)
        source: object = str(data)
    else:
        label = name or "<image bytes>"
        source = io.BytesIO(bytes(data))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(source, formats=IMAGE_FORMATS)  # type: ignore[arg-type]
            with im:
                w, h = im.size
                if w < 1 or h < 1:
                    raise DataFormatError(label, f"image has no pixels ({w}x{h})")
                if w * h > max_pixels:
                    raise DataFormatError(
                        label,
                        f"image is {w}x{h} = {w * h / 1e6:.1f} megapixels, more than the limit of "
                        f"{max_pixels / 1e6:.1f} megapixels (refused before decoding)",
                    )
                if max_side is not None and im.format == "JPEG" and max(w, h) > max_side:
                    im.draft("L" if im.mode == "L" else "RGB", (max_side, max_side))
                im.load()
                im = ImageOps.exif_transpose(im) or im
                if max_side is not None and max(im.size) > max_side:
                    im.thumbnail((max_side, max_side), Image.Resampling.BOX)
                return _to_grey(im)
    except DataFormatError:
        raise
    except FileNotFoundError:
        raise DataFormatError(label, "no such image file") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise DataFormatError(
            label,
            f"image is too large, refused before decoding (limit {max_pixels / 1e6:.1f} megapixels): {exc}",
        ) from None
    except UnidentifiedImageError:
        raise DataFormatError(
            label, f"not a supported image: the data is none of {', '.join(IMAGE_FORMATS)} (or is damaged)"
        ) from None
    except (OSError, ValueError, SyntaxError, EOFError, MemoryError, IndexError, KeyError, TypeError) as exc:
        # Pillow reports truncated and corrupt data with these (e.g. "image file is truncated")
        raise DataFormatError(label, f"corrupt or truncated image: {exc}") from None


def _to_grey(im: Image.Image) -> np.ndarray:
    if im.mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    if im.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        a = np.asarray(im, dtype=np.float64)
        top = 65535.0 if a.max(initial=0) > 255 else 255.0
        return np.clip(a * (255.0 / top), 0, 255).round().astype(np.uint8)
    if im.mode in ("RGBA", "LA", "PA", "La", "RGBa"):
        rgba = np.asarray(im.convert("RGBA"), dtype=np.float32)
        lum = np.asarray(im.convert("RGBA").convert("L"), dtype=np.float32)
        alpha = rgba[..., 3] / 255.0
        if alpha.min() < 1.0:
            opaque = alpha > 0.5
            ink_lum = float(lum[opaque].mean()) if opaque.any() else 0.0
            # A canvas export is ink on a transparent ground: show it on a ground that contrasts.
            ground = 255.0 if ink_lum < 128 else 0.0
            lum = lum * alpha + ground * (1.0 - alpha)
        return np.clip(lum.round(), 0, 255).astype(np.uint8)
    if im.mode not in ("L", "RGB"):
        im = im.convert("RGB")
    return np.asarray(im.convert("L"), dtype=np.uint8).copy()


# ------------------------------------------------------------------------------------------ normalising


def normalize_ink(grey: np.ndarray, *, white_percentile: float | None = None) -> np.ndarray:
    """Any grey picture of ink -> uint8 white ink on black, background 0, ink stretched to full contrast.

    - Background: a constant (the border median) for evenly lit pictures; for larger pictures whose
      border varies (photos of paper), a smooth surface from local medians, which removes shading.
    - Polarity: whichever side of the background holds more ink mass (dark ink on paper is inverted).
    - Noise below 3 robust standard deviations of the background (paper grain, JPEG ringing) is zeroed.
    - Faint ink is stretched so that its typical stroke brightness (`INK_WHITE_PERCENTILE`, or
      `white_percentile` of its inked pixels) reaches 255 (never reduced).
    Pictures without ink come back black.
    """
    g = np.asarray(grey)
    if g.ndim != 2:
        raise ValueError(f"normalize_ink takes a grey (H, W) image, got shape {g.shape}")
    g = g.astype(np.float32)
    h, w = g.shape
    border = _border(g)
    bg_level = float(np.median(border))
    spread = float(np.percentile(border, 90) - np.percentile(border, 10))
    if min(h, w) >= 96 and spread > 24:
        background = _background_surface(g)
    else:
        background = np.full_like(g, bg_level)
    r = g - background
    sigma = 1.4826 * float(np.median(np.abs(r - np.median(r))))
    t = max(6.0, 3.0 * sigma)
    light = np.maximum(r - t, 0).sum()
    dark = np.maximum(-r - t, 0).sum()
    ink = r if light >= dark else -r
    ink = np.where(ink > t, ink, 0.0)
    if not ink.any():
        return np.zeros((h, w), dtype=np.uint8)
    q = INK_WHITE_PERCENTILE if white_percentile is None else white_percentile
    hi = float(np.percentile(ink[ink > 0], q))
    scale = max(1.0, 255.0 / max(hi, 1.0))
    return np.clip(ink * scale, 0, 255).round().astype(np.uint8)


def _border(g: np.ndarray) -> np.ndarray:
    h, w = g.shape
    k = max(1, round(min(h, w) * 0.03))
    return np.concatenate([g[:k].ravel(), g[-k:].ravel(), g[:, :k].ravel(), g[:, -k:].ravel()])


def _background_surface(g: np.ndarray, cells: int = 16) -> np.ndarray:
    """Smooth background estimate: the median of each cell of a cells x cells grid (ink is a minority
    in almost every cell), a 3x3 median over cells, then bilinear interpolation back to full size."""
    h, w = g.shape
    ys = np.linspace(0, h, cells + 1).astype(int)
    xs = np.linspace(0, w, cells + 1).astype(int)
    grid = np.empty((cells, cells), dtype=np.float32)
    for i in range(cells):
        for j in range(cells):
            grid[i, j] = np.median(g[ys[i] : ys[i + 1], xs[j] : xs[j + 1]])
    padded = np.pad(grid, 1, mode="edge")
    stack = np.stack([padded[di : di + cells, dj : dj + cells] for di in range(3) for dj in range(3)])
    grid = np.median(stack, axis=0).astype(np.float32)
    surf = Image.fromarray(grid, mode="F").resize((w, h), Image.Resampling.BILINEAR)
    return np.asarray(surf, dtype=np.float32)


# ------------------------------------------------------------------------------------------ framing


def ink_bbox(
    ink: np.ndarray, *, threshold: float = 0.2, trim: float = 0.001
) -> tuple[int, int, int, int] | None:
    """(top, bottom, left, right) (exclusive ends) of the ink, or None for a blank picture.

    Pixels above `threshold` x max count as ink; `trim` of the ink mass is ignored at each end, so a
    stray speck far from the drawing does not stretch the box.
    """
    a = np.asarray(ink, dtype=np.float32)
    top_val = float(a.max(initial=0))
    if top_val <= 0:
        return None
    m = np.where(a >= threshold * top_val, a, 0)
    rows, cols = m.sum(axis=1), m.sum(axis=0)
    total = float(rows.sum())
    if total <= 0:
        return None

    def span(profile: np.ndarray) -> tuple[int, int]:
        c = np.cumsum(profile) / total
        lo = int(np.searchsorted(c, trim, side="right"))
        hi = int(np.searchsorted(c, 1.0 - trim, side="left")) + 1
        return lo, max(hi, lo + 1)

    t, b = span(rows)
    left, right = span(cols)
    return t, b, left, right


def stroke_width(ink: np.ndarray, *, threshold: float = 0.35) -> float:
    """Typical stroke width in pixels: 2 x ink mass / perimeter of the thresholded ink (a long stroke of
    width w and length L has area wL and perimeter about 2L). The mass (intensity / max) rather than the
    thresholded area keeps anti-aliased lines of one or two pixels from reading too wide."""
    a = np.asarray(ink, dtype=np.float32)
    top = float(a.max(initial=0))
    if top <= 0:
        return 0.0
    mask = a >= threshold * top
    p = np.pad(mask, 1)
    perimeter = int((p[1:, :] != p[:-1, :]).sum() + (p[:, 1:] != p[:, :-1]).sum())
    mass = float(a.sum()) / top
    # 4-connected boundaries overcount slanted edges by up to sqrt(2); 1.2 is the average over angles
    return float(2.0 * mass / max(perimeter / 1.2, 1.0))


def _disk_offsets(radius: int) -> list[tuple[int, int]]:
    r = int(radius)
    return [(dy, dx) for dy in range(-r, r + 1) for dx in range(-r, r + 1) if dy * dy + dx * dx <= r * r + r]


@nb.njit(cache=True, nogil=True)
def _row_extreme(a, k, dilate):
    """Each row's running maximum (or minimum) over x-k..x+k, zero beyond the edges (van Herk / Gil-Werman:
    three comparisons a pixel, whatever k; block edges counted, not found by division, which would cost
    more than the comparisons)."""
    h, w = a.shape
    if k == 0:
        return a.copy()
    size = 2 * k + 1
    n = w + 2 * k
    n_pad = ((n + size - 1) // size) * size
    out = np.empty_like(a)
    p = np.zeros(n_pad, a.dtype)
    fwd = np.empty(n_pad, a.dtype)
    bwd = np.empty(n_pad, a.dtype)
    for y in range(h):
        p[k : k + w] = a[y]
        pos = 0
        for j in range(n_pad):
            if pos == 0:
                fwd[j] = p[j]
            elif dilate:
                fwd[j] = max(fwd[j - 1], p[j])
            else:
                fwd[j] = min(fwd[j - 1], p[j])
            pos += 1
            if pos == size:
                pos = 0
        pos = size - 1
        for j in range(n_pad - 1, -1, -1):
            if pos == size - 1 or j == n_pad - 1:
                bwd[j] = p[j]
            elif dilate:
                bwd[j] = max(bwd[j + 1], p[j])
            else:
                bwd[j] = min(bwd[j + 1], p[j])
            pos -= 1
            if pos < 0:
                pos = size - 1
        for x in range(w):
            out[y, x] = max(bwd[x], fwd[x + size - 1]) if dilate else min(bwd[x], fwd[x + size - 1])
    return out


@nb.njit(cache=True, nogil=True)  # threads (data loaders framing glyphs, the server) run it in parallel
def _morph_disk(a, r, dilate):
    """`_morph` row by row: a disk is a stack of horizontal runs, so the extreme over the disk is the
    extreme, over its rows dy, of each row's running extreme of half-width k(dy) shifted by dy. The same
    maxima and minima as the offset-by-offset version (the same pixels), in a few passes instead of one
    per disk pixel: a line reader frames dozens of candidates a line."""
    h, w = a.shape
    lim = r * r + r
    out = a.copy()
    rows = np.empty((r + 2, h, w), a.dtype)
    done = np.zeros(r + 2, np.bool_)
    for dy in range(-r, r + 1):
        k = 0
        while (k + 1) * (k + 1) + dy * dy <= lim:
            k += 1
        if not done[k]:
            rows[k] = _row_extreme(a, k, dilate)
            done[k] = True
        src = rows[k]
        for y in range(h):
            yy = y + dy
            if 0 <= yy < h:
                if dilate:
                    for x in range(w):
                        out[y, x] = max(out[y, x], src[yy, x])
                else:
                    for x in range(w):
                        out[y, x] = min(out[y, x], src[yy, x])
            else:  # beyond the edge: zero
                for x in range(w):
                    out[y, x] = max(out[y, x], 0) if dilate else min(out[y, x], 0)
    return out


def _morph(a: np.ndarray, radius: int, op) -> np.ndarray:
    """Grey dilation (op=np.maximum) or erosion (np.minimum) with a disk, which keeps round pen ends
    round where a square filter would make diagonal lines thicker than straight ones."""
    if a.ndim == 2 and a.dtype in (np.float32, np.float64) and radius >= 1:
        return _morph_disk(a, int(radius), op is np.maximum)
    h, w = a.shape
    pad = np.pad(a, radius, mode="constant", constant_values=0)
    out = a.copy()
    for dy, dx in _disk_offsets(radius):
        op(out, pad[radius + dy : radius + dy + h, radius + dx : radius + dx + w], out=out)
    return out


def _morph_fractional(a: np.ndarray, radius: float, op) -> np.ndarray:
    """Morphology by a non-integer radius: a blend of the two neighbouring integer disks, which after
    the box filter down gives line widths between whole supersampled pixels."""
    r0 = int(np.floor(radius))
    frac = radius - r0
    lo = _morph(a, r0, op) if r0 else a
    if frac < 1e-3:
        return lo
    hi = _morph(a, r0 + 1, op)
    return (1.0 - frac) * lo + frac * hi


def to_model_input(
    grey_white_on_black: np.ndarray,
    size: int,
    *,
    canvas: float = QUICKDRAW_FRAME["canvas"],
    line_diameter: float | None = QUICKDRAW_FRAME["line_diameter"],
    padding: float = QUICKDRAW_FRAME["padding"],
    supersample: int = 4,
    crisp: bool = True,
) -> np.ndarray:
    """Frame white-on-black ink like the Quick, Draw! rasterizer: uint8 (size, size).

    ``vector_to_raster`` maps a drawing whose stroke centrelines span at most ``canvas - 1`` units onto
    ``canvas + 2*padding + line_diameter`` units = `size` pixels, centres the bounding box, and draws
    ``line_diameter``-unit lines. Here the picture's ink box (centreline extent + its stroke width) is
    scaled the same way and centred, and the strokes are brought to ``line_diameter`` units: thin pen
    lines are thickened, marker lines thinned, with a round (disk) pen. ``line_diameter=None`` keeps the
    widths as drawn. Work happens at `supersample` times the size and is box-filtered down, which is the
    coverage anti-aliasing of the original; `crisp` first firms soft edges into solid lines as the
    rasterizer draws them.
    """
    ink = np.asarray(grey_white_on_black)
    if ink.ndim != 2:
        raise ValueError(f"to_model_input takes a grey (H, W) image, got shape {ink.shape}")
    if size < 1:
        raise ValueError(f"size must be positive, got {size}")
    box = ink_bbox(ink)
    if box is None:
        return np.zeros((size, size), dtype=np.uint8)
    top, bottom, left, right = box
    crop = np.ascontiguousarray(ink[top:bottom, left:right], dtype=np.uint8)
    width_src = stroke_width(crop)
    total_units = canvas + 2 * padding + (line_diameter or 0)
    big = size * supersample
    px_per_unit = big / total_units
    centre_src = max(max(crop.shape) - width_src, 1.0)  # the strokes' centrelines span this much
    scale = (canvas - 1) * px_per_unit / centre_src  # supersampled pixels per source pixel
    new_h = max(1, round(crop.shape[0] * scale))
    new_w = max(1, round(crop.shape[1] * scale))
    resample = Image.Resampling.BOX if scale < 1 else Image.Resampling.BILINEAR
    scaled = np.asarray(Image.fromarray(crop, mode="L").resize((new_w, new_h), resample), dtype=np.float32)
    width_now = width_src * scale
    if 0 < width_now < 1:  # lines thinner than a pixel lost their peak to averaging: restore it
        scaled = np.minimum(scaled / max(width_now, 0.25), 255.0)
    delta = 0.0  # how much wider (or, negative, thinner) the strokes must get, supersampled pixels
    if line_diameter:
        delta = line_diameter * px_per_unit - max(width_now, 1.0)
        if -2.0 < delta < 0.5:  # close enough; thinning slightly only loses detail
            delta = 0.0
    pad = int(np.ceil(abs(delta) / 2.0)) + 1
    work = np.zeros((big + 2 * pad, big + 2 * pad), dtype=np.float32)
    oy = pad + round((big - new_h) / 2)
    ox = pad + round((big - new_w) / 2)
    # a picture far wider than tall may overhang the square canvas by rounding: clip it
    ys, xs = (
        slice(max(oy, 0), min(oy + new_h, work.shape[0])),
        slice(max(ox, 0), min(ox + new_w, work.shape[1])),
    )
    work[ys, xs] = scaled[ys.start - oy : ys.stop - oy, xs.start - ox : xs.stop - ox]
    if delta:
        # only the ink's box and a radius around it can change (the rest of the canvas is zero before and
        # after, and the disk treats what lies beyond an edge as zero), so that is all the work done: a line
        # reader frames a hundred candidates a line, most much wider or taller than they are square
        m = pad + 1
        y0, y1 = max(ys.start - m, 0), min(ys.stop + m, work.shape[0])
        x0, x1 = max(xs.start - m, 0), min(xs.stop + m, work.shape[1])
        work[y0:y1, x0:x1] = _morph_fractional(np.ascontiguousarray(work[y0:y1, x0:x1]), abs(delta) / 2.0,
                                               np.maximum if delta > 0 else np.minimum)
    work = work[pad : pad + big, pad : pad + big]
    if crisp:  # the rasterizer draws solid lines: firm up soft pen and photo edges before averaging
        work = np.clip((work - 80.0) * (255.0 / 100.0), 0, 255)
    out = Image.fromarray(np.clip(work, 0, 255).round().astype(np.uint8), mode="L")
    if supersample > 1:
        out = out.reduce(supersample)
    return np.asarray(out, dtype=np.uint8).copy()


def measure_framing(
    bitmaps, *, canvas: float = QUICKDRAW_FRAME["canvas"], limit: int = 2000
) -> dict[str, float]:
    """The `to_model_input` parameters that frame a picture like these training bitmaps.

    Quick, Draw! bitmaps fill 89% of the side with 16-unit lines, but other data sets differ a lot
    (Chinese MNIST characters span about a third of their 64x64 image in 1-pixel strokes). From the
    median ink extent (fraction of the side) and stroke width of up to `limit` white-on-black bitmaps,
    this solves ``(canvas - 1 + L) / T = extent`` and ``L / T = width / side`` with
    ``T = canvas + 2 * padding + L``, giving ``{"canvas", "line_diameter", "padding"}``. Stored with a
    model, uploads (and strokes rasterized with the same parameters) then look like its training data.
    """
    extents, widths = [], []
    for k, b in enumerate(bitmaps):
        if k >= limit:
            break
        a = np.asarray(b)
        box = ink_bbox(a)
        if box is None:
            continue
        top, bottom, left, right = box
        side = max(a.shape)
        # the box includes a pixel of anti-aliasing beyond the solid ink that to_model_input scales
        extents.append(max(max(bottom - top, right - left) - 1, 1) / side)
        widths.append(stroke_width(a[top:bottom, left:right]) / side)
    if not extents:
        raise ValueError("no bitmap with ink to measure")
    extent = float(np.median(extents))
    width = max(float(np.median(widths)), 1e-3)
    extent = min(max(extent, 2 * width), 0.999)
    total = (canvas - 1) / (extent - width)  # T from (canvas - 1 + L) / T = extent and L = width * T
    line = width * total
    padding = max((total - canvas - line) / 2.0, 0.0)
    return {"canvas": float(canvas), "line_diameter": round(line, 3), "padding": round(padding, 3)}


def image_to_model_input(
    data: bytes | str | Path, size: int, *, max_pixels: int = DEFAULT_MAX_PIXELS, name: str | None = None
) -> np.ndarray:
    """decode -> normalise -> frame: an uploaded or user's picture as a (size, size) model input."""
    grey = decode_image(data, max_pixels=max_pixels, max_side=max(1024, 8 * size), name=name)
    return to_model_input(normalize_ink(grey), size)
