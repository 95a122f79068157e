"""The line reader's picture priors tried on digit lines: each line is cut and its candidates read by the
model once, then the best path is searched again under every set of priors asked for, so a grid of priors
costs little more than one reading. Lines as `read_lines.py` builds them (same generator, same seed), from
the train digits by default: tune here, keep t10k for the final figure.

    python benchmarks/read_lines_priors.py --split train --set wide=0.8,wide_cost=2 --set char_bonus=0.3
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from inkrec.read.reader import LineReader  # noqa: E402
from inkrec.read.score import LineScore  # noqa: E402
from inkrec.read.search import PICTURE_PRIORS  # noqa: E402
from inkrec.runtime.onnx_model import OnnxModel  # noqa: E402

sys.path.insert(0, str(REPO / "benchmarks"))
from read_lines import digit_lines, line_options  # noqa: E402


def parse_set(text: str):
    """'wide=0.8,wide_cost=2' -> PICTURE_PRIORS with those fields replaced ('' : as they are)."""
    fields = {}
    for part in filter(None, text.split(",")):
        key, _, value = part.partition("=")
        fields[key.strip()] = type(getattr(PICTURE_PRIORS, key.strip()))(float(value))
    return dataclasses.replace(PICTURE_PRIORS, **fields)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    line_options(ap, "train")
    ap.add_argument("--set", action="append", default=[], help="priors to try, as field=value,... (repeatable)")
    args = ap.parse_args()
    model = OnnxModel(args.model)
    reader = LineReader(model)  # max_span and max_width stay as shipped
    tries = [("as shipped", PICTURE_PRIORS)] + [(s, parse_set(s)) for s in args.set]
    scores = [LineScore() for _ in tries]
    for grey, truth in digit_lines(args.mnist, args.lines, args.seed, args.split):
        line, spans, probs = reader.picture_candidates(grey)
        for (_, priors), score in zip(tries, scores, strict=True):
            path = LineReader._search(priors, line.pieces, probs, spans)
            score.add("".join(model.labels[int(probs[k].argmax())] for k in path), truth)
    print(f"{args.split} lines, {Path(args.model).name}:")
    for (name, _), score in zip(tries, scores, strict=True):
        print(f"  {name:40s} line {score.line_accuracy:.4f}  char {score.char_accuracy:.4f}")


if __name__ == "__main__":
    main()
