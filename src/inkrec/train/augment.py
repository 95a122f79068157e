"""Augmentation: make the model see each drawing a little differently every epoch.

Bitmaps: one random affine map (rotation, scale, aspect, shear, shift) plus a smooth random elastic
displacement, both folded into a single sampling grid and applied to the whole batch with
`F.grid_sample`, so it runs as a handful of vectorised torch ops on the training device (no per-image
Python, no torchvision).

Pens: `vary_pen` makes a share of the bitmaps' strokes thicker or thinner (`--pen`).

Line context: `in_line_context` shows a share of the bitmaps as a line reader meets them (`--line-context`):
the character with other characters of the batch touching or overlapping it at its left and right edges,
cut apart roughly where a cut through the touching ink falls (so a fragment of a neighbour comes along, or a
sliver of the character's own edge is lost), and framed again to the cut candidate's own extent, as every
candidate of a line is framed like a single picture. The label stays the character's. `--line-pairs` shows
a share as two whole touching characters framed as one candidate, which is no single character.

Strokes: the pen path is transformed before it becomes pixels (random rotation, scale, shear, point
jitter, dropping whole strokes), then brought back into the simplified 0-255 space (top-left aligned,
longest side 255) that the rasterizer and the stroke encoder expect.

`strength` scales every range: 0 is off, "light" is 0.5, "strong" is 1.0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from inkrec.errors import ConfigError
from inkrec.preprocess.strokes import canonical_strokes, normalize_strokes

STRENGTHS = {"none": 0.0, "light": 0.5, "strong": 1.0}

# Ranges at strength 1.0.
MAX_ROTATION_DEG = 20.0
MAX_LOG_SCALE = 0.2  # scale in [e^-0.2, e^0.2] = [0.82, 1.22]
MAX_LOG_ASPECT = 0.15
MAX_SHEAR = 0.25
MAX_SHIFT = 0.12  # fraction of the half-width (grid coordinates span [-1, 1])
ELASTIC_PROB = 0.5
ELASTIC_ALPHA = 0.08  # displacement amplitude in grid units
ELASTIC_GRID = 4  # control points per side of the coarse displacement field
PEN_THICKER = 1.0  # most a stroke grows: a full 3x3 dilation (about a pixel each side)
PEN_THINNER = 0.6  # most a stroke shrinks: 60% of the way to a 3x3 erosion, so thin strokes survive
STROKE_JITTER = 2.5  # point noise in simplified units (0-255 space)
STROKE_DROP = 0.15  # probability of dropping each stroke (drawings keep at least one)


def strength_of(augment: str | float) -> float:
    """'none' | 'light' | 'strong' | a number in [0, 2] -> a strength factor."""
    if isinstance(augment, str):
        if augment in STRENGTHS:
            return STRENGTHS[augment]
        try:
            augment = float(augment)
        except ValueError:
            raise ConfigError(f"augment must be none, light, strong or a number, not {augment!r}") from None
    if not 0.0 <= float(augment) <= 2.0:
        raise ConfigError(f"augment strength must be in [0, 2], got {augment}")
    return float(augment)


def _uniform(n: int, generator: torch.Generator, device) -> torch.Tensor:
    return torch.rand(n, generator=generator).to(device) * 2 - 1


def random_affine_theta(n: int, strength: float, generator: torch.Generator, device="cpu") -> torch.Tensor:
    """(n, 2, 3) matrices mapping output grid coordinates to input coordinates."""
    angle = _uniform(n, generator, device) * math.radians(MAX_ROTATION_DEG) * strength
    log_scale = _uniform(n, generator, device) * MAX_LOG_SCALE * strength
    log_aspect = _uniform(n, generator, device) * MAX_LOG_ASPECT * strength
    shear = _uniform(n, generator, device) * MAX_SHEAR * strength
    tx = _uniform(n, generator, device) * MAX_SHIFT * strength
    ty = _uniform(n, generator, device) * MAX_SHIFT * strength
    sx = torch.exp(-(log_scale + log_aspect))  # inverse map: shrinking the grid enlarges the drawing
    sy = torch.exp(-(log_scale - log_aspect))
    cos, sin = torch.cos(angle), torch.sin(angle)
    theta = torch.zeros(n, 2, 3, device=device)
    theta[:, 0, 0] = sx * cos
    theta[:, 0, 1] = sx * (-sin + shear * cos)
    theta[:, 1, 0] = sy * sin
    theta[:, 1, 1] = sy * (cos + shear * sin)
    theta[:, 0, 2] = tx
    theta[:, 1, 2] = ty
    return theta


def augment_bitmaps(x: torch.Tensor, strength: float, generator: torch.Generator) -> torch.Tensor:
    """Randomly warp a float batch (N, C, H, W); `generator` (a CPU generator) makes it repeatable."""
    if strength <= 0:
        return x
    n, _, h, w = x.shape
    device = x.device
    theta = random_affine_theta(n, strength, generator, device)
    grid = F.affine_grid(theta, [n, 1, h, w], align_corners=False)
    # Elastic part: a coarse random displacement field, smoothly upsampled, on about half of the images.
    coarse = torch.randn(n, 2, ELASTIC_GRID, ELASTIC_GRID, generator=generator).to(device)
    on = (torch.rand(n, generator=generator) < ELASTIC_PROB).to(device=device, dtype=x.dtype)
    coarse = coarse * (ELASTIC_ALPHA * strength) * on[:, None, None, None]
    field = F.interpolate(coarse, size=(h, w), mode="bicubic", align_corners=True)
    grid = grid + field.permute(0, 2, 3, 1)
    return F.grid_sample(x, grid.to(x.dtype), mode="bilinear", padding_mode="zeros", align_corners=False)


def vary_pen(x: torch.Tensor, share: float, generator: torch.Generator) -> torch.Tensor:
    """Make the strokes of a random `share` of a float batch (N, C, H, W) thicker or thinner.

    People write with pens from fine-liners to markers; a model trained on one writer group's pens meets the
    others' at test time. A 3x3 grey dilation (or erosion) blended in by a random amount changes the width
    by up to about a pixel each side, smoothly, as a different pen would.
    """
    if share <= 0:
        return x
    n = x.shape[0]
    pick = torch.rand(n, generator=generator) < share
    thicker = torch.rand(n, generator=generator) < 0.5
    amount = torch.rand(n, generator=generator) * torch.where(thicker, PEN_THICKER, PEN_THINNER)
    weight = (pick.float() * amount).to(device=x.device, dtype=x.dtype)[:, None, None, None]
    dilated = F.max_pool2d(x, 3, stride=1, padding=1)
    eroded = -F.max_pool2d(-x, 3, stride=1, padding=1)
    target = torch.where(thicker.to(x.device)[:, None, None, None], dilated, eroded)
    return x + weight * (target - x)


# Line context, in units of the character's own height (as `inkrec.read.lines` spaces real lines).
CONTEXT_SIDE = 0.7  # probability of a neighbour on each side (at least one is always there)
CONTEXT_OVERLAP = 0.15  # most a neighbour's ink overlaps the character's (0: just touching)
CONTEXT_SCALE = 0.2  # neighbours' size: e^[-0.2, 0.2] times the character's
CONTEXT_BASELINE = 0.24  # neighbours' vertical offset (each character of a line is off by up to 0.12)
CONTEXT_INTRUDE = 0.1  # most the cut strays past the overlap into the neighbour
CONTEXT_OWN_LOSS = 0.25  # most of the character's own width a cut takes off one side
CONTEXT_FRAGMENT = 0.4  # most of a neighbour's width a cut leaves with the character
CONTEXT_PEN = 0.75  # framing a wider candidate thins its strokes; the framing restores the pen: so do we


def _ink_extent(mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, L) booleans -> first and one-past-last True index per row (0, 0 when none)."""
    n, length = mask.shape
    pos = torch.arange(length, device=mask.device).expand(n, length)
    any_ = mask.any(dim=1)
    first = torch.where(mask, pos, length).amin(dim=1)
    last = torch.where(mask, pos, -1).amax(dim=1) + 1
    return torch.where(any_, first, 0).float(), torch.where(any_, last, 0).float()


def _sample(img: torch.Tensor, out_hw: tuple[int, int], cx: torch.Tensor, cy: torch.Tensor,
            zoom: torch.Tensor, tx: torch.Tensor, ty: torch.Tensor) -> torch.Tensor:
    """Resample `img` (N, 1, H, W) onto an (out_h, out_w) canvas: the source point (cx, cy) lands at (tx, ty)
    and the source is magnified `zoom` times (continuous pixel coordinates, per image)."""
    n, _, h, w = img.shape
    oh, ow = out_hw
    dev = img.device
    u = (torch.arange(ow, device=dev, dtype=torch.float32) + 0.5)[None, :]
    v = (torch.arange(oh, device=dev, dtype=torch.float32) + 0.5)[None, :]
    sx = (u - tx[:, None]) / zoom[:, None] + cx[:, None]  # (N, ow) source columns
    sy = (v - ty[:, None]) / zoom[:, None] + cy[:, None]  # (N, oh) source rows
    gx = (sx / w * 2 - 1)[:, None, :].expand(n, oh, ow)
    gy = (sy / h * 2 - 1)[:, :, None].expand(n, oh, ow)
    grid = torch.stack([gx, gy], dim=-1).to(img.dtype)
    return F.grid_sample(img, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def in_line_context(x: torch.Tensor, share: float, generator: torch.Generator, *,
                    pairs: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """A float batch (N, 1, S, S) of framed characters as a line reader's candidates -> (the batch, which of
    its bitmaps are pairs).

    A random `share` is shown with fragments of other characters of the batch touching it at its edges, cut
    out and framed again; these stay their character. Of the rest, a random `pairs` share is shown whole
    beside a whole touching neighbour and framed as one candidate: two characters, which a line reader must
    not mistake for one (the caller teaches them as no character in particular)."""
    n, _, s, _ = x.shape
    dev = x.device
    none = torch.zeros(n, dtype=torch.bool, device=dev)
    if (share <= 0 and pairs <= 0) or n < 2:
        return x, none

    def rand(*shape):
        return torch.rand(*shape, generator=generator).to(dev)

    pick = rand(n) < share
    pair = ~pick & (rand(n) < pairs)
    left_on = rand(n) < CONTEXT_SIDE
    right_on = (rand(n) < CONTEXT_SIDE) | ~left_on
    right_on = torch.where(pair, ~left_on, right_on)  # a pair: one neighbour
    # neighbours: other characters of the batch (a shift by 1..n-1 never picks the character itself)
    shift_l = torch.randint(1, n, (n,), generator=generator).to(dev)
    shift_r = torch.randint(1, n, (n,), generator=generator).to(dev)
    idx = torch.arange(n, device=dev)
    ink = x[:, 0] > 0.1
    x0, x1 = _ink_extent(ink.any(dim=1))
    y0, y1 = _ink_extent(ink.any(dim=2))
    height = (y1 - y0).clamp(min=1.0)
    side = torch.maximum(x1 - x0, y1 - y0).clamp(min=1.0)  # the framing's longest side
    cw, ch = 3 * s, 2 * s  # the working strip: room for both neighbours and their baselines
    one = torch.ones(n, device=dev)
    mid = torch.full((n,), s / 2, device=dev)
    # the character itself, in the middle of the strip, as it is
    ox, oy = float(s), float(s / 2)
    strip = _sample(x, (ch, cw), mid, mid, one, mid + ox, mid + oy)
    cut_l = torch.zeros(n, device=dev)
    cut_r = torch.full((n,), float(cw), device=dev)
    for on, shift, sign in ((left_on, shift_l, -1.0), (right_on, shift_r, 1.0)):
        j = (idx + shift) % n
        zoom = torch.exp((rand(n) * 2 - 1) * CONTEXT_SCALE)
        overlap = rand(n) * CONTEXT_OVERLAP * height
        dy = (rand(n) * 2 - 1) * CONTEXT_BASELINE * height
        if sign < 0:  # its right edge reaches `overlap` into the character's left edge
            edge, target = x1[j], ox + x0 + overlap
        else:
            edge, target = x0[j], ox + x1 - overlap
        tx = target - (edge - s / 2) * zoom
        placed = _sample(x[j], (ch, cw), mid, mid, zoom, tx, mid + oy + dy)
        placed = placed * (on & (x0[j] < x1[j]))[:, None, None, None]
        strip = torch.maximum(strip, placed)
        # the cut falls somewhere in the touching ink, now and then a little into the neighbour (a fragment:
        # never half of it), and never takes more than a quarter of a narrow character's own width
        cut = rand(n) * overlap - rand(n) * CONTEXT_INTRUDE * height
        cut = torch.maximum(cut, overlap - CONTEXT_FRAGMENT * (x1[j] - x0[j]) * zoom)
        cut = torch.minimum(cut, CONTEXT_OWN_LOSS * (x1 - x0))
        cut_on = on & ~pair  # a pair is not cut
        if sign < 0:
            cut_l = torch.where(cut_on, ox + x0 + cut, cut_l)
        else:
            cut_r = torch.where(cut_on, ox + x1 - cut, cut_r)
    cols = torch.arange(cw, device=dev, dtype=torch.float32)[None, :] + 0.5
    keep = (cols >= cut_l[:, None]) & (cols < cut_r[:, None])
    strip = strip * keep[:, None, None, :]
    # frame the candidate's own ink box as the character's box was framed
    ink = strip[:, 0] > 0.1
    bx0, bx1 = _ink_extent(ink.any(dim=1))
    by0, by1 = _ink_extent(ink.any(dim=2))
    box_side = torch.maximum(bx1 - bx0, by1 - by0).clamp(min=1.0)
    zoom = side / box_side
    out = _sample(strip, (s, s), (bx0 + bx1) / 2, (by0 + by1) / 2, zoom, (x0 + x1) / 2, (y0 + y1) / 2)
    thicker = (CONTEXT_PEN * (1 / zoom.clamp(min=0.25) - 1)).clamp(0.0, 1.0)[:, None, None, None]
    out = out + thicker * (F.max_pool2d(out, 3, stride=1, padding=1) - out)
    return torch.where((pick | pair)[:, None, None, None], out, x), pair


# ------------------------------------------------------------------------------------------- strokes


def augment_strokes(strokes: Sequence, strength: float, rng: np.random.Generator) -> list[np.ndarray]:
    """One randomly transformed copy of a drawing, in the simplified 0-255 space.

    Raw drawings are simplified first (`canonical_strokes`); drawings already in the simplified space
    pass through that step unchanged."""
    xy = canonical_strokes(strokes)
    if strength <= 0 or not xy:
        return xy
    if len(xy) > 1:
        keep = rng.random(len(xy)) >= STROKE_DROP * strength
        if not keep.any():
            keep[rng.integers(len(xy))] = True
        xy = [s for s, k in zip(xy, keep) if k]
    angle = rng.uniform(-1, 1) * math.radians(MAX_ROTATION_DEG) * strength
    sx = math.exp(rng.uniform(-1, 1) * MAX_LOG_SCALE * strength + rng.uniform(-1, 1) * MAX_LOG_ASPECT * strength)
    sy = math.exp(rng.uniform(-1, 1) * MAX_LOG_SCALE * strength)
    shear = rng.uniform(-1, 1) * MAX_SHEAR * strength
    c, s = math.cos(angle), math.sin(angle)
    m = np.array([[c, -s], [s, c]]) @ np.array([[sx, shear * sx], [0.0, sy]])
    pts = np.concatenate(xy, axis=1)
    centre = pts.mean(axis=1, keepdims=True)
    sizes = np.cumsum([a.shape[1] for a in xy])[:-1]
    moved = m @ (pts - centre) + rng.normal(0.0, STROKE_JITTER * strength, size=pts.shape)
    return normalize_strokes(np.split(moved, sizes, axis=1))
