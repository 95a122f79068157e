"""Digits written as a person writes them with a mouse (polylines in a 100-unit box, y down), for lines of ink
in the tests: the shapes, not the data, are ours; what reads them is the bundled digits model."""

from __future__ import annotations

import numpy as np


def _arc(cx, cy, rx, ry, a0, a1, n=24):
    t = np.linspace(np.radians(a0), np.radians(a1), n)
    return [list(cx + rx * np.cos(t)), list(cy + ry * np.sin(t))]


DIGITS: dict[str, list[list[list[float]]]] = {
    "0": [_arc(50, 50, 28, 44, -90, 270, 40)],
    "1": [[[45, 60, 60], [18, 5, 95]]],
    "4": [[[62, 18, 80], [5, 68, 68]], [[62, 62], [30, 98]]],
    "7": [[[15, 85, 42], [8, 8, 96]]],
    "2": [[_arc(50, 32, 30, 26, 200, 360, 16)[0] + [20, 85], _arc(50, 32, 30, 26, 200, 360, 16)[1] + [95, 95]]],
    "3": [[_arc(48, 28, 28, 22, 200, 450, 16)[0] + _arc(48, 72, 30, 24, 270, 520, 16)[0],
           _arc(48, 28, 28, 22, 200, 450, 16)[1] + _arc(48, 72, 30, 24, 270, 520, 16)[1]]],
}


def ink_digits(text: str, *, height: float = 120.0, gap: float = 0.35, x0: float = 20.0, y0: float = 20.0):
    """Raw strokes [[x...], [y...], [t...]] of `text` written left to right (screen units, ms)."""
    out, x, t = [], x0, 0.0
    for ch in text:
        s = height / 100.0
        for xs, ys in DIGITS[ch]:
            n = len(xs)
            out.append([[x + v * s for v in xs], [y0 + v * s for v in ys], [t + 12.0 * i for i in range(n)]])
            t += 12.0 * n + 120.0
        x += max(max(xs) for xs, _ in DIGITS[ch]) * s + gap * height
    return out
