"""Model time: onnxruntime on one drawing at a time, per bundled model (target: median < 0.2 ms).

Each model runs through `inkrec.runtime.onnx_model.OnnxModel`, exactly as the server runs it (same session
options: one intra-op thread, no spinning), on real drawings of its own test split at its own input
size, one `run` call per drawing. With `--int8` (default on) each model is also quantized here
(`inkrec.export.quantize`, static int8 calibrated on real training drawings) and timed the same way,
with the top-1 accuracy of both versions on the same test drawings.

    python benchmarks/model_time.py [--model M.onnx ...] [--runs 5000] [--no-int8]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def datasets_dir() -> Path:
    env = os.environ.get("INKREC_DATASETS")
    return Path(env) if env else REPO.parent / "shared" / "datasets"


DATA_FOLDERS = {"Quick, Draw!": "quickdraw/numpy_bitmap", "MNIST": "mnist", "Chinese MNIST": "chinese-mnist"}


def real_drawings(meta: dict, split: str, per_class: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Model input (N, 1, S, S) float32 and labels from the model's own data set (standard split)."""
    from inkrec.data.dataset import open_dataset

    name = (meta.get("dataset") or {}).get("name") if isinstance(meta.get("dataset"), dict) else None
    folder = DATA_FOLDERS.get(name or "")
    if folder is None or not (datasets_dir() / folder).exists():
        return None
    ds = open_dataset(str(datasets_dir() / folder), split=split, classes=list(meta["labels"]))
    idx = np.asarray(ds.balanced_indices(per_class, 0))
    size = int(meta["input"]["size"])
    x = ds.bitmaps(idx, size=size).astype(np.float32)[:, None] / 255.0
    return x, np.asarray(ds.labels)[idx]


def time_model(path: str | Path, x: np.ndarray, runs: int, threads: int) -> dict:
    from inkrec.runtime.onnx_model import OnnxModel

    model = OnnxModel(path, intra_op_threads=threads)
    run, out = model.session.run, [model._output]
    feeds = [{"input": x[i : i + 1]} for i in range(len(x))]
    for i in range(min(500, runs)):  # warm-up: allocations, caches, CPU frequency
        run(out, feeds[i % len(feeds)])
    times = np.empty(runs)
    for i in range(runs):
        feed = feeds[i % len(feeds)]
        t0 = time.perf_counter_ns()
        run(out, feed)
        times[i] = time.perf_counter_ns() - t0
    ms = times / 1e6
    return {
        "median_ms": round(float(np.median(ms)), 4),
        "p99_ms": round(float(np.percentile(ms, 99)), 4),
        "mean_ms": round(float(statistics.fmean(ms)), 4),
        "bytes": Path(path).stat().st_size,
    }


def top1(path: str | Path, x: np.ndarray, y: np.ndarray) -> float:
    from inkrec.runtime.onnx_model import OnnxModel

    model = OnnxModel(path)
    preds = np.concatenate([model.logits(x[i : i + 256]).argmax(1) for i in range(0, len(x), 256)])
    return float((preds == y).mean())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", action="append", help="default: the bundled models/*.onnx")
    ap.add_argument("--runs", type=int, default=5000)
    ap.add_argument("--threads", type=int, default=1, help="intra-op threads (the server uses 1)")
    ap.add_argument("--no-int8", dest="int8", action="store_false", help="skip the int8 versions")
    ap.add_argument("--out", type=Path, default=REPO / "bench-results" / "model_time.json")
    args = ap.parse_args()
    from inkrec.runtime.onnx_model import read_metadata
    from inkrec.serve.runtime import default_model_paths

    models = args.model or [str(p) for p in default_model_paths()]
    if not models:
        raise SystemExit("no models: pass --model MODEL.onnx or put exported models in models/")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for path in models:
            meta = read_metadata(path)
            test = real_drawings(meta, "test", 100)
            if test is None:
                size = int(meta["input"]["size"])
                test = (np.random.default_rng(0).random((64, 1, size, size), dtype=np.float32), None)
            x, y = test
            row = {
                "model": meta["id"],
                "input": f"{meta['input']['size']}x{meta['input']['size']}",
                "drawings": "real test drawings" if y is not None else "random input",
                "as shipped": time_model(path, x, args.runs, args.threads),
            }
            if y is not None:
                row["as shipped"]["top1"] = round(top1(path, x, y), 4)
            row["as shipped"]["format"] = meta.get("quantized") or "fp32"
            if args.int8 and meta.get("quantized") != "int8":
                from inkrec.export.quantize import quantize_int8

                calib = real_drawings(meta, "train", 30)
                q = Path(tmp) / f"{meta['id']}-int8.onnx"
                quantize_int8(path, q, calibration=None if calib is None else calib[0])
                row["int8"] = time_model(q, x, args.runs, args.threads)
                if y is not None:
                    row["int8"]["top1"] = round(top1(q, x, y), 4)
            results.append(row)

    print(
        f"one drawing per run, {args.threads} intra-op thread(s), {args.runs} runs; target: median < 0.2 ms"
    )
    print(
        f"{'model':16} {'input':>6} {'version':>9} {'median ms':>10} {'p99 ms':>8} {'size kB':>8} {'top-1':>7}"
    )
    for r in results:
        for version in ("as shipped", "int8"):
            if version not in r:
                continue
            v = r[version]
            label = v.get("format", version) if version == "as shipped" else "int8 here"
            acc = f"{100 * v['top1']:.2f}%" if "top1" in v else "-"
            verdict = "met" if v["median_ms"] < 0.2 else "MISSED"
            print(
                f"{r['model']:16} {r['input']:>6} {label:>9} {v['median_ms']:10.4f} {v['p99_ms']:8.4f} "
                f"{v['bytes'] / 1024:8.0f} {acc:>7}  [{verdict}]"
            )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"load_average": os.getloadavg(), "results": results}, indent=2))
    print(
        f"(load average during the run: {' '.join(f'{v:.1f}' for v in os.getloadavg())}; "
        f"{os.cpu_count()} cores)\nresults: {args.out}"
    )


if __name__ == "__main__":
    main()
