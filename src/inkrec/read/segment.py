"""Over-segmentation: a line cut into pieces, never more than one character to a piece (as far as the
geometry can tell), so that every character is a run of consecutive pieces.

Pictures: the paper is levelled along the line, the ink found (`normalize_ink`, so any polarity and uneven
light) and labelled into connected components; components stacked above one another (the bars of 二, the
parts of 5) become one group; a group wider than a narrow character is cut along paths that bend around ink
(characters that touch or lean into each other), started from every valley of its column profile and of its
upper and lower outlines. That cuts characters too, on purpose: the recognizer and the search decide which
cuts were real, and each boundary records how much ink it cut (`Pieces.joins`) for the search to weigh. Ink:
strokes overlapping in x are grouped, in the order they were written (strokes are never cut). Either way the pieces are sorted left to right,
with the line's height (its ink band) as the unit of every size.

Working pictures are scaled so the line is at most `WORK_HEIGHT` pixels high: labelling a 4,000-pixel photo
costs what labelling a 64-pixel strip costs, and the model never sees more than its 28 or 64 pixels a side.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba as nb
import numpy as np
from PIL import Image

from inkrec.preprocess.pictures import normalize_ink, stroke_width
from inkrec.read.errors import LineError

WORK_HEIGHT = 64  # line height in working pixels (pictures are scaled down to it, never up)
MAX_PIECES = 200  # a line of more pieces than this is refused before any model runs (about 100 characters)
MERGE_OVERLAP = 0.5  # groups whose x-ranges overlap by this much of the narrower one are one character
CUT_WIDTH = 0.6  # groups wider than this (x line height) are cut
MIN_PIECE = 0.15  # no cut closer than this (x line height) to a group's edge or to another cut
SEAM_REACH = 0.25  # a cut may bend this far (x line height) from the column it starts at
SEAM_DRIFT = 0.02  # what a cut pays per row and column it bends away from its start (ink costs 1 a pixel)
SEAM_TURN = 0.05  # what a cut pays per diagonal step
FRAGMENT = 0.4  # a mark smaller than this (x line height) each way is part of a character, not one
SHADE = 16.0  # grey levels the paper of a line may vary by, end to end, before it is levelled
SPECK = 0.002  # components smaller than this (x line height squared) are noise
# A line, and each candidate again before it is framed (`_full_contrast`), is stretched until its brightest
# percent is white, where a single picture stretches its 85th (`INK_WHITE_PERCENTILE`): clipping more of a
# line flattens the shading of its strokes, which the cuts through touching characters follow, and on lines
# of MNIST's training digits the 85th read no better (line / character accuracy 0.920 / 0.9841 against
# 0.919 / 0.9836) while one test line of seven well-spaced digits split a 5 in two.
LINE_WHITE_PERCENTILE = 99


@dataclass
class Pieces:
    """The pieces of a line, left to right: boxes (N, 4) as x0, y0, x1, y1 in the line's own coordinates
    and the unit of size (`height`, same coordinates). `joins` (N - 1,): how many strokes' worth of ink
    was cut between the pieces before and the pieces after each boundary (zero where the pieces only meet
    across blank paper, as strokes of ink always do)."""

    boxes: np.ndarray
    height: float
    joins: np.ndarray | None = None

    def join(self, i: int) -> float:
        """Strokes cut at the boundary before piece i (0 for the first piece and for ink)."""
        if self.joins is None or i <= 0:
            return 0.0
        return float(self.joins[i - 1])

    def __len__(self) -> int:
        return len(self.boxes)

    def span_box(self, i: int, j: int) -> np.ndarray:
        """The box of pieces i..j (inclusive)."""
        b = self.boxes[i : j + 1]
        return np.array([b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max()])

    def gaps(self) -> np.ndarray:
        """The horizontal gap before each piece but the first (negative: overlap), in line heights."""
        if len(self.boxes) < 2:
            return np.zeros(0)
        right = np.maximum.accumulate(self.boxes[:-1, 2])
        return (self.boxes[1:, 0] - right) / self.height


def _band(weights: np.ndarray, positions: np.ndarray, trim: float = 0.02) -> float:
    """The extent that holds all but `trim` of the weight at each end: the line's height, not its specks."""
    order = np.argsort(positions, kind="stable")
    c = np.cumsum(weights[order], dtype=np.float64)
    c /= c[-1]
    lo = positions[order][int(np.searchsorted(c, trim))]
    hi = positions[order][min(int(np.searchsorted(c, 1.0 - trim)), len(c) - 1)]
    return float(hi - lo)


def _merge_overlapping(
    boxes: list[list[float]], *, stacked: bool = False, height: float = 0.0
) -> list[list[int]]:
    """Indices of boxes grouped so that no two groups overlap in x by MERGE_OVERLAP of the narrower.

    `stacked`: only groups one above the other (overlapping in y by less than half the lower one's
    height) are merged, or a fragment (both sides under FRAGMENT line heights) with what it overlaps; side
    by side, two marks may as well be two characters leaning into each other, and the search can still join
    them."""
    groups = [[i] for i in range(len(boxes))]
    gbox = [list(b) for b in boxes]
    changed = True
    while changed:
        changed = False
        order = sorted(range(len(groups)), key=lambda g: (gbox[g][0] + gbox[g][2]) / 2)
        groups = [groups[g] for g in order]
        gbox = [gbox[g] for g in order]
        k = 0
        while k < len(groups) - 1:
            a, b = gbox[k], gbox[k + 1]
            overlap = min(a[2], b[2]) - max(a[0], b[0])
            narrower = max(min(a[2] - a[0], b[2] - b[0]), 0.0)  # a vertical bar has no width, yet overlaps
            y_overlap = min(a[3], b[3]) - max(a[1], b[1])
            lower = max(min(a[3] - a[1], b[3] - b[1]), 1e-9)
            small = min(max(a[2] - a[0], a[3] - a[1]), max(b[2] - b[0], b[3] - b[1])) < FRAGMENT * height
            side_by_side = stacked and y_overlap >= 0.5 * lower and not small
            if overlap >= 0 and overlap >= MERGE_OVERLAP * narrower and not side_by_side:
                groups[k] += groups.pop(k + 1)
                gbox[k] = [min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])]
                gbox.pop(k + 1)
                changed = True
            else:
                k += 1
    return groups


# ---------------------------------------------------------------------------------------------- pictures


@nb.njit(cache=True)
def _components(mask):
    """8-connected components of a boolean mask: (labels int32 (H, W), 1..n; boxes int64 (n, 4) x0 y0 x1 y1
    with exclusive ends; pixel counts (n,))."""
    h, w = mask.shape
    labels = np.zeros((h, w), np.int32)
    stack = np.empty(h * w, np.int32)
    boxes = np.empty((16, 4), np.int64)
    areas = np.empty(16, np.int64)
    n = 0
    for y in range(h):
        for x in range(w):
            if mask[y, x] and labels[y, x] == 0:
                if n == len(boxes):
                    boxes = np.concatenate((boxes, np.empty_like(boxes)))
                    areas = np.concatenate((areas, np.empty_like(areas)))
                n += 1
                labels[y, x] = n
                x0, y0, x1, y1, area = x, y, x + 1, y + 1, 0
                stack[0] = y * w + x
                sp = 1
                while sp > 0:
                    sp -= 1
                    p = stack[sp]
                    cy = p // w
                    cx = p - cy * w
                    area += 1
                    x0 = min(x0, cx)
                    x1 = max(x1, cx + 1)
                    y0 = min(y0, cy)
                    y1 = max(y1, cy + 1)
                    for dy in range(-1, 2):
                        ny = cy + dy
                        if ny < 0 or ny >= h:
                            continue
                        for dx in range(-1, 2):
                            nx = cx + dx
                            if 0 <= nx < w and mask[ny, nx] and labels[ny, nx] == 0:
                                labels[ny, nx] = n
                                stack[sp] = ny * w + nx
                                sp += 1
                boxes[n - 1, 0] = x0
                boxes[n - 1, 1] = y0
                boxes[n - 1, 2] = x1
                boxes[n - 1, 3] = y1
                areas[n - 1] = area
    return labels, boxes[:n], areas[:n]


@nb.njit(cache=True)
def _seam(cost, c, reach, drift, turn):
    """The cheapest top-to-bottom path through `cost` (h, w) that starts anywhere, moves at most one column a
    row and stays within `reach` columns of column `c`: (its column per row, its cost). `drift` is paid per
    row and column away from `c`, `turn` per diagonal step, so that among equally clean paths the straight one
    under `c` wins."""
    h, w = cost.shape
    lo = max(0, c - reach)
    hi = min(w - 1, c + reach)
    n = hi - lo + 1
    acc = np.empty((h, n))
    back = np.zeros((h, n), np.int8)
    for x in range(n):
        acc[0, x] = cost[0, lo + x] + drift * abs(lo + x - c)
    for y in range(1, h):
        for x in range(n):
            best = acc[y - 1, x]
            step = 0
            if x > 0 and acc[y - 1, x - 1] + turn < best:
                best = acc[y - 1, x - 1] + turn
                step = -1
            if x < n - 1 and acc[y - 1, x + 1] + turn < best:
                best = acc[y - 1, x + 1] + turn
                step = max(1, h // 64)  # every column of a line of common height; big photos are sampled
            acc[y, x] = best + cost[y, lo + x] + drift * abs(lo + x - c)
            back[y, x] = step
    end = 0
    for x in range(1, n):
        if acc[h - 1, x] < acc[h - 1, end]:
            end = x
    path = np.empty(h, np.int64)
    x = end
    total = acc[h - 1, end]
    for y in range(h - 1, -1, -1):
        path[y] = lo + x
        x += back[y, x]
    return path, total


def _valleys(profile: np.ndarray, margin: int) -> list[int]:
    """The middle column of each local minimum (flat runs included) of `profile`, `margin` from its ends."""
    w = len(profile)
    out = []
    x = margin
    while x < w - margin:
        end = x
        while end + 1 < w and profile[end + 1] == profile[x]:
            end += 1
        left = profile[x - 1] if x > 0 else np.inf
        right = profile[end + 1] if end + 1 < w else np.inf
        if profile[x] < left and profile[x] < right:
            mid = (x + end) // 2
            if margin <= mid < w - margin:
                out.append(mid)
        x = end + 1
    return out


def _cuts(ink: np.ndarray, height: float) -> list[np.ndarray]:
    """Cut paths through one group's ink (white on black, its box): each a column per row, left to right.

    Where characters touch or lean into each other, no straight column parts them; a path that may bend
    around ink does. Every valley of the column profile and of the upper and lower outlines starts one
    (the recognizer later decides which cuts are real), each path is the cheapest in ink within reach of its
    start, and paths closer than MIN_PIECE line heights to an edge or to a cheaper path are dropped."""
    h, w = ink.shape
    margin = max(1, round(MIN_PIECE * height))
    if w < 2 * margin + 1:
        return []
    mask = ink > 0
    cols = np.convolve(ink.sum(axis=0, dtype=np.float64), np.ones(3) / 3, mode="same")
    any_ink = mask.any(axis=0)
    top = np.where(any_ink, mask.argmax(axis=0), h).astype(np.float64)
    bottom = np.where(any_ink, h - mask[::-1].argmax(axis=0), 0).astype(np.float64)
    starts = set(_valleys(cols, margin)) | set(_valleys(-top, margin)) | set(_valleys(bottom, margin))
    cost = ink.astype(np.float64) / 255.0
    reach = max(1, round(SEAM_REACH * height))
    found = []
    for c in sorted(starts):
        path, total = _seam(cost, c, reach, SEAM_DRIFT, SEAM_TURN)
        centre = float(path.mean())
        if margin <= centre <= w - margin:
            found.append((total, centre, path))
    chosen: list[tuple[float, np.ndarray]] = []
    for _, centre, path in sorted(found, key=lambda f: f[0]):
        if all(abs(centre - d) >= margin for d, _ in chosen):
            chosen.append((centre, path))
    chosen.sort(key=lambda f: f[0])
    paths = [p for _, p in chosen]
    for k in range(1, len(paths)):  # cuts never cross: each stays right of the one before
        paths[k] = np.maximum(paths[k], paths[k - 1])
    return paths


def _full_contrast(ink: np.ndarray) -> np.ndarray:
    """uint8 ink stretched so its brightest strokes (`LINE_WHITE_PERCENTILE` of inked pixels) are full white.

    The percentile is read off a 256-bin histogram, with `np.percentile`'s linear interpolation between the
    two ranks around it: the same number, without sorting, for the hundred candidates of every line."""
    counts = np.bincount(ink.ravel(), minlength=256)
    counts[0] = 0
    n = int(counts.sum())
    if n:
        rank = LINE_WHITE_PERCENTILE / 100.0 * (n - 1)
        below = int(rank)
        cum = np.cumsum(counts)
        lo = float(np.searchsorted(cum, below + 1))  # the value at 0-based rank `below`
        hi_rank = float(np.searchsorted(cum, min(below + 2, n)))
        hi = lo + (rank - below) * (hi_rank - lo)
        if hi < 255.0:
            return np.clip(ink * (255.0 / max(hi, 1.0)), 0, 255).round().astype(np.uint8)
    return ink.astype(np.uint8)


@dataclass
class PictureLine:
    """A picture's line at working scale: white-on-black `ink`, `seg` (piece index + 1 per pixel, 0 for
    none), its `pieces`, and how working pixels map back to the picture (`origin` + working / `scale`)."""

    ink: np.ndarray
    seg: np.ndarray
    pieces: Pieces
    origin: tuple[float, float]
    scale: float

    def crop(self, i: int, j: int) -> np.ndarray:
        """The ink of pieces i..j alone (other pieces' ink blanked), cropped to their box and stretched to
        full contrast again (`_full_contrast`): under uneven light one end of a line comes out fainter than
        the other, and the framing firms faint strokes away."""
        box = self._box(i, j)
        seg = self.seg[box]
        return _full_contrast(np.where((seg > i) & (seg <= j + 1), self.ink[box], 0))

    def intruded(self, i: int, j: int) -> bool:
        """Whether other pieces' ink lies inside the box of pieces i..j (where `window` differs from `crop`)."""
        seg = self.seg[self._box(i, j)]
        return bool(((seg > 0) & ((seg <= i) | (seg > j + 1))).any())

    def window(self, i: int, j: int) -> np.ndarray:
        """All the ink inside the box of pieces i..j, other pieces' included, at full contrast. Where two
        characters cross, no cut parts them cleanly: a stroke of one falls to its neighbour's piece and
        `crop` loses it, while the window keeps the character whole beside a bit of its neighbour."""
        return _full_contrast(self.ink[self._box(i, j)])

    def _box(self, i: int, j: int) -> tuple[slice, slice]:
        """The rows and columns of the box of pieces i..j, at working scale."""
        x0, y0, x1, y1 = (int(v) for v in self.pieces.span_box(i, j))
        return slice(y0, y1), slice(x0, x1)

    def to_picture(self, box: np.ndarray) -> list[float]:
        """A working box as [x0, y0, x1, y1] in the picture's pixels."""
        ox, oy = self.origin
        s = self.scale
        return [round(ox + box[0] / s, 1), round(oy + box[1] / s, 1), round(ox + box[2] / s, 1),
                round(oy + box[3] / s, 1)]


def _level_columns(grey: np.ndarray) -> np.ndarray:
    """A long line's paper brought to one level along its length: light falling off across a page shades
    a line from end to end, and `normalize_ink`'s single background level would then leave one end's
    strokes faint or lose them. A column's median is its paper where ink fills a minority of it; the
    median of those over a line height either side outvotes the columns ink does fill (a long bar). Evenly
    lit lines (paper varying by less than SHADE) are left as they are."""
    g = np.asarray(grey, dtype=np.float32)
    h, w = g.shape
    if w < 2 * h:
        return grey
    step = max(1, h // 64)  # every column of a line of common height; big photos are sampled
    cols = np.median(g[:, ::step], axis=0)
    k = max(1, h // (2 * step))
    paper = np.median(np.lib.stride_tricks.sliding_window_view(np.pad(cols, k, mode="edge"), 2 * k + 1), axis=1)
    if float(paper.max() - paper.min()) < SHADE:
        return grey
    paper = np.interp(np.arange(w), np.arange(0, w, step), paper).astype(np.float32)
    return np.clip(g - paper[None, :] + float(np.median(paper)), 0, 255)


def picture_pieces(grey: np.ndarray) -> PictureLine:
    """Over-segment a grey picture of one line (any polarity, any lighting). LineError when it has no ink
    or more pieces than `MAX_PIECES`."""
    ink = normalize_ink(_level_columns(grey), white_percentile=LINE_WHITE_PERCENTILE)
    if not ink.any():
        raise LineError("empty_line", "the picture has no ink: nothing to read")
    ys, xs = np.nonzero(ink)
    y0, y1, x0, x1 = int(ys.min()), int(ys.max()) + 1, int(xs.min()), int(xs.max()) + 1
    ink = ink[y0:y1, x0:x1]
    rows = ink.sum(axis=1, dtype=np.float64)
    height = max(_band(rows, np.arange(len(rows), dtype=np.float64)) + 1.0, 1.0)
    scale = min(1.0, WORK_HEIGHT / height)
    if scale < 1.0:
        h, w = ink.shape
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        ink = np.asarray(Image.fromarray(ink).resize(size, Image.Resampling.BOX), dtype=np.uint8)
        scale_x, scale_y = size[0] / w, size[1] / h
        scale = min(scale_x, scale_y)
        height *= scale
    # stretch what the box filter softened back to full contrast, as normalize_ink leaves ink
    top = float(ink.max())
    if 0 < top < 255:
        ink = np.clip(ink.astype(np.float32) * (255.0 / top), 0, 255).astype(np.uint8)
    if ink.shape[1] > 4 * MAX_PIECES * height:
        raise LineError("line_too_long", f"the line is {ink.shape[1] / height:.0f} line-heights long; at "
                        f"most {4 * MAX_PIECES} are read")
    labels, cboxes, areas = _components(ink > 0)
    keep = areas >= max(2.0, SPECK * height * height)
    if not keep.any():
        raise LineError("empty_line", "the picture has only specks of ink: nothing to read")
    kept = np.flatnonzero(keep)
    groups = _merge_overlapping([cboxes[k].tolist() for k in kept], stacked=True, height=height)
    if len(groups) > MAX_PIECES:
        raise LineError("line_too_long", f"the line has {len(groups)} separate marks; at most {MAX_PIECES} "
                        "are read (a line of about a hundred characters)")
    lut = np.zeros(len(cboxes) + 1, np.int32)  # component label -> group index + 1
    for g, members in enumerate(groups):
        lut[kept[members] + 1] = g + 1
    grp = lut[labels]
    seg = np.zeros_like(grp)
    n = 0
    cols = np.arange(ink.shape[1])
    for g, members in enumerate(groups):
        gb = cboxes[kept[members]]
        gx0, gy0, gx1, gy1 = int(gb[:, 0].min()), int(gb[:, 1].min()), int(gb[:, 2].max()), int(gb[:, 3].max())
        mine = grp[gy0:gy1, gx0:gx1] == g + 1
        cuts: list[np.ndarray] = []
        if gx1 - gx0 > CUT_WIDTH * height:
            cuts = _cuts(np.where(mine, ink[gy0:gy1, gx0:gx1], 0), height)
        part = np.zeros(mine.shape, np.int32)  # which piece of the group each pixel falls in
        for path in cuts:
            part += cols[None, : gx1 - gx0] >= path[:, None]
        band = seg[gy0:gy1, gx0:gx1]
        band[mine] = n + 1 + part[mine]
        n += len(cuts) + 1
    if n > MAX_PIECES:
        raise LineError("line_too_long", f"the line has {n} pieces; at most {MAX_PIECES} are read")
    seg, boxes = _sorted_pieces(seg, n)
    joins = _joins(seg, ink, len(boxes)) / max(stroke_width(ink), 1.0)
    return PictureLine(ink, seg, Pieces(boxes, height, joins), (float(x0), float(y0)), scale)


def _joins(seg: np.ndarray, ink: np.ndarray, n: int) -> np.ndarray:
    """Per boundary between pieces k and k + 1 (in their left-to-right order): the ink on either side of
    every cut that parts pieces up to k from pieces after k, in pixels across (each inked pixel pair
    side by side or one above the other, weighted by the fainter of the two)."""
    out = np.zeros(max(n, 1))
    level = ink.astype(np.float64) / 255.0
    for a, b, wa, wb in (
        (seg[:, :-1], seg[:, 1:], level[:, :-1], level[:, 1:]),
        (seg[:-1, :], seg[1:, :], level[:-1, :], level[1:, :]),
    ):
        touch = (a > 0) & (b > 0) & (a != b)
        lo = np.minimum(a[touch], b[touch])
        hi = np.maximum(a[touch], b[touch])
        w = np.minimum(wa[touch], wb[touch])
        np.add.at(out, lo - 1, w)  # labels are 1-based: pieces lo-1 and hi-1 part at boundaries lo-1..hi-2
        np.add.at(out, hi - 1, -w)
    return np.maximum(np.cumsum(out)[: n - 1], 0.0)  # sums of differences: no rounding below zero


def _sorted_pieces(seg: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Piece labels renumbered left to right (by box centre), and their boxes; empty pieces dropped."""
    ys, xs = np.nonzero(seg)
    ids = seg[ys, xs] - 1
    boxes = np.full((n, 4), np.nan)
    x0 = np.full(n, np.inf)
    y0 = np.full(n, np.inf)
    x1 = np.full(n, -np.inf)
    y1 = np.full(n, -np.inf)
    np.minimum.at(x0, ids, xs)
    np.minimum.at(y0, ids, ys)
    np.maximum.at(x1, ids, xs + 1)
    np.maximum.at(y1, ids, ys + 1)
    boxes = np.stack([x0, y0, x1, y1], axis=1)
    present = np.flatnonzero(np.isfinite(x0))
    order = present[np.argsort(x0[present] + x1[present], kind="stable")].tolist()
    lut = np.zeros(n + 1, np.int32)
    lut[np.asarray(order, dtype=np.int64) + 1] = np.arange(1, len(order) + 1, dtype=np.int32)
    return lut[seg], boxes[order]


# ---------------------------------------------------------------------------------------------- ink


@dataclass
class InkLine:
    """Strokes of one line (pen coordinates, y down) and its pieces: `members[k]` are the strokes (indices,
    in writing order) of piece k."""

    strokes: list[np.ndarray]
    members: list[list[int]]
    pieces: Pieces

    def strokes_of(self, i: int, j: int) -> list[np.ndarray]:
        """The strokes of pieces i..j, in the order they were written."""
        return [self.strokes[s] for s in sorted(s for k in range(i, j + 1) for s in self.members[k])]


def ink_pieces(strokes: list[np.ndarray]) -> InkLine:
    """Over-segment a line of strokes ((2|3, n) arrays: x, y and optionally t). LineError when there is no
    point or more pieces than `MAX_PIECES`."""
    strokes = [np.asarray(s, dtype=np.float64) for s in strokes if np.asarray(s).shape[-1] > 0]
    if not strokes:
        raise LineError("empty_line", "the line has no strokes: nothing to read")
    boxes = [[float(s[0].min()), float(s[1].min()), float(s[0].max()), float(s[1].max())] for s in strokes]
    ys = np.concatenate([s[1] for s in strokes])
    extent = float(ys.max() - ys.min())
    # the ink band, counted by points: a long stroke weighs more than a dot, as ink mass does in a picture
    height = _band(np.ones_like(ys), ys)
    groups = _merge_overlapping(boxes)
    gh = np.median([max(boxes[i][3] for i in g) - min(boxes[i][1] for i in g) for g in groups])
    height = max(height, float(gh), 0.5 * extent, 1e-6)
    # strokes of no width (a vertical bar, a dot) still occupy their pen's width
    pen = 0.02 * height
    if len(groups) > MAX_PIECES:
        raise LineError("line_too_long", f"the line has {len(groups)} separate marks; at most {MAX_PIECES} "
                        "are read (a line of about a hundred characters)")
    members = [sorted(g) for g in groups]
    gboxes = np.array(
        [[min(boxes[i][0] for i in g) - pen, min(boxes[i][1] for i in g) - pen,
          max(boxes[i][2] for i in g) + pen, max(boxes[i][3] for i in g) + pen] for g in members]
    )
    return InkLine(strokes, members, Pieces(gboxes, height))
