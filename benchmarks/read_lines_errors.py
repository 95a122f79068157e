"""Where the line reader's errors on digit pictures come from, character by character.

Lines are built as `read_lines.py` builds them (same generator, same seed), from the MNIST train digits by
default (tune here; keep t10k for the final figure). Each true character is followed through the reader:

- cut: no candidate (run of pieces) holds at least 90% of its ink with at most 15% of other characters' ink,
  neither its own pieces nor its window (all the ink in its box, which the reader reads too where other
  pieces' ink lies in it; there the character must own 70% of the ink): the over-segmentation never offered
  it whole (characters leaning into or crossing each other);
- misread: a candidate holds it, but the model reads every such candidate wrong;
- search: a candidate holds it and is read right, but the best path went elsewhere;
- right: the path took it.

Each is split by whether the character touches or overlaps a neighbour (their boxes meet), and beside it
the model's error on the same digits framed as single uploads (`picture_bitmap`), the floor of the reader.

    python benchmarks/read_lines_errors.py --split train --lines 300
"""

from __future__ import annotations

import argparse
import collections
import sys
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from inkrec.preprocess.batch import bitmap_batch, picture_bitmap  # noqa: E402
from inkrec.read.reader import LineReader  # noqa: E402
from inkrec.read.score import LineScore  # noqa: E402
from inkrec.runtime.onnx_model import OnnxModel  # noqa: E402

sys.path.insert(0, str(REPO / "benchmarks"))
from read_lines import digit_line_parts, line_options  # noqa: E402

OUTCOMES = ("right", "search", "misread", "cut")


def owners(pic: np.ndarray, bitmaps, boxes) -> np.ndarray:
    """Per picture pixel, the character whose ink is brightest there (-1: none), rebuilt from the boxes the
    generator placed each scaled character in."""
    layers = np.zeros((len(bitmaps), *pic.shape), np.float32)
    for k, (b, box) in enumerate(zip(bitmaps, boxes, strict=True)):
        ys, xs = np.nonzero(b > 0)
        crop = b[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
        x0, y0, x1, y1 = (int(v) for v in box)
        layers[k, y0:y1, x0:x1] = np.asarray(
            Image.fromarray(crop).resize((x1 - x0, y1 - y0), Image.Resampling.BILINEAR), np.float32)
    return np.where(layers.max(axis=0) > 0, layers.argmax(axis=0), -1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    line_options(ap, "train")
    args = ap.parse_args()
    model = OnnxModel(args.model)
    reader = LineReader(model)
    priors = reader.picture_priors
    score = LineScore()
    counts: collections.Counter = collections.Counter()
    single_wrong = 0
    for pic, bitmaps, boxes, truth in digit_line_parts(args.mnist, args.lines, args.seed, args.split):
        line, spans, probs = reader.picture_candidates(pic)
        path = set(reader._search(priors, line.pieces, probs, spans))
        score.add("".join(model.labels[int(probs[k].argmax())] for k in sorted(path)),
                  "".join(str(t) for t in truth))
        singles = model.predict(bitmap_batch(np.stack([picture_bitmap(255 - b, model.spec) for b in bitmaps]),
                                             model.spec)).argmax(axis=1)
        single_wrong += int((singles != np.asarray(truth)).sum())
        # each piece's ink by character, in working pixels mapped back onto the picture
        own = owners(pic, bitmaps, boxes)
        h, w = line.seg.shape
        ys = np.clip((line.origin[1] + (np.arange(h) + 0.5) / line.scale).astype(int), 0, pic.shape[0] - 1)
        xs = np.clip((line.origin[0] + (np.arange(w) + 0.5) / line.scale).astype(int), 0, pic.shape[1] - 1)
        own = own[ys][:, xs]
        inked = line.seg > 0
        mass = np.zeros((len(line.pieces), len(bitmaps)))
        keep = inked & (own >= 0)
        np.add.at(mass, (line.seg[keep] - 1, own[keep]), line.ink[keep].astype(np.float64))
        total = mass.sum(axis=0)
        holds: dict[int, list[int]] = collections.defaultdict(list)
        for s, (i, j) in enumerate(spans):
            m = mass[i : j + 1].sum(axis=0)
            k = int(m.argmax())
            if m[k] >= 0.9 * total[k] and m[k] >= 0.85 * m.sum():
                holds[k].append(s)
            elif line.intruded(i, j):
                x0, y0, x1, y1 = (int(v) for v in line.pieces.span_box(i, j))
                box = keep[y0:y1, x0:x1]
                w = np.bincount(own[y0:y1, x0:x1][box], weights=line.ink[y0:y1, x0:x1][box].astype(np.float64),
                                minlength=len(bitmaps))
                k = int(w.argmax())
                if w[k] >= 0.9 * total[k] and w[k] >= 0.7 * w.sum():
                    holds[k].append(s)
        for k, t in enumerate(truth):
            touching = (k > 0 and boxes[k][0] <= boxes[k - 1][2]) or (
                k + 1 < len(boxes) and boxes[k + 1][0] <= boxes[k][2])
            read_right = [s for s in holds[k] if model.labels[int(probs[s].argmax())] == str(t)]
            outcome = ("cut" if not holds[k] else "misread" if not read_right
                       else "right" if set(read_right) & path else "search")
            counts[("touching" if touching else "apart", outcome)] += 1
    n = sum(counts.values())
    print(f"{args.split} lines: {score.summary()}")
    print(f"the same digits read one at a time as uploads: {single_wrong / n:.2%} wrong")
    for side in ("apart", "touching"):
        m = sum(counts[(side, o)] for o in OUTCOMES)
        row = ", ".join(f"{o} {counts[(side, o)]} ({counts[(side, o)] / n:.2%})" for o in OUTCOMES)
        print(f"{side:8s} {m:5d} characters: {row}")


if __name__ == "__main__":
    main()
