"""Bitmap loading throughput: how fast training can be fed uint8 batches from each kind of data set.

For each data set of `../shared/datasets` one shuffled epoch of batches is loaded with `open_dataset` and
with the naive loader a course notebook would write, in the same run, each in a fresh child process so
that its peak RSS is its own:

| data set | inkrec | naive baseline |
|---|---|---|
| Quick, Draw! numpy_bitmap, 18 files | memory-mapped, multi-batch gathers | `np.load` of every file (no mmap), concatenate, index |
| MNIST idx .gz | decompressed once, gathered | `gzip.open` + `np.frombuffer`, index |
| Chinese MNIST, 12,000 JPEGs | decode + ink normalisation, threaded; then `materialize()` | `PIL.Image.open` per file (no normalisation) |
| simplified strokes, 8,600 drawings | offset index, parse, `rasterize_many` | `json.loads` per line, Pillow `ImageDraw` lines at 256 px, resized to 28 |

Columns: drawings, open time, drawings/s over the epoch (after opening), end-to-end drawings/s (opening
included), the ratio to the baseline (end-to-end, also per CPU second since the machine is shared), and
peak RSS. Usage: python benchmarks/bitmap_loading.py [--batch 256] [--repeat 1]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("INKREC_DATASETS", REPO.parent / "shared" / "datasets"))


# ------------------------------------------------------------------------------------------- loaders
# Each loader returns (open_fn, epoch_fn): open_fn() prepares, epoch_fn(state, batch) yields uint8 batches.


def _shuffled(n: int, batch: int):
    order = np.random.default_rng(0).permutation(n)
    return [order[lo : lo + batch] for lo in range(0, n, batch)]


def inkrec_open(path: Path):
    from inkrec.data.dataset import open_dataset

    return lambda: open_dataset(path), lambda ds, batch: (x for x, _ in ds.iter_batches(batch, seed=0))


def inkrec_materialized(path: Path):
    from inkrec.data.dataset import open_dataset

    return (
        lambda: open_dataset(path).materialize(),
        lambda ds, batch: (x for x, _ in ds.iter_batches(batch, seed=0)),
    )


def naive_npy(path: Path):
    def open_():
        arrays = [np.load(f, allow_pickle=False) for f in sorted(path.glob("*.npy"))]
        return np.concatenate(arrays).reshape(-1, 28, 28)

    return open_, lambda x, batch: (x[i] for i in _shuffled(len(x), batch))


def naive_idx(path: Path):
    def open_():
        parts = []
        for name in ("train-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte.gz"):
            with gzip.open(path / name, "rb") as fh:
                parts.append(np.frombuffer(fh.read(), np.uint8, offset=16).reshape(-1, 28, 28))
        return np.concatenate(parts)

    return open_, lambda x, batch: (x[i] for i in _shuffled(len(x), batch))


def naive_jpeg(path: Path):
    from PIL import Image

    def open_():
        return sorted(p for p in path.rglob("*.jpg"))

    def epoch(files, batch):
        for idx in _shuffled(len(files), batch):
            yield np.stack([np.asarray(Image.open(files[i]).convert("L")) for i in idx])

    return open_, epoch


def naive_strokes(path: Path):
    from PIL import Image, ImageDraw

    def open_():
        drawings = []
        for f in sorted(path.glob("*.ndjson")):
            with open(f, encoding="utf-8") as fh:
                drawings.extend(json.loads(line)["drawing"] for line in fh if line.strip())
        return drawings

    def render(strokes):
        im = Image.new("L", (256, 256), 0)
        draw = ImageDraw.Draw(im)
        for x, y in (s[:2] for s in strokes):
            pts = list(zip(x, y))
            if len(pts) == 1:
                pts = pts * 2
            draw.line(pts, fill=255, width=16, joint="curve")
        return np.asarray(im.resize((28, 28), Image.Resampling.BOX))

    def epoch(drawings, batch):
        for idx in _shuffled(len(drawings), batch):
            yield np.stack([render(drawings[i]) for i in idx])

    return open_, epoch


CASES = {
    "numpy_bitmap": ("quickdraw/numpy_bitmap", inkrec_open, naive_npy, None),
    "mnist_idx": ("mnist", inkrec_open, naive_idx, None),
    "chinese_jpeg": ("chinese-mnist", inkrec_open, naive_jpeg, inkrec_materialized),
    "strokes": ("quickdraw/simplified", inkrec_open, naive_strokes, None),
}
LABELS = {
    "numpy_bitmap": "Quick, Draw! numpy_bitmap (18 .npy)",
    "mnist_idx": "MNIST idx .gz (train + t10k)",
    "chinese_jpeg": "Chinese MNIST JPEG folder",
    "strokes": "simplified strokes -> 28x28 raster",
}


def _peak_rss() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def measure(case: str, loader: str, batch: int) -> dict:
    rel, ink, naive, extra = CASES[case]
    make = {"inkrec": ink, "naive": naive, "inkrec-materialized": extra}[loader]
    open_fn, epoch_fn = make(DATA / rel)
    c0, t0 = time.process_time(), time.perf_counter()
    state = open_fn()
    open_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    n = 0
    check = 0
    for x in epoch_fn(state, batch):
        assert x.dtype == np.uint8 and x.ndim == 3
        n += len(x)
        check += int(x[:, x.shape[1] // 2, x.shape[2] // 2].astype(np.int64).sum())
    epoch_s = time.perf_counter() - t1
    cpu_s = time.process_time() - c0
    return {
        "n": n,
        "open_s": open_s,
        "epoch_per_s": n / epoch_s,
        "e2e_per_s": n / (open_s + epoch_s),
        "e2e_per_cpu_s": n / cpu_s,
        "peak_rss": _peak_rss(),
        "check": check,
    }


def run_child(case: str, loader: str, batch: int) -> dict:
    cmd = [sys.executable, __file__, "--measure", case, "--loader", loader, "--batch", str(batch)]
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise SystemExit(f"{case}/{loader} failed:\n{res.stderr}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument(
        "--repeat", type=int, default=1, help="measure each loader this many times, keep the best"
    )
    ap.add_argument("--cases", default=",".join(CASES), help="comma-separated subset of " + ",".join(CASES))
    ap.add_argument("--measure", help=argparse.SUPPRESS)
    ap.add_argument("--loader", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.loader, args.batch)))
        return

    from rich.console import Console
    from rich.table import Table

    rows = []
    for case in args.cases.split(","):
        loaders = ["naive", "inkrec"] + (["inkrec-materialized"] if CASES[case][3] else [])
        results = {}
        for loader in loaders:
            runs = [run_child(case, loader, args.batch) for _ in range(args.repeat)]
            results[loader] = max(runs, key=lambda r: r["e2e_per_s"])
        base = results["naive"]
        for loader in loaders:
            rows.append((case, loader, results[loader], base))

    mib = 2**20
    table = Table(title=f"bitmap loading: one shuffled epoch of uint8 batches of {args.batch}")
    for col in ("data set", "loader", "drawings", "open s", "epoch drawings/s", "end-to-end drawings/s",
                "x naive", "x naive per CPU s", "peak RSS"):  # fmt: skip
        table.add_column(col, justify="left" if col in ("data set", "loader") else "right")
    for case, loader, r, base in rows:
        table.add_row(
            LABELS[case],
            loader,
            f"{r['n']:,}",
            f"{r['open_s']:.2f}",
            f"{r['epoch_per_s']:,.0f}",
            f"{r['e2e_per_s']:,.0f}",
            f"{r['e2e_per_s'] / base['e2e_per_s']:.2f}",
            f"{r['e2e_per_cpu_s'] / base['e2e_per_cpu_s']:.2f}",
            f"{r['peak_rss'] / mib:,.0f} MiB",
        )
    Console(width=200).print(table)
    load = os.getloadavg()
    print(
        f"end-to-end includes opening; the naive image loader does not normalise ink (less work than inkrec). "
        f"Load average {load[0]:.1f} on {os.cpu_count()} cores."
    )


if __name__ == "__main__":
    main()
