"""Bring a bundled model's metadata up to what line reading needs, without retraining it:

- `"lines"`: whether the model reads lines (`inkrec.runtime.metadata.line_reader_default`, the rule
  `inkrec export` applies to every new export; `--lines/--no-lines` to say otherwise);
- with `--framing-from DATA`: the picture framing (`canvas`, `line_diameter`, `padding`) measured from the
  model's own training bitmaps (`measure_framing`), so that pictures and ink are framed like what the model
  learnt from (MNIST digits fill 71% of their side in 2.4-pixel strokes, not Quick, Draw!'s 89% in 1.5);
- with `--ink-priors FIELD=VALUE,...` (`--picture-priors`): the line reader's priors the model sets for
  itself (`line_priors`), as chosen by `benchmarks/read_lines_priors.py` on lines of its training characters
  ('' drops them).

    python scripts/stamp_lines.py models/digits.onnx --framing-from ../shared/datasets/mnist
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from inkrec.data.dataset import open_dataset
from inkrec.export.model_file import read_model_metadata, write_model
from inkrec.preprocess.pictures import measure_framing
from inkrec.read.search import prior_fields
from inkrec.runtime import metadata as md


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", type=Path)
    ap.add_argument("--framing-from", type=Path, help="the model's training data set")
    ap.add_argument("--lines", action=argparse.BooleanOptionalAction, default=None)
    ap.add_argument("--ink-priors", help="line priors for ink, FIELD=VALUE,... (e.g. char_bonus=-0.4,wide=1.2)")
    ap.add_argument("--picture-priors", help="line priors for pictures, FIELD=VALUE,...")
    args = ap.parse_args()
    model, meta = read_model_metadata(args.model)
    meta[md.LINES_KEY] = md.line_reader_default(meta["labels"]) if args.lines is None else args.lines
    priors = dict(meta.pop("line_priors", None) or {})
    for kind, text in (("ink", args.ink_priors), ("pictures", args.picture_priors)):
        if text is not None:
            priors[kind] = prior_fields(text)
            if not priors[kind]:
                del priors[kind]
    if priors:
        meta["line_priors"] = priors
    if args.framing_from is not None:
        ds = open_dataset(args.framing_from, split="train", progress=False)
        idx = np.random.default_rng(0).permutation(len(ds))[:2000]
        meta["preprocessing"] = {**meta.get("preprocessing", {}), **measure_framing(ds.bitmaps(idx))}
    write_model(model, args.model, md.validate(meta, args.model))
    print(args.model, {k: meta["preprocessing"].get(k) for k in ("canvas", "line_diameter", "padding")},
          "lines:", meta[md.LINES_KEY], "line priors:", meta.get("line_priors"))


if __name__ == "__main__":
    main()
