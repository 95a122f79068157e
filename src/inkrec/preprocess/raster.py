"""Strokes -> anti-aliased bitmap, reproducing the Quick, Draw! ``numpy_bitmap`` rendering.

The data set's 28x28 bitmaps were made by its maintainers' ``vector_to_raster`` recipe, which
draws with cairo: a 256-unit canvas (the simplified drawings' coordinate space) plus a margin of
``total_padding = 2 * padding + line_diameter`` units, scaled by ``side / (256 + total_padding)``;
each drawing shifted by ``((256, 256) - bbox_max) / 2`` (the *maximum* corner only: simplified
drawings already start at 0); every stroke drawn as one path ``move_to(p0), line_to(p0), line_to(p1),
...`` of width ``line_diameter`` with round caps and joins, anti-aliased (``ANTIALIAS_BEST``), white
on black, each stroke blended over the previous ones.

We do not depend on cairo. This module re-implements, in integer arithmetic, exactly the steps cairo
1.16 takes for that recipe, so that its output is the same bytes:

* points are snapped to cairo's 24.8 fixed point (1/256 px, ties to even); repeated points are
  dropped and a point continuing a segment in exactly the same direction extends it (cairo's path);
* cairo's polygon stroker turns each stroke into an outline: its polygonal "pen" (``n`` vertices on
  the circle of radius ``line_diameter / 2``, ``n`` set by cairo's 0.1 px tolerance: 12 at 28x28),
  fans of pen vertices for round joins and caps, inner joins through the joint, a full pen for a
  one-point stroke;
* cairo's "tor" scan converter fills the outline with the non-zero rule: 15 sub-rows per pixel row,
  edge crossings rounded to 1/256 px at each sub-row's centre, except for pixel rows where no edge
  starts, ends or crosses, whose coverage is computed analytically (with cairo's own rounding); the
  active edge list is kept in cairo's order because that order decides which rows are analytic;
* coverage becomes an 8-bit alpha as cairo computes it, blended over the image as cairo's
  opaque-source span renderer does (8-bit rounding at each stroke).

Why hand-written: speed (a numba kernel, compiled once and cached, rasterizes thousands of drawings
per second on one core, several times a plain Pillow ``ImageDraw`` rendering) and an algorithm of
plain integer steps that ``src/inkrec/preprocess/ink.js`` repeats operation for operation, so the page feeds its
model the very pixels our training data has. Agreement with the real ``numpy_bitmap`` files and
with cairo itself is measured in ``docs/preprocessing.md``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import numba as nb
import numpy as np

__all__ = [
    "RASTER_PARAMS",
    "pack_drawings",
    "pen_vertex_count",
    "rasterize",
    "rasterize_many",
    "rasterize_packed",
]

ORIGINAL_SIDE = 256.0
CAIRO_TOLERANCE = 0.1  # cairo's default flattening tolerance, in device pixels
GRID_Y = 15  # sub-scanlines per pixel row in cairo's scan converter
# points further than this off the 256-unit canvas are clamped (keeps the integer maths exact)
COORD_CLAMP = 512.0
MAX_SIZE = 512

RASTER_PARAMS: dict = {
    "recipe": "quickdraw-vector_to_raster",
    "coordinate_space": "simplified-0-255",
    "original_side": 256,
    "line_diameter": 16,
    "padding": 16,
    "centering": "bbox-max",
    "cap": "round",
    "join": "round",
    "antialias": "cairo-best",
    "foreground": 255,
    "background": 0,
    "dtype": "uint8",
}


def pen_vertex_count(size: int, line_diameter: float = 16.0, padding: float = 16.0) -> int:
    """Number of vertices of cairo's polygonal pen for this output size (tolerance 0.1 px)."""
    scale = float(size) / (ORIGINAL_SIDE + (padding * 2.0 + line_diameter))
    major_axis = (line_diameter / 2.0) * scale
    if CAIRO_TOLERANCE >= 4.0 * major_axis:
        return 4  # cairo uses a single vertex here; sizes below 1 px are of no use anyway
    if CAIRO_TOLERANCE >= major_axis:
        return 4
    divisor = math.acos(1.0 - CAIRO_TOLERANCE / major_axis)
    n = math.ceil(2.0 * math.pi / divisor)
    if n % 2:
        n += 1
    return max(n, 4)


# ----------------------------------------------------------------------------------------------
# numba kernels. Geometry is in cairo's fixed point (1/256 pixel, int64); the scan converter's
# vertical grid has GRID_Y sub-rows per pixel.


@nb.njit(cache=True, inline="always")
def _fixed(v):
    """cairo's _cairo_fixed_from_double: nearest 1/256, ties to even."""
    return np.int64(np.round(v * 256.0))


@nb.njit(cache=True, inline="always")
def _slope_compare(adx, ady, bdx, bdy):
    """cairo's _cairo_slope_compare (angle order of two integer vectors)."""
    lhs = ady * bdx
    rhs = bdy * adx
    if lhs < rhs:
        return -1
    if lhs > rhs:
        return 1
    if adx == 0 and ady == 0 and bdx == 0 and bdy == 0:
        return 0
    if adx == 0 and ady == 0:
        return 1
    if bdx == 0 and bdy == 0:
        return -1
    if (adx < 0) != (bdx < 0) or (ady < 0) != (bdy < 0):
        if adx > 0 or (adx == 0 and ady > 0):
            return -1
        return 1
    return 0


@nb.njit(cache=True)
def _pen(size, line_diameter, padding, n):
    """cairo's polygonal pen: n vertices on the circle of radius line_diameter/2, in device fixed point."""
    scale = size / (ORIGINAL_SIDE + (padding * 2.0 + line_diameter))
    radius = line_diameter / 2.0
    pvx = np.empty(n, np.int64)
    pvy = np.empty(n, np.int64)
    for i in range(n):
        theta = 2.0 * math.pi * i / n
        pvx[i] = _fixed(scale * (radius * math.cos(theta)))
        pvy[i] = _fixed(scale * (radius * math.sin(theta)))
    return pvx, pvy


@nb.njit(cache=True)
def _pen_slopes(pvx, pvy):
    n = pvx.shape[0]
    cwx = np.empty(n, np.int64)
    cwy = np.empty(n, np.int64)
    ccwx = np.empty(n, np.int64)
    ccwy = np.empty(n, np.int64)
    for i in range(n):
        ip = i - 1 if i > 0 else n - 1
        inx = i + 1 if i + 1 < n else 0
        cwx[i] = pvx[i] - pvx[ip]
        cwy[i] = pvy[i] - pvy[ip]
        ccwx[i] = pvx[inx] - pvx[i]
        ccwy[i] = pvy[inx] - pvy[i]
    return cwx, cwy, ccwx, ccwy


@nb.njit(cache=True)
def _active_cw(cwx, cwy, ccwx, ccwy, indx, indy, outdx, outdy):
    """cairo's _cairo_pen_find_active_cw_vertices -> (start, stop)."""
    n = cwx.shape[0]
    lo = 0
    hi = n
    i = (lo + hi) >> 1
    while True:
        if _slope_compare(cwx[i], cwy[i], indx, indy) < 0:
            lo = i
        else:
            hi = i
        i = (lo + hi) >> 1
        if hi - lo <= 1:
            break
    if _slope_compare(cwx[i], cwy[i], indx, indy) < 0:
        i += 1
        if i == n:
            i = 0
    start = i
    if _slope_compare(outdx, outdy, ccwx[i], ccwy[i]) >= 0:
        lo = i
        hi = i + n
        i = (lo + hi) >> 1
        while True:
            j = i - n if i >= n else i
            if _slope_compare(cwx[j], cwy[j], outdx, outdy) > 0:
                hi = i
            else:
                lo = i
            i = (lo + hi) >> 1
            if hi - lo <= 1:
                break
        if i >= n:
            i -= n
    return start, i


@nb.njit(cache=True)
def _active_ccw(cwx, cwy, ccwx, ccwy, indx, indy, outdx, outdy):
    """cairo's _cairo_pen_find_active_ccw_vertices -> (start, stop)."""
    n = cwx.shape[0]
    lo = 0
    hi = n
    i = (lo + hi) >> 1
    while True:
        if _slope_compare(indx, indy, ccwx[i], ccwy[i]) < 0:
            lo = i
        else:
            hi = i
        i = (lo + hi) >> 1
        if hi - lo <= 1:
            break
    if _slope_compare(indx, indy, ccwx[i], ccwy[i]) < 0:
        i += 1
        if i == n:
            i = 0
    start = i
    if _slope_compare(cwx[i], cwy[i], outdx, outdy) <= 0:
        lo = i
        hi = i + n
        i = (lo + hi) >> 1
        while True:
            j = i - n if i >= n else i
            if _slope_compare(outdx, outdy, ccwx[j], ccwy[j]) > 0:
                hi = i
            else:
                lo = i
            i = (lo + hi) >> 1
            if hi - lo <= 1:
                break
        if i >= n:
            i -= n
    return start, i


@nb.njit(cache=True)
def _cadd(cx, cy, cn, x, y):
    """Append a point to a contour (cairo's contour_add_point, whose merging of near points is off)."""
    cx[cn] = x
    cy[cn] = y
    return cn + 1


@nb.njit(cache=True)
def _add_fan(pen, in_dx, in_dy, out_dx, out_dy, mx, my, clockwise, cx, cy, cn):
    """Append the pen vertices between two directions around (mx, my) to a contour; returns its length."""
    pvx, pvy, cwx, cwy, ccwx, ccwy = pen
    n = pvx.shape[0]
    if clockwise:
        start, stop = _active_cw(cwx, cwy, ccwx, ccwy, in_dx, in_dy, out_dx, out_dy)
        while start != stop:
            cn = _cadd(cx, cy, cn, mx + pvx[start], my + pvy[start])
            start += 1
            if start == n:
                start = 0
    else:
        start, stop = _active_ccw(cwx, cwy, ccwx, ccwy, in_dx, in_dy, out_dx, out_dy)
        while start != stop:
            cn = _cadd(cx, cy, cn, mx + pvx[start], my + pvy[start])
            if start == 0:
                start = n - 1
            else:
                start -= 1
    return cn


@nb.njit(cache=True)
def _normalize(dx, dy):
    if dx == 0.0:
        return 0.0, (1.0 if dy > 0.0 else -1.0)
    if dy == 0.0:
        return (1.0 if dx > 0.0 else -1.0), 0.0
    mag = math.sqrt(dx * dx + dy * dy)
    return dx / mag, dy / mag


@nb.njit(cache=True)
def _face_offset(dx, dy, scale, half_width):
    """cairo's compute_face: fixed offset of the ccw side for the device direction (dx, dy)."""
    sx, sy = _normalize(dx / 256.0, dy / 256.0)
    inv = 1.0 / scale
    sx, sy = _normalize(inv * sx, inv * sy)
    fdx = -sy * half_width
    fdy = sx * half_width
    return _fixed(scale * fdx), _fixed(scale * fdy)


@nb.njit(cache=True)
def _add_contour(cx, cy, cn, direction, ex1, ey1, ex2, ey2, edir, ne):
    """cairo's _cairo_polygon_add_contour: one edge per consecutive pair, horizontal ones dropped."""
    for i in range(1, cn):
        x1 = cx[i - 1]
        y1 = cy[i - 1]
        x2 = cx[i]
        y2 = cy[i]
        if y1 == y2:
            continue
        if y1 < y2:
            ex1[ne] = x1
            ey1[ne] = y1
            ex2[ne] = x2
            ey2[ne] = y2
            edir[ne] = direction
        else:
            ex1[ne] = x2
            ey1[ne] = y2
            ex2[ne] = x1
            ey2[ne] = y1
            edir[ne] = -direction
        ne += 1
    return ne


@nb.njit(cache=True)
def _stroke_polygon(px, py, m, pen, scale, half_width, cwx_, cwy_, ccwx_, ccwy_, ex1, ey1, ex2, ey2, edir):
    """cairo's polygon stroker (round caps and joins) for one stroke of m >= 1 distinct points.

    Builds the "cw" contour (one side, direction +1) and the "ccw" contour (other side and the
    caps, direction -1) exactly as cairo does, fills the edge arrays and returns the edge count."""
    ne = 0
    if m == 1:
        # degenerate sub-path: a full round dot, faced with an arbitrary slope (1, 0)
        ox, oy = _face_offset(256, 0, scale, half_width)
        x0 = px[0]
        y0 = py[0]
        cn = 0
        cn = _add_fan(pen, -256, 0, 256, 0, x0, y0, False, ccwx_, ccwy_, cn)  # leading cap (reversed face)
        cn = _cadd(ccwx_, ccwy_, cn, x0 + ox, y0 + oy)
        cn = _add_fan(pen, 256, 0, -256, 0, x0, y0, False, ccwx_, ccwy_, cn)  # trailing cap
        cn = _cadd(ccwx_, ccwy_, cn, x0 - ox, y0 - oy)
        ccwx_[cn] = ccwx_[0]  # close the circle
        ccwy_[cn] = ccwy_[0]
        cn += 1
        return _add_contour(ccwx_, ccwy_, cn, -1, ex1, ey1, ex2, ey2, edir, ne)

    ncw = 0
    nccw = 0
    cur_dx = 0
    cur_dy = 0
    cur_ox = 0
    cur_oy = 0
    first_dx = px[1] - px[0]
    first_dy = py[1] - py[0]
    first_ox, first_oy = _face_offset(first_dx, first_dy, scale, half_width)
    for k in range(m - 1):
        x0 = px[k]
        y0 = py[k]
        dx = px[k + 1] - x0
        dy = py[k + 1] - y0
        ox, oy = _face_offset(dx, dy, scale, half_width)
        if k == 0:
            ncw = _cadd(cwx_, cwy_, ncw, x0 - ox, y0 - oy)
            nccw = _cadd(ccwx_, ccwy_, nccw, x0 + ox, y0 + oy)
        else:
            c = _slope_compare(cur_dx, cur_dy, dx, dy)
            if c != 0:
                clockwise = c < 0
                # the incoming face at the joint: cw = P - cur_o, ccw = P + cur_o; outgoing: P -+ o
                if not (cur_ox == ox and cur_oy == oy):
                    # outer join: a fan of pen vertices, then the outgoing face's outer point
                    if clockwise:
                        ncw = _add_fan(pen, cur_dx, cur_dy, dx, dy, x0, y0, True, cwx_, cwy_, ncw)
                        ncw = _cadd(cwx_, cwy_, ncw, x0 - ox, y0 - oy)
                    else:
                        nccw = _add_fan(pen, cur_dx, cur_dy, dx, dy, x0, y0, False, ccwx_, ccwy_, nccw)
                        nccw = _cadd(ccwx_, ccwy_, nccw, x0 + ox, y0 + oy)
                # inner join: through the joint itself
                if clockwise:
                    nccw = _cadd(ccwx_, ccwy_, nccw, x0, y0)
                    nccw = _cadd(ccwx_, ccwy_, nccw, x0 + ox, y0 + oy)
                else:
                    ncw = _cadd(cwx_, cwy_, ncw, x0, y0)
                    ncw = _cadd(cwx_, cwy_, ncw, x0 - ox, y0 - oy)
        ncw = _cadd(cwx_, cwy_, ncw, px[k + 1] - ox, py[k + 1] - oy)
        nccw = _cadd(ccwx_, ccwy_, nccw, px[k + 1] + ox, py[k + 1] + oy)
        cur_dx = dx
        cur_dy = dy
        cur_ox = ox
        cur_oy = oy
    # trailing cap on the ccw contour, closed by the last cw point
    xe = px[m - 1]
    ye = py[m - 1]
    nccw = _add_fan(pen, cur_dx, cur_dy, -cur_dx, -cur_dy, xe, ye, False, ccwx_, ccwy_, nccw)
    nccw = _cadd(ccwx_, ccwy_, nccw, xe - cur_ox, ye - cur_oy)
    ne = _add_contour(ccwx_, ccwy_, nccw, -1, ex1, ey1, ex2, ey2, edir, ne)
    # leading cap: first cw point, fan of the reversed first face, first ccw point
    x0 = px[0]
    y0 = py[0]
    nccw = _cadd(ccwx_, ccwy_, 0, x0 - first_ox, y0 - first_oy)
    nccw = _add_fan(pen, -first_dx, -first_dy, first_dx, first_dy, x0, y0, False, ccwx_, ccwy_, nccw)
    nccw = _cadd(ccwx_, ccwy_, nccw, x0 + first_ox, y0 + first_oy)
    ne = _add_contour(ccwx_, ccwy_, nccw, -1, ex1, ey1, ex2, ey2, edir, ne)
    ne = _add_contour(cwx_, cwy_, ncw, 1, ex1, ey1, ex2, ey2, edir, ne)
    return ne


@nb.njit(cache=True, inline="always")
def _grid_y(v):
    """cairo's INPUT_TO_GRID_Y: fixed y -> sub-row index (rounded)."""
    return (v * GRID_Y + 128) >> 8


@nb.njit(cache=True, inline="always")
def _x_at(xa, ya, xb, yb, j):
    """Edge x (fixed, floored) and remainder over Ey at the centre of sub-row j (exact rationals).

    Ey = (yb - ya) * GRID_Y * 512, as in cairo's polygon_add_edge."""
    ey = (yb - ya) * (GRID_Y * 512)
    num = ((2 * j + 1) * 256 - ya * (2 * GRID_Y)) * ((xb - xa) * 256)
    # floor(num / ey) through a float division (faster than an integer one), made exact: both
    # values are below 2**53, so the estimate is off by at most one
    q = np.int64(math.floor(num / ey))
    r = num - q * ey
    if r < 0:
        q -= 1
        r += ey
    elif r >= ey:
        q += 1
        r -= ey
    return xa + q, r, ey


@nb.njit(cache=True, inline="always")
def _cell(xa, ya, xb, yb, j):
    """Edge x rounded to 1/256 px at the centre of sub-row j (cairo's edge->cell)."""
    if xa == xb:
        return xa
    q, r, ey = _x_at(xa, ya, xb, yb, j)
    if 2 * r >= ey:  # ey is even: the same as r >= ey // 2
        q += 1
    return q


@nb.njit(cache=True, inline="always")
def _trunc_divrem(a, b):
    """C division (truncating toward zero) -> quotient, remainder."""
    q = abs(a) // abs(b)
    if (a < 0) != (b < 0):
        q = -q
    return q, a - q * b


@nb.njit(cache=True, inline="always")
def _cell_add(ch, ua, ix, height, area, size):
    """Add to a pixel's cell as cairo's blitter reads it: cells left of the image still count
    towards the running cover, cells right of it do not matter."""
    if ix < 0:
        ch[0] += height
    elif ix < size:
        ch[ix] += height
        ua[ix] += area


@nb.njit(cache=True)
def _render_edge(ch, ua, xa, ya, xb, yb, j0, sign, size):
    """Exact-area coverage of one edge across a whole pixel row (cairo's cell_list_render_edge)."""
    if xa == xb:
        x1q = xa
        x1r = 0
        x2q = xa
        x2r = 0
        dy = 0
    else:
        x1q, x1r, dy = _x_at(xa, ya, xb, yb, j0)
        ex = (xb - xa) * 256
        dq, dr = _trunc_divrem(ex * 512, dy)
        fq, fr = _trunc_divrem(ex * (2 * GRID_Y * 256), dy)
        # one full row further down
        x2q = x1q + fq
        x2r = x1r + fr
        if x2r < 0:
            x2q -= 1
            x2r += dy
        elif x2r >= dy:
            x2q += 1
            x2r -= dy
        # step back from the sub-row centre to the pixel row's edge
        hq, _ = _trunc_divrem(dq, 2)
        hr, _ = _trunc_divrem(dr, 2)
        x1q -= hq
        x1r -= hr
        if x1r < 0:
            x1q -= 1
            x1r += dy
        elif x1r >= dy:
            x1q += 1
            x1r -= dy
        x2q -= hq
        x2r -= hr
        if x2r < 0:
            x2q -= 1
            x2r += dy
        elif x2r >= dy:
            x2q += 1
            x2r -= dy
    ix1 = x1q >> 8
    fx1 = x1q & 255
    ix2 = x2q >> 8
    fx2 = x2q & 255
    if ix1 == ix2:
        _cell_add(ch, ua, ix1, sign * GRID_Y, sign * (fx1 + fx2) * GRID_Y, size)
        return
    if ix2 < ix1:
        ix1, ix2 = ix2, ix1
        fx1, fx2 = fx2, fx1
        x1q, x2q = x2q, x1q
        x1r, x2r = x2r, x1r
    dx = (x2q - x1q) * dy + (x2r - x1r)
    tmp = (((ix1 + 1) * 256 - x1q) * dy - x1r) * GRID_Y
    yq, yr = _trunc_divrem(tmp, dx)
    _cell_add(ch, ua, ix1, sign * yq, sign * yq * (256 + fx1), size)
    y_last = yq
    if ix1 + 1 < ix2:
        fq2, fr2 = _trunc_divrem(GRID_Y * 256 * dy, dx)
        for ix in range(ix1 + 1, ix2):
            yq += fq2
            yr += fr2
            if yr >= dx:
                yq += 1
                yr -= dx
            _cell_add(ch, ua, ix, sign * (yq - y_last), sign * (yq - y_last) * 256, size)
            y_last = yq
    _cell_add(ch, ua, ix2, sign * (GRID_Y - y_last), sign * (GRID_Y - y_last) * fx2, size)


@nb.njit(cache=True, inline="always")
def _add_subspan(ch, ua, x1, x2):
    if x1 >= x2:
        return
    ix1 = x1 >> 8
    fx1 = x1 & 255
    ix2 = x2 >> 8
    fx2 = x2 & 255
    if ix1 != ix2:
        ua[ix1] += 2 * fx1
        ch[ix1] += 1
        ua[ix2] -= 2 * fx2
        ch[ix2] -= 1
    else:
        ua[ix1] += 2 * (fx1 - fx2)


@nb.njit(cache=True, inline="always")
def _stable_sort_by(order, key, n):
    """Stable insertion sort of order[:n] by key[:n] (both permuted); cairo's lists are nearly sorted."""
    for i in range(1, n):
        o = order[i]
        k = key[i]
        j = i - 1
        while j >= 0 and key[j] > k:
            order[j + 1] = order[j]
            key[j + 1] = key[j]
            j -= 1
        order[j + 1] = o
        key[j + 1] = k


@nb.njit(cache=True)
def _scan_convert(ex1, ey1, ex2, ey2, edir, ne, size, out, work):
    """cairo's "tor" scan converter (non-zero rule) for one stroke's edges, blended into out.

    Keeps the active edge list in the very order cairo's linked list has (stable re-sorts by the
    rounded x of each sub-row), because that order decides when a pixel row may be computed
    analytically (no edge starting, ending or crossing in it) instead of by 15 sub-rows."""
    gtop, gbot, byt, order, cells, nxt, ch, ua = work
    if ne == 0:
        return
    rows_top = size * GRID_Y
    nv = 0
    for e in range(ne):
        t = _grid_y(ey1[e])
        b = _grid_y(ey2[e])
        t = max(t, 0)
        b = min(b, rows_top)
        gtop[e] = t
        gbot[e] = b
        if b > t:
            byt[nv] = e
            nv += 1
    if nv == 0:
        return
    # edges in the order cairo activates them: by first sub-row, then polygon order
    for i in range(1, nv):
        e = byt[i]
        j = i - 1
        while j >= 0 and gtop[byt[j]] > gtop[e]:
            byt[j + 1] = byt[j]
            j -= 1
        byt[j + 1] = e
    xmax_cell = size * 256
    na = 0  # active list: order[:na], with cells[:na] their x at the current sub-row
    nxt_edge = 0
    row = gtop[byt[0]] // GRID_Y
    while row < size and (na > 0 or nxt_edge < nv):
        j0 = row * GRID_Y
        j1 = j0 + GRID_Y
        if na == 0 and gtop[byt[nxt_edge]] >= j1:
            row = gtop[byt[nxt_edge]] // GRID_Y  # skip empty rows
            continue
        for x in range(size + 2):
            ch[x] = 0
            ua[x] = 0
        # edges starting at the row's first sub-row join at once; a row where an edge starts
        # later must be sampled
        full = True
        q = nxt_edge
        while q < nv and gtop[byt[q]] < j1:
            if gtop[byt[q]] > j0:
                full = False
            q += 1
        if full and q > nxt_edge:
            while nxt_edge < q:
                e = byt[nxt_edge]
                order[na] = e
                cells[na] = _cell(ex1[e], ey1[e], ex2[e], ey2[e], j0)
                na += 1
                nxt_edge += 1
            _stable_sort_by(order, cells, na)
        if full:
            for q in range(na):
                e = order[q]
                if gbot[e] - j0 < GRID_Y:
                    full = False
                    break
        if full:
            # no crossing: x after a full row must keep the list order
            for q in range(na):
                e = order[q]
                nxt[q] = _cell(ex1[e], ey1[e], ex2[e], ey2[e], j1)
                if q > 0 and nxt[q] < nxt[q - 1]:
                    full = False
        if full:
            i = 0
            while i < na:
                left = i
                w = edir[order[i]]
                r = i + 1
                while r < na - 1:
                    w += edir[order[r]]
                    if w == 0 and cells[r + 1] != cells[r]:
                        break
                    r += 1
                el = order[left]
                er = order[r]
                _render_edge(ch, ua, ex1[el], ey1[el], ex2[el], ey2[el], j0, 1, size)
                _render_edge(ch, ua, ex1[er], ey1[er], ex2[er], ey2[er], j0, -1, size)
                i = r + 1
            m = 0
            for q in range(na):
                e = order[q]
                if gbot[e] > j1:
                    order[m] = e
                    cells[m] = nxt[q]
                    m += 1
            na = m
        else:
            for j in range(j0, j1):
                # edges starting at this sub-row join the list (after equal ones already there)
                m0 = na
                while nxt_edge < nv and gtop[byt[nxt_edge]] == j:
                    e = byt[nxt_edge]
                    order[na] = e
                    cells[na] = _cell(ex1[e], ey1[e], ex2[e], ey2[e], j)
                    na += 1
                    nxt_edge += 1
                if na > m0:
                    _stable_sort_by(order, cells, na)
                # spans where the winding number is non-zero
                w = 0
                xs = 0
                inside = False
                for k in range(na):
                    w += edir[order[k]]
                    if w == 0:
                        if inside and (k + 1 >= na or cells[k + 1] != cells[k]):
                            _add_subspan(ch, ua, min(max(xs, 0), xmax_cell), min(max(cells[k], 0), xmax_cell))
                            inside = False
                    elif not inside:
                        xs = cells[k]
                        inside = True
                # step to the next sub-row; finished edges leave the list
                m = 0
                for k in range(na):
                    e = order[k]
                    if gbot[e] > j + 1:
                        order[m] = e
                        cells[m] = _cell(ex1[e], ey1[e], ex2[e], ey2[e], j + 1)
                        m += 1
                na = m
                _stable_sort_by(order, cells, na)
        if row >= 0:
            # coverage -> alpha (cairo's GRID_AREA_TO_ALPHA), blended over the row as cairo's
            # opaque-source span renderer does
            cover = 0
            for x in range(size):
                cover += ch[x] * 512
                area = cover - ua[x]
                # cairo stores the alpha in a byte: an area that the analytic path overestimates
                # past 100 % wraps around, and we reproduce that too
                alpha = ((area + (area << 4) + 256) >> 9) & 255
                if alpha == 0:
                    continue
                if alpha == 255:
                    out[row, x] = 255
                else:
                    d = np.int64(out[row, x])
                    t1 = 255 * alpha + 0x7F
                    t2 = d * (255 - alpha) + 0x7F
                    out[row, x] = ((t1 + (t1 >> 8)) >> 8) + ((t2 + (t2 >> 8)) >> 8)
        row += 1


@nb.njit(cache=True)
def _rasterize_one(xs, ys, s_off, k0, k1, size, line_diameter, padding, pen, out):
    """Rasterize strokes k0..k1-1 (points xs/ys[s_off[k]:s_off[k+1]]) into out (size, size) uint8."""
    for yy in range(size):
        for xx in range(size):
            out[yy, xx] = 0
    p0 = s_off[k0]
    p1 = s_off[k1]
    if p1 <= p0:
        return
    total_padding = padding * 2.0 + line_diameter
    scale = size / (ORIGINAL_SIDE + total_padding)
    half_width = line_diameter / 2.0
    t0 = (total_padding / 2.0) * scale
    mx = -np.inf
    my = -np.inf
    for i in range(p0, p1):
        mx = max(mx, xs[i])
        my = max(my, ys[i])
    offx = (ORIGINAL_SIDE - mx) / 2.0
    offy = (ORIGINAL_SIDE - my) / 2.0
    n = pen[0].shape[0]
    longest = 1
    for k in range(k0, k1):
        longest = max(longest, s_off[k + 1] - s_off[k])
    px = np.empty(longest, np.int64)
    py = np.empty(longest, np.int64)
    cap = longest * (n + 6) + 2 * n + 16
    cwx_ = np.empty(cap, np.int64)
    cwy_ = np.empty(cap, np.int64)
    ccwx_ = np.empty(cap, np.int64)
    ccwy_ = np.empty(cap, np.int64)
    ecap = 2 * cap + 4
    ex1 = np.empty(ecap, np.int64)
    ey1 = np.empty(ecap, np.int64)
    ex2 = np.empty(ecap, np.int64)
    ey2 = np.empty(ecap, np.int64)
    edir = np.empty(ecap, np.int64)
    work = (
        np.empty(ecap, np.int64),
        np.empty(ecap, np.int64),
        np.empty(ecap, np.int64),
        np.empty(ecap, np.int64),
        np.empty(ecap, np.int64),
        np.empty(ecap, np.int64),
        np.zeros(size + 2, np.int64),
        np.zeros(size + 2, np.int64),
    )
    for k in range(k0, k1):
        a0 = s_off[k]
        a1 = s_off[k + 1]
        if a1 <= a0:
            continue
        # cairo's path: device points in fixed point; repeated points dropped; a point continuing
        # the previous segment in exactly the same direction replaces that segment's end
        m = 0
        for i in range(a0, a1):
            ux = min(max(xs[i] + offx, -COORD_CLAMP), COORD_CLAMP + ORIGINAL_SIDE)
            uy = min(max(ys[i] + offy, -COORD_CLAMP), COORD_CLAMP + ORIGINAL_SIDE)
            vx = _fixed(scale * ux + t0)
            vy = _fixed(scale * uy + t0)
            if m > 0 and px[m - 1] == vx and py[m - 1] == vy:
                continue
            if m >= 2:
                adx = px[m - 1] - px[m - 2]
                ady = py[m - 1] - py[m - 2]
                bdx = vx - px[m - 1]
                bdy = vy - py[m - 1]
                if ady * bdx == bdy * adx and not ((adx < 0) != (bdx < 0) or (ady < 0) != (bdy < 0)):
                    px[m - 1] = vx
                    py[m - 1] = vy
                    continue
            px[m] = vx
            py[m] = vy
            m += 1
        ne = _stroke_polygon(
            px, py, m, pen, scale, half_width, cwx_, cwy_, ccwx_, ccwy_, ex1, ey1, ex2, ey2, edir
        )
        _scan_convert(ex1, ey1, ex2, ey2, edir, ne, size, out, work)


@nb.njit(cache=True, nogil=True)  # threads (server, data loaders) can run it in parallel
def _rasterize_batch(xs, ys, s_off, d_off, size, line_diameter, padding, pen, out):
    for d in range(d_off.shape[0] - 1):
        _rasterize_one(xs, ys, s_off, d_off[d], d_off[d + 1], size, line_diameter, padding, pen, out[d])


# ----------------------------------------------------------------------------------------------
# Python API


def _stroke_xy(stroke) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(stroke, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] < 2:
        raise ValueError(
            f"a stroke must have shape (2, n) or (3, n) ([x...], [y...](, [t...])), got {a.shape}"
        )
    return a[0], a[1]


def pack_drawings(drawings: Sequence) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Flatten drawings (each a list of (2|3, n) strokes) into (xs, ys, stroke_offsets, drawing_offsets)."""
    xs_parts: list[np.ndarray] = []
    ys_parts: list[np.ndarray] = []
    s_counts: list[int] = []
    d_counts: list[int] = []
    for strokes in drawings:
        d_counts.append(len(strokes))
        for stroke in strokes:
            x, y = _stroke_xy(stroke)
            xs_parts.append(x)
            ys_parts.append(y)
            s_counts.append(x.shape[0])
    xs = np.concatenate(xs_parts) if xs_parts else np.zeros(0)
    ys = np.concatenate(ys_parts) if ys_parts else np.zeros(0)
    if not (np.all(np.isfinite(xs)) and np.all(np.isfinite(ys))):
        raise ValueError("stroke coordinates must be finite numbers")
    s_off = np.zeros(len(s_counts) + 1, np.int64)
    np.cumsum(s_counts, out=s_off[1:])
    d_off = np.zeros(len(d_counts) + 1, np.int64)
    np.cumsum(d_counts, out=d_off[1:])
    return xs, ys, s_off, d_off


def _check_size(size: int) -> int:
    if isinstance(size, bool) or int(size) != size or not 1 <= int(size) <= MAX_SIZE:
        raise ValueError(f"size must be an integer from 1 to {MAX_SIZE}, got {size!r}")
    return int(size)


@functools.lru_cache(maxsize=64)
def _pen_for(size: int, line_diameter: float, padding: float) -> tuple[np.ndarray, ...]:
    """The pen and its edge slopes for one output size (read-only, shared between calls)."""
    pvx, pvy = _pen(size, line_diameter, padding, pen_vertex_count(size, line_diameter, padding))
    pen = (pvx, pvy, *_pen_slopes(pvx, pvy))
    for a in pen:
        a.flags.writeable = False
    return pen


def rasterize_packed(
    xs: np.ndarray,
    ys: np.ndarray,
    stroke_offsets: np.ndarray,
    drawing_offsets: np.ndarray,
    size: int = 28,
    *,
    line_diameter: float = 16.0,
    padding: float = 16.0,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Rasterize drawings already flattened by :func:`pack_drawings` -> uint8 (N, size, size)."""
    size = _check_size(size)
    n = len(drawing_offsets) - 1
    if out is None:
        out = np.empty((n, size, size), np.uint8)
    pen = _pen_for(size, float(line_diameter), float(padding))
    _rasterize_batch(
        np.ascontiguousarray(xs, np.float64),
        np.ascontiguousarray(ys, np.float64),
        np.ascontiguousarray(stroke_offsets, np.int64),
        np.ascontiguousarray(drawing_offsets, np.int64),
        size,
        float(line_diameter),
        float(padding),
        pen,
        out,
    )
    return out


def rasterize_many(
    drawings: Sequence, size: int = 28, *, line_diameter: float = 16.0, padding: float = 16.0
) -> np.ndarray:
    """Rasterize many drawings (each a list of strokes in the 0-255 space) -> uint8 (N, size, size).

    A drawing without any point gives an all-black bitmap (callers that must refuse empty drawings,
    such as the server and the file converters, check before)."""
    xs, ys, s_off, d_off = pack_drawings(drawings)
    return rasterize_packed(xs, ys, s_off, d_off, size, line_diameter=line_diameter, padding=padding)


def rasterize(
    strokes: Sequence, size: int = 28, *, line_diameter: float = 16.0, padding: float = 16.0
) -> np.ndarray:
    """Rasterize one drawing (list of (2|3, n) strokes, simplified 0-255 space) -> uint8 (size, size)."""
    return rasterize_many([strokes], size, line_diameter=line_diameter, padding=padding)[0]
