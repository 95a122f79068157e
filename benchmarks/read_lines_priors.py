"""The line reader's priors tried on lines: each line is cut and its candidates read by the model once, then
the best path is searched again under every set of priors asked for, so a grid of priors costs little more
than one reading. Tune here, on lines of training characters; measure with `read_lines.py`.

Digits (the default): picture lines as `read_lines.py` builds them (same generator, same seed), from the train
digits by default, tried against the model's picture priors. Chinese (`--chinese-model`): ink lines of the
synthetic handwriting that model learnt from (`read_lines.synth_chinese_lines`), tried against its ink priors
(with `--pictures`: picture lines of the synthesizer's bitmaps, against its picture priors).
Each `--set` replaces fields of the priors the model reads with (its own `line_priors` over the defaults).

    python benchmarks/read_lines_priors.py --split train --set wide=0.8,wide_cost=2 --set char_bonus=0.3
    python benchmarks/read_lines_priors.py --chinese-model models/hanzi.onnx --lines 600 --set char_bonus=-0.4
    python benchmarks/read_lines_priors.py --chinese-model models/hanzi.onnx --pictures --set char_bonus=-0.4
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from inkrec.read.reader import LineReader  # noqa: E402
from inkrec.read.score import LineScore  # noqa: E402
from inkrec.read.search import prior_fields  # noqa: E402
from inkrec.runtime.onnx_model import OnnxModel  # noqa: E402

sys.path.insert(0, str(REPO / "benchmarks"))
from read_lines import digit_lines, line_options, synth_chinese_lines  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    line_options(ap, "train")
    ap.add_argument("--chinese-model", help="tune a Chinese model's ink priors on synthetic lines instead")
    ap.add_argument("--pictures", action="store_true", help="with --chinese-model: picture lines, not ink")
    ap.add_argument("--set", action="append", default=[], help="priors to try, as field=value,... (repeatable)")
    args = ap.parse_args()
    model = OnnxModel(args.chinese_model or args.model)
    reader = LineReader(model)  # the spans stay as the model's own priors cut them
    if args.chinese_model and args.pictures:
        base, kind = reader.picture_priors, "synthetic Chinese picture"
        candidates = (reader.picture_candidates(g) + (t,)
                      for g, t in synth_chinese_lines(model, args.lines, args.seed, pictures=True))
    elif args.chinese_model:
        base, kind = reader.priors, "synthetic Chinese ink"
        candidates = (reader.ink_candidates(s) + (t,) for s, t in synth_chinese_lines(model, args.lines, args.seed))
    else:
        base, kind = reader.picture_priors, f"{args.split} digit"
        candidates = (reader.picture_candidates(g) + (t,) for g, t in digit_lines(args.mnist, args.lines, args.seed,
                                                                                  args.split))
    tries = [("as shipped", base)] + [(s, base.updated(prior_fields(s))) for s in args.set]
    scores = [LineScore() for _ in tries]
    for line, spans, probs, truth in candidates:
        for (_, priors), score in zip(tries, scores, strict=True):
            path = LineReader._search(priors, line.pieces, probs, spans)
            score.add("".join(model.labels[int(probs[k].argmax())] for k in path), truth)
    print(f"{kind} lines, {model.path.name}:")
    for (name, _), score in zip(tries, scores, strict=True):
        print(f"  {name:40s} line {score.line_accuracy:.4f}  char {score.char_accuracy:.4f}")


if __name__ == "__main__":
    main()
