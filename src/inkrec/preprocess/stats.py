"""Ink statistics of a stack of bitmaps: how a rendering looks in numbers.

Our rasterizer is checked against Google's own numpy_bitmap files by these (the tests bound the difference,
the raster benchmark prints it for the Pillow baseline too), so both measure with this one definition.
"""

from __future__ import annotations

import numpy as np


def ink_statistics(bitmaps: np.ndarray) -> dict[str, float | np.ndarray]:
    """Mean intensity, ink coverage (> 0), stroke width (2 x ink area / ink perimeter at > 127), the
    fraction of ink pixels at 255, and the histogram of ink intensities (8 bins) of square uint8 bitmaps,
    (N, S, S) or (N, S*S)."""
    b = np.asarray(bitmaps, dtype=np.float64)
    side = int(round(np.sqrt(b[0].size))) if len(b) else 0
    b = b.reshape(len(b), side, side)
    m = b > 127
    perimeter = (
        (m[:, 1:, :] != m[:, :-1, :]).sum()
        + (m[:, :, 1:] != m[:, :, :-1]).sum()
        + m[:, 0, :].sum()
        + m[:, -1, :].sum()
        + m[:, :, 0].sum()
        + m[:, :, -1].sum()
    )
    ink = b[b > 0]
    return {
        "mean": float(b.mean()),
        "coverage": float((b > 0).mean()),
        "width": float(2.0 * m.sum() / max(perimeter, 1)),
        "saturated": float((ink == 255).mean()) if ink.size else 0.0,
        "histogram": np.histogram(ink, bins=8, range=(0.5, 255.5))[0] / max(ink.size, 1),
    }
