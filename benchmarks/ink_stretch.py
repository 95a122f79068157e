"""How far faint ink is stretched: every bundled picture model's top-1 on pictures, per percentile of the
inked pixels that `normalize_ink` stretches to full white (`inkrec.preprocess.pictures.INK_WHITE_PERCENTILE`).

A thin pen line in a small JPEG scan is uneven along its length; stretched too little, most of it stays under
the framing's solid-ink threshold and frames as a string of beads. Each model reads real pictures through
the upload path (`picture_bitmap`, as the server and the page do), at each percentile in turn:

- `hanzi` and `hanzi-numerals` on Chinese MNIST's training writers (1-64; every third scan), the split to
  choose on (writers 65-80 are the test writers);
- `digits` on MNIST t10k digits as dark ink on paper, `doodles` on Quick, Draw! test bitmaps likewise, which
  must not lose.

`hanzi-numerals` learnt from scans stretched by the shipped percentile, so its column moves with the
percentile for that reason too; the others learnt from ink and bitmaps that never went through this step.

    python benchmarks/ink_stretch.py [--percentiles 99,95,90,85,80,75] [--json OUT]
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

import inkrec.preprocess.pictures as pictures  # noqa: E402
from inkrec.data.formats.idx import load_idx  # noqa: E402
from inkrec.preprocess.batch import bitmap_batch, picture_bitmap  # noqa: E402
from inkrec.runtime.onnx_model import OnnxModel  # noqa: E402

DATASETS = Path(os.environ.get("INKREC_DATASETS", REPO.parent / "shared" / "datasets"))


def chinese_mnist_train(root: Path) -> list[tuple[np.ndarray, str]]:
    """Every third scan of writers 1-64 (file names writerNNN_SS.jpg), with its numeral."""
    out = []
    for f in sorted(root.glob("*/*.jpg")):
        writer, sample = int(f.stem[6:9]), int(f.stem.split("_")[1])
        if writer <= 64 and sample % 3 == 0:
            out.append((pictures.decode_image(f), f.parent.name))
    return out


def digits_on_paper(mnist: Path, n: int) -> list[tuple[np.ndarray, str]]:
    images = load_idx(mnist / "t10k-images-idx3-ubyte.gz")[:n]
    labels = load_idx(mnist / "t10k-labels-idx1-ubyte.gz")[:n]
    return [(255 - a, str(int(y))) for a, y in zip(images, labels, strict=True)]


def doodles_on_paper(folder: Path, per_class: int) -> list[tuple[np.ndarray, str]]:
    """Test rows (the last 20% of each category) as dark ink on paper."""
    out = []
    for f in sorted(folder.glob("*.npy")):
        rows = np.load(f, mmap_mode="r")
        start = int(len(rows) * 0.8)
        for i in np.linspace(start, len(rows) - 1, per_class).astype(int):
            out.append((255 - np.asarray(rows[i]).reshape(28, 28), f.stem))
    return out


def top1(model: OnnxModel, items: list[tuple[np.ndarray, str]]) -> float:
    index = {c: i for i, c in enumerate(model.labels)}
    truth = np.array([index[c] for _, c in items])
    x = bitmap_batch(np.stack([picture_bitmap(g, model.spec) for g, _ in items]), model.spec)
    return float(np.mean(model.predict(x).argmax(1) == truth))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--percentiles", default="99,95,90,85,80,75")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    numerals = chinese_mnist_train(DATASETS / "chinese-mnist")
    sets = {  # each model loaded once, with the pictures it reads and what they are
        "hanzi": (OnnxModel(REPO / "models" / "hanzi.onnx"), numerals, "Chinese MNIST writers 1-64"),
        "hanzi-numerals": (OnnxModel(REPO / "models" / "hanzi-numerals.onnx"), numerals, "Chinese MNIST writers 1-64"),
        "digits": (OnnxModel(REPO / "models" / "digits.onnx"), digits_on_paper(DATASETS / "mnist", 3000),
                   "MNIST t10k (3,000), on paper"),
        "doodles": (OnnxModel(REPO / "models" / "doodles.onnx"),
                    doodles_on_paper(DATASETS / "quickdraw" / "numpy_bitmap", 150),
                    "Quick, Draw! test bitmaps (150 a category), on paper"),
    }
    shipped = pictures.INK_WHITE_PERCENTILE
    results: dict[str, dict[str, float]] = {}
    print("| percentile | " + " | ".join(f"{k} ({v[2]})" for k, v in sets.items()) + " |")
    print("|---" * (len(sets) + 1) + "|")
    for q in (float(p) for p in args.percentiles.split(",")):
        pictures.INK_WHITE_PERCENTILE = q
        row = {}
        for name, (model, items, _) in sets.items():
            row[name] = round(top1(model, items), 4)
        results[f"{q:g}"] = row
        mark = " (shipped)" if q == shipped else ""
        print(f"| {q:g}{mark} | " + " | ".join(f"{v:.2%}" for v in row.values()) + " |", flush=True)
    pictures.INK_WHITE_PERCENTILE = shipped
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
