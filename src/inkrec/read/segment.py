"""Over-segmentation: a line cut into pieces, never more than one character to a piece (as far as the
geometry can tell), so that every character is a run of consecutive pieces.

Pictures: the ink (`normalize_ink`, so any polarity and uneven light) is labelled into connected components;
components stacked above one another (the bars of 二, the parts of 5) become one group; a group wider than a
character may be is cut where the column profile shows a thin joint (characters that touch). Ink: strokes
overlapping in x are grouped, in the order they were written. Either way the pieces are sorted left to right,
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
CUT_WIDTH = 0.6  # groups wider than this (x line height) are looked at for joints to cut
MIN_PIECE = 0.15  # no cut closer than this (x line height) to a group's edge or to another cut
JOINT_STROKES = 3.0  # a column is a joint when it holds at most this many stroke widths of ink
FRAGMENT = 0.4  # a mark smaller than this (x line height) each way is part of a character, not one
SPECK = 0.002  # components smaller than this (x line height squared) are noise


@dataclass
class Pieces:
    """The pieces of a line, left to right: boxes (N, 4) as x0, y0, x1, y1 in the line's own coordinates
    and the unit of size (`height`, same coordinates)."""

    boxes: np.ndarray
    height: float

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


def _joints(profile: np.ndarray, height: float, thin: float, stroke: float) -> list[int]:
    """Columns (offsets in the profile) where a group may be cut: the middle of each valley of its column
    profile, at least MIN_PIECE line heights from the edges and from each other, the deepest first. In a
    group no wider than a character only `thin` valleys count (a joint of a stroke or two, with ink rising
    by a stroke's width or more within half a line height on both sides); a wider group holds two
    characters or more, however they touch, and any local minimum counts."""
    w = len(profile)
    margin = max(1, round(MIN_PIECE * height))
    if w < 2 * margin + 1:
        return []
    smooth = np.convolve(profile, np.ones(3) / 3, mode="same")
    reach = max(2, round(0.5 * height))
    wide = w > 1.1 * height
    ok = np.zeros(w, dtype=bool)
    for x in range(margin, w - margin):
        v = smooth[x]
        if wide:  # any local minimum
            ok[x] = v <= smooth[x - 1] and v <= smooth[x + 1]
        elif v <= thin:
            left, right = smooth[max(0, x - reach) : x].max(), smooth[x + 1 : x + 1 + reach].max()
            ok[x] = left >= v + stroke and right >= v + stroke
    cuts: list[tuple[float, int]] = []
    x = 0
    while x < w:  # one cut per valley: the middle of its lowest columns
        if not ok[x]:
            x += 1
            continue
        end = x
        while end + 1 < w and ok[end + 1]:
            end += 1
        run = smooth[x : end + 1]
        low = np.flatnonzero(run <= run.min() + 1e-6)
        cuts.append((float(run.min()), x + int(low[len(low) // 2])))
        x = end + 1
    chosen: list[int] = []
    for _, c in sorted(cuts):
        if all(abs(c - d) >= margin for d in chosen):
            chosen.append(c)
    return sorted(chosen)


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
        """The ink of pieces i..j alone (other pieces' ink blanked), cropped to their box."""
        x0, y0, x1, y1 = (int(v) for v in self.pieces.span_box(i, j))
        seg = self.seg[y0:y1, x0:x1]
        return np.where((seg > i) & (seg <= j + 1), self.ink[y0:y1, x0:x1], 0).astype(np.uint8)

    def to_picture(self, box: np.ndarray) -> list[float]:
        """A working box as [x0, y0, x1, y1] in the picture's pixels."""
        ox, oy = self.origin
        s = self.scale
        return [round(ox + box[0] / s, 1), round(oy + box[1] / s, 1), round(ox + box[2] / s, 1),
                round(oy + box[3] / s, 1)]


def picture_pieces(grey: np.ndarray) -> PictureLine:
    """Over-segment a grey picture of one line (any polarity, any lighting). LineError when it has no ink
    or more pieces than `MAX_PIECES`."""
    ink = normalize_ink(grey)
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
    stroke = max(stroke_width(ink), 1.0)
    thin = JOINT_STROKES * stroke
    seg = np.zeros_like(grp)
    n = 0
    for g, members in enumerate(groups):
        gb = cboxes[kept[members]]
        gx0, gx1 = int(gb[:, 0].min()), int(gb[:, 2].max())
        cuts: list[int] = []
        if gx1 - gx0 > CUT_WIDTH * height:
            mine = grp[:, gx0:gx1] == g + 1
            cuts = [gx0 + c for c in _joints(mine.sum(axis=0).astype(np.float64), height, thin, stroke)]
        edges = [gx0, *cuts, gx1]
        for a, b in zip(edges[:-1], edges[1:], strict=True):
            n += 1
            band = seg[:, a:b]
            band[grp[:, a:b] == g + 1] = n
    if n > MAX_PIECES:
        raise LineError("line_too_long", f"the line has {n} pieces; at most {MAX_PIECES} are read")
    seg, boxes = _sorted_pieces(seg, n)
    return PictureLine(ink, seg, Pieces(boxes, height), (float(x0), float(y0)), scale)


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
    present = np.isfinite(x0)
    order = [i for i in np.argsort((x0 + x1) / 2, kind="stable") if present[i]]
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
