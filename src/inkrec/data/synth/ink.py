"""Handwriting from stroke medians: printed strokes turned into the ink of many different writers.

A median is the printed stroke's centre line. Real writers differ from it in ways this module draws at random
for every sample, each with its own strength (the `Style`):

- the whole character: rotation, shear (slant), unequal scaling of width and height;
- each stroke: its own shift, turn and scale (components drift), shortened or lengthened ends;
- each trajectory: smooth noise along the stroke (two low-frequency waves per axis), so no line is straight;
- stroke order: neighbouring strokes swapped now and then (the printed order is not the only one people use);
- joined-up writing, the difference that matters most for fast hands (CASIA's writers lift the pen 4.4 times
  a character where print has 9.8 strokes): consecutive strokes linked by pen-down ligatures (a curve leaving
  the stroke's end in its direction and arriving at the next start), then corners rounded by smoothing in
  proportion to the writer's speed, which merges components into the hooks and loops of cursive forms;
- tiny strokes (dots) dropped now and then, as hurried writers do;
- the pen's inertia: a fast hand does not reach every corner of a joined-up trajectory. The pen follows it as a
  damped spring follows a moving target (a second-order tracking filter, stiffer for slower writers), so
  sharp turns overshoot into loops, small components shrink into hooks and waves (氵 and 讠 become one
  stroke) and the stroke arrives a little short, as fast writers' strokes do.

The work is one numba kernel over a whole batch, writing the packed layout `inkrec.preprocess.raster`
rasterizes directly (points, stroke offsets, drawing offsets): no Python per stroke or per point, which is what
keeps synthesis far ahead of training (thousands of characters a second on one core; see
``benchmarks/synth_speed.py``). Each sample's randomness comes from its own seed, so a sample is the same
whichever batch or thread makes it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numba as nb
import numpy as np

from inkrec.preprocess.simplify import rdp_keep

SPACING = 18.0  # resampling step along a trajectory, in the 1024-unit glyph box
MAX_STROKE_POINTS = 256
MAX_JOINED_POINTS = 8192  # a joined-up stroke longer than this is kept as it is
THIN = 0.5  # units of the 0-255 space


@dataclass(frozen=True)
class Style:
    """How far synthetic writers stray from print; 1.0 is the default strength of each effect."""

    rotation: float = 0.07  # radians, standard deviation
    shear: float = 0.15
    aspect: float = 0.12  # log-scale standard deviation of width vs height
    stroke_shift: float = 26.0  # glyph units
    stroke_turn: float = 0.06  # radians
    stroke_scale: float = 0.10  # log-scale
    ends: float = 0.08  # share of a stroke's length its ends move by
    wobble: float = 14.0  # glyph units, amplitude of the waves along a trajectory
    swap: float = 0.06  # chance that two neighbouring strokes are written in the other order
    cursive_min: float = 0.2  # each sample's speed is drawn uniformly in [cursive_min, cursive_max]
    cursive_max: float = 1.0
    join: float = 1.0  # chance of a ligature between consecutive strokes, times the speed
    smoothing: float = 10.0  # passes of corner rounding at full speed
    drop_dots: float = 0.15  # chance a tiny stroke is left out, times the speed
    inertia: float = 0.6  # chance a joined-up stroke is written with the pen's inertia, times the speed

    def as_array(self) -> np.ndarray:
        return np.array([getattr(self, f.name) for f in fields(self)], dtype=np.float64)


@nb.njit(cache=True, nogil=True)
def _resample(px, py, spacing, ox, oy):
    """Points every `spacing` units along the polyline (px, py), ends kept; returns the count."""
    n = px.shape[0]
    ox[0] = px[0]
    oy[0] = py[0]
    if n == 1:
        return 1
    m = 1
    carry = 0.0
    for i in range(n - 1):
        dx = px[i + 1] - px[i]
        dy = py[i + 1] - py[i]
        seg = math.sqrt(dx * dx + dy * dy)
        if seg <= 0.0:
            continue
        t = spacing - carry
        while t <= seg and m < ox.shape[0] - 1:
            ox[m] = px[i] + dx * t / seg
            oy[m] = py[i] + dy * t / seg
            m += 1
            t += spacing
        carry = seg - (t - spacing)
    if m < ox.shape[0]:
        ox[m] = px[n - 1]
        oy[m] = py[n - 1]
        m += 1
    return m


@nb.njit(cache=True, nogil=True)
def _smooth(x, y, start, end, passes):
    """Corner rounding: [1, 2, 1] / 4 passes over the interior points of x[start:end] (ends fixed)."""
    for _ in range(passes):
        px = x[start]
        py = y[start]
        for i in range(start + 1, end - 1):
            cx = x[i]
            cy = y[i]
            x[i] = 0.25 * px + 0.5 * cx + 0.25 * x[i + 1]
            y[i] = 0.25 * py + 0.5 * cy + 0.25 * y[i + 1]
            px = cx
            py = cy


@nb.njit(cache=True, nogil=True)
def _inertia(x, y, start, end, omega, zeta, settle):
    """The pen following x[start:end] as a damped spring (natural frequency `omega` per point, damping `zeta`)
    follows a target moving along it, in place; then `settle` more points on the last target (appended: the
    stroke must be the last one written). Returns the new end."""
    if end - start < 3:
        return end
    px = x[start]
    py = y[start]
    vx = x[start + 1] - px
    vy = y[start + 1] - py
    h = 0.5
    w2 = omega * omega
    c = 2.0 * zeta * omega
    tx = px
    ty = py
    for i in range(start + 1, end + settle):
        if i < end:
            tx = x[i]
            ty = y[i]
        for _ in range(2):
            vx += (w2 * (tx - px) - c * vx) * h
            vy += (w2 * (ty - py) - c * vy) * h
            px += vx * h
            py += vy * h
        x[i] = px
        y[i] = py
    return end + settle


@nb.njit(cache=True, nogil=True)
def _close_stroke(xs, ys, start, end, style, speed):
    """A pen-down run ends: corners rounded, then perhaps the pen's inertia; returns the run's new end."""
    _smooth(xs, ys, start, end, int(style[12] * speed + np.random.random()))
    if np.random.random() < style[14] * speed:
        strength = speed * np.random.random()
        omega = 1.2 - 0.75 * strength
        zeta = 0.45 + 0.4 * np.random.random()
        return _inertia(xs, ys, start, end, omega, zeta, 3)
    return end


@nb.njit(cache=True, nogil=True)
def _synth_one(points, stroke_off, s0, s1, seed, style, xs, ys, s_off, p0, k0):
    """One synthetic sample of the character whose strokes are s0:s1, written from point p0 and stroke k0 of
    the packed output; returns (points written, strokes written)."""
    np.random.seed(seed)
    n = s1 - s0
    order = np.arange(n)
    for i in range(n - 1):
        if np.random.random() < style[8]:
            t = order[i]
            order[i] = order[i + 1]
            order[i + 1] = t
    speed = style[9] + (style[10] - style[9]) * np.random.random()
    # the whole character: rotation, shear, aspect
    rot = np.random.normal() * style[0]
    shear = np.random.normal() * style[1]
    asp = math.exp(np.random.normal() * style[2])
    ca = math.cos(rot)
    sa = math.sin(rot)
    a11 = ca * asp
    a12 = -sa + shear
    a21 = sa * asp
    a22 = ca / asp
    rx = np.empty(MAX_STROKE_POINTS)
    ry = np.empty(MAX_STROKE_POINTS)
    p = p0
    k = k0
    s_off[k] = p
    open_stroke = False
    last_dx = 0.0
    last_dy = 0.0
    for j in range(n):
        s = s0 + order[j]
        a = stroke_off[s]
        b = stroke_off[s + 1]
        m = _resample(points[a:b, 0].astype(np.float64), points[a:b, 1].astype(np.float64), SPACING, rx, ry)
        length = (m - 1) * SPACING
        if m <= 2 and length < 60.0 and np.random.random() < style[13] * speed:
            continue  # a dot left out
        # the stroke's own drift: turn and scale about its centre, then shift
        cx = 0.0
        cy = 0.0
        for i in range(m):
            cx += rx[i]
            cy += ry[i]
        cx /= m
        cy /= m
        t = np.random.normal() * style[4]
        sc = math.exp(np.random.normal() * style[5])
        ct = math.cos(t) * sc
        st = math.sin(t) * sc
        shx = np.random.normal() * style[3]
        shy = np.random.normal() * style[3]
        # ends: move the first and last point along the stroke's direction
        e0 = np.random.normal() * style[6]
        e1 = np.random.normal() * style[6]
        # wobble: two waves per axis over the stroke's length
        f1 = 0.5 + 1.5 * np.random.random()
        f2 = 1.5 + 2.5 * np.random.random()
        ph = np.random.random(4) * 6.283185307179586
        amp = style[7] * (0.5 + np.random.random())
        for i in range(m):
            u = i / max(m - 1, 1)
            x0 = rx[i] - cx
            y0 = ry[i] - cy
            x1 = ct * x0 - st * y0 + cx + shx
            y1 = st * x0 + ct * y0 + cy + shy
            w = math.sin(3.141592653589793 * u)  # waves vanish at the ends
            x1 += amp * w * (math.sin(6.283185307179586 * f1 * u + ph[0]) + 0.5 * math.sin(6.283185307179586 * f2 * u + ph[1]))
            y1 += amp * w * (math.sin(6.283185307179586 * f1 * u + ph[2]) + 0.5 * math.sin(6.283185307179586 * f2 * u + ph[3]))
            rx[i] = x1
            ry[i] = y1
        if m >= 2:
            dx0 = rx[1] - rx[0]
            dy0 = ry[1] - ry[0]
            dx1 = rx[m - 1] - rx[m - 2]
            dy1 = ry[m - 1] - ry[m - 2]
            rx[0] -= dx0 * e0 * (m - 1)
            ry[0] -= dy0 * e0 * (m - 1)
            rx[m - 1] += dx1 * e1 * (m - 1)
            ry[m - 1] += dy1 * e1 * (m - 1)
        # joined to the previous stroke by a pen-down ligature, or a new stroke
        if open_stroke and np.random.random() < style[11] * speed:
            ex = xs[p - 1]
            ey = ys[p - 1]
            gx = rx[0] - ex
            gy = ry[0] - ey
            gap = math.sqrt(gx * gx + gy * gy)
            dn = math.sqrt(last_dx * last_dx + last_dy * last_dy) + 1e-9
            reach = 0.35 * gap * np.random.random()
            qx = ex + last_dx / dn * reach
            qy = ey + last_dy / dn * reach
            steps = int(gap / (2.0 * SPACING))
            for i in range(1, steps + 1):
                u = i / (steps + 1)
                v = 1.0 - u
                xs[p] = v * v * ex + 2 * u * v * qx + u * u * rx[0]
                ys[p] = v * v * ey + 2 * u * v * qy + u * u * ry[0]
                p += 1
        else:
            if open_stroke:
                p = _close_stroke(xs, ys, s_off[k], p, style, speed)
                k += 1
                s_off[k] = p
            open_stroke = True
        for i in range(m):
            xs[p] = rx[i]
            ys[p] = ry[i]
            p += 1
        if m >= 2:
            last_dx = rx[m - 1] - rx[m - 2]
            last_dy = ry[m - 1] - ry[m - 2]
    if open_stroke:
        p = _close_stroke(xs, ys, s_off[k], p, style, speed)
        k += 1
        s_off[k] = p
    # the character's shape: rotation, shear, aspect about the centre; then the simplified 0-255 space
    # (top-left aligned, longest side 255), the space every drawing reaches the rasterizer in
    if p == p0:
        return 0, 0
    lox = 1e18
    loy = 1e18
    hix = -1e18
    hiy = -1e18
    for i in range(p0, p):
        x = a11 * (xs[i] - 512.0) + a12 * (ys[i] - 512.0)
        y = a21 * (xs[i] - 512.0) + a22 * (ys[i] - 512.0)
        xs[i] = x
        ys[i] = y
        lox = min(lox, x)
        loy = min(loy, y)
        hix = max(hix, x)
        hiy = max(hiy, y)
    ext = max(hix - lox, hiy - loy)
    scale = 255.0 / ext if ext > 0 else 1.0
    for i in range(p0, p):
        xs[i] = (xs[i] - lox) * scale
        ys[i] = (ys[i] - loy) * scale
    # drop the points a line through their neighbours passes within THIN units of (invisible at any model
    # size, a quarter of the points, and rasterizing costs per segment)
    keep = np.empty(MAX_JOINED_POINTS, dtype=np.bool_)
    stack = np.empty(2 * MAX_JOINED_POINTS + 4, dtype=np.int64)
    w = p0
    for j in range(k0, k):
        a = s_off[j]
        n = s_off[j + 1] - a
        s_off[j] = w
        if n > MAX_JOINED_POINTS:
            for i in range(n):
                xs[w] = xs[a + i]
                ys[w] = ys[a + i]
                w += 1
            continue
        rdp_keep(xs[a : a + n], ys[a : a + n], n, THIN, keep, stack)
        for i in range(n):
            if keep[i]:
                xs[w] = xs[a + i]
                ys[w] = ys[a + i]
                w += 1
    s_off[k] = w
    return w - p0, k - k0


@nb.njit(cache=True, nogil=True)
def synth_batch(points, stroke_off, char_off, chars, seeds, style, xs, ys, s_off, d_off):
    """Samples of characters `chars` (bank indices) with `seeds`, packed for `rasterize_packed`."""
    p = 0
    k = 0
    d_off[0] = 0
    for b in range(chars.shape[0]):
        c = chars[b]
        dp, dk = _synth_one(points, stroke_off, char_off[c], char_off[c + 1], seeds[b], style, xs, ys, s_off, p, k)
        p += dp
        k += dk
        d_off[b + 1] = k
    s_off[k] = p
    return p, k


def buffers(bank_max_points: int, n: int) -> tuple[np.ndarray, ...]:
    """Output buffers large enough for `n` samples of characters of at most `bank_max_points` resampled points."""
    cap = n * bank_max_points
    return (np.empty(cap), np.empty(cap), np.zeros(cap + 1, np.int64), np.zeros(n + 1, np.int64))
