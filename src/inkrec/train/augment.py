"""Augmentation: make the model see each drawing a little differently every epoch.

Bitmaps: one random affine map (rotation, scale, aspect, shear, shift) plus a smooth random elastic
displacement, both folded into a single sampling grid and applied to the whole batch with
`F.grid_sample`, so it runs as a handful of vectorised torch ops on the training device (no per-image
Python, no torchvision).

Pens: `vary_pen` makes a share of the bitmaps' strokes thicker or thinner (`--pen`).

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
