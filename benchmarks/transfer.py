"""Fine-tuning a trained model vs training from scratch, at 20, 100 and 500 drawings a class.

The task is one the pretrained model never saw: the 18 Quick, Draw! categories of the numpy_bitmap set
(train: the first N drawings a class of the standard train split; test: the first 100 a class of the
standard test split, 1,800 drawings), or `--data` (e.g. Chinese MNIST, read at 28x28). The pretrained model is the bundled
`digits` model (MNIST), from its weights-only file beside it (`models/digits.pt`). Three recipes on
the same schedule, seed and data: `scratch` (inknet at the bundled width, random weights), `fine-tune`
(`--init`, every layer trains) and `head only` (`--init --freeze`). Small runs, sized for a 2-core machine:
the epochs shrink as N grows so that each run sees a similar number of drawings.

    python benchmarks/transfer.py [--init models/digits.onnx] [--data DIR] [--sizes 20 100 500] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from inkrec.data.dataset import open_dataset
from inkrec.preprocess.batch import bitmap_batch
from inkrec.preprocess.spec import InputSpec
from inkrec.train.config import make_config
from inkrec.train.loop import train

REPO = Path(__file__).resolve().parents[1]
EPOCHS = {20: 10, 100: 4, 500: 2}
TEST_PER_CLASS = 100  # the first 100 test drawings of each class: a small machine scores 9 runs quickly


def datasets_dir() -> Path:
    env = os.environ.get("INKREC_DATASETS")
    return Path(env) if env else REPO.parent / "shared" / "datasets"


def test_top1(model, data: Path, classes: list[str]) -> float:
    ds = open_dataset(data, split="test", classes=classes, max_per_class=TEST_PER_CLASS, progress=False)
    x = bitmap_batch(ds.bitmaps(np.arange(len(ds)), size=28), InputSpec(size=28))
    with torch.inference_mode():
        logits = torch.cat([model(torch.from_numpy(x[i : i + 512])) for i in range(0, len(x), 512)])
    return float((logits.argmax(1).numpy() == np.asarray(ds.labels)).mean())


def run(data: Path, out: Path, per_class: int, epochs: int, lr: float = 2e-3, **extra) -> dict:
    cfg = make_config(
        data=str(data), out=str(out), max_per_class=per_class, size=28, epochs=epochs, batch_size=64,
        lr=lr, val_fraction=0.0, patience=0, track=False, progress=False, verbose=False, threads=1, seed=0,
        warmup_epochs=min(1.0, epochs / 5), evaluate_test=False, **extra,
    )
    t0 = time.perf_counter()
    result = train(cfg)
    return {"test_top1": test_top1(result.model, data, result.classes),
            "seconds": round(time.perf_counter() - t0, 1), "epochs": epochs, "train_samples": result.train_samples}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--init", default=str(REPO / "models" / "digits.onnx"))
    ap.add_argument("--sizes", type=int, nargs="+", default=[20, 100, 500])
    ap.add_argument("--data", type=Path, default=None, help="default: ../shared/datasets/quickdraw/numpy_bitmap")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--head-lr", type=float, default=2e-2, help="learning rate of the head-only runs")
    ap.add_argument("--only", choices=["scratch", "fine_tune", "head_only"], default=None)
    args = ap.parse_args()
    data = args.data or datasets_dir() / "quickdraw" / "numpy_bitmap"
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            epochs = EPOCHS.get(n, max(3, 3000 // n))
            row = {"per_class": n}
            recipes = {
                "scratch": {"model": "inknet", "model_kwargs": {"width": 16}},
                "fine_tune": {"init": args.init},
                # a linear head alone on fixed features takes a larger step (a linear probe's usual rate)
                "head_only": {"init": args.init, "freeze": True, "lr": args.head_lr},
            }
            for name, extra in recipes.items():
                if args.only in (None, name):
                    row[name] = run(data, Path(tmp) / f"{name}{n}", n, epochs, **extra)
            rows.append(row)
            print(json.dumps(row), flush=True)
    print("\n| drawings a class | scratch | fine-tune | head only |\n|---|---|---|---|")
    for r in rows:
        print(f"| {r['per_class']} | " + " | ".join(f"{100 * r[k]['test_top1']:.1f}%" if k in r else "-"
                                                    for k in ("scratch", "fine_tune", "head_only")) + " |")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"init": args.init, "data": str(data), "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
