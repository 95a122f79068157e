"""Chinese models side by side on the splits a recipe may be chosen on, never on the test writers.

CASIA writer 1043, Chinese MNIST's writers 65-80 and Tegaki's Traditional Chinese samples are for measuring a
model once it is chosen. A change to the synthesizer, its fonts or the training schedule is judged here:

- Chinese MNIST writers 1-64 (the data set's training writers), read as uploaded pictures;
- tegaki-lab's own train sessions (kanji written by native and learner writers; those in the vocabulary);
- the synthesizer's own samples of GB2312 level-1 characters written from strokes: as the model learnt them,
  and with the writers' per-stroke drift doubled, which shows how far a model tolerates components out of
  place (real fast hands put them further off than the synthesizer does).

Top-1 and top-10 over the model's whole vocabulary, as `inkrec eval` scores them.

    python benchmarks/hanzi_dev.py models/hanzi.onnx runs/hanzi-ft/export.onnx [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from inkrec.data.charsets import charset  # noqa: E402
from inkrec.data.dataset import open_dataset  # noqa: E402
from inkrec.data.synth.hanzi import HanziSynth  # noqa: E402
from inkrec.evaluate.metrics import top_k_accuracy  # noqa: E402
from inkrec.evaluate.predict import load_model, predict_dataset  # noqa: E402
from inkrec.preprocess.batch import bitmap_batch  # noqa: E402

DATASETS = Path(os.environ.get("INKREC_DATASETS", REPO.parent / "shared" / "datasets"))
SLOPPY = {"stroke_shift": 52.0, "stroke_turn": 0.12, "stroke_scale": 0.2, "ends": 0.16}  # twice the default drift


def top_1_10(truth: np.ndarray, probs: np.ndarray) -> tuple[float, float]:
    return top_k_accuracy(truth, probs, 1), top_k_accuracy(truth, probs, 10)


def real(model, data: Path, *, as_pictures: bool) -> tuple[float, float]:
    ds = open_dataset(data, split="train", progress=False)
    p = predict_dataset(model, ds, progress=False, as_pictures=as_pictures, known_only=True)
    return top_1_10(p.y_true, p.probs)


def synthetic(model, n: int, style: dict) -> tuple[float, float]:
    """`n` samples of GB2312 level-1 characters written from strokes, seeded (the same for every model)."""
    synth = HanziSynth.open("zh", font_share=0.0, style=style)
    index = {c: i for i, c in enumerate(model.classes)}
    synth_index = {c: i for i, c in enumerate(synth.classes)}
    rng = np.random.default_rng(5)
    chars = rng.choice([c for c in charset("gb2312-1") if c in index], n)
    labels = np.array([synth_index[c] for c in chars])
    seeds = rng.integers(10**9, 2 * 10**9, n)
    bitmaps = synth.bitmaps(labels, seeds, int(model.spec.size), preprocessing=model.spec.preprocessing)
    probs = np.concatenate([model.predict(bitmap_batch(bitmaps[i : i + 256], model.spec))
                            for i in range(0, n, 256)])
    return top_1_10(np.array([index[c] for c in chars]), probs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="+", help=".onnx files or run directories")
    ap.add_argument("--synthetic", type=int, default=3000, help="synthetic samples per style")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    columns = ["Chinese MNIST writers 1-64 (pictures)", "tegaki-lab train (kanji)", "synthetic",
               "synthetic, drift x2"]
    print("| model | " + " | ".join(columns) + " |")
    print("|---" * (len(columns) + 1) + "|")
    results = {}
    for path in args.models:
        model = load_model(path)
        figures = [
            real(model, DATASETS / "chinese-mnist", as_pictures=True),
            real(model, DATASETS / "tegaki" / "tegaki-lab", as_pictures=False),
            synthetic(model, args.synthetic, {}),
            synthetic(model, args.synthetic, SLOPPY),
        ]
        results[path] = dict(zip(columns, figures, strict=True))
        print(f"| {path} | " + " | ".join(f"{a:.2%} / {b:.2%}" for a, b in figures) + " |", flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
