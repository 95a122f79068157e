"""Model time: onnxruntime on one drawing at a time, per bundled model (target: median < 0.2 ms).

The input is a real drawing at the model's own input size (a numpy_bitmap row for 28x28 doodles, a real
digit or numeral for the others when the data is there), run through `inkrec.serve.runtime.OnnxModel`
exactly as the server runs it (same session options), one `run` call per drawing.

    python benchmarks/model_time.py [--model M.onnx ...] [--runs 5000]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def datasets_dir() -> Path:
    env = os.environ.get("INKREC_DATASETS")
    return Path(env) if env else REPO.parent / "shared" / "datasets"


def real_input(meta: dict) -> tuple[np.ndarray, str]:
    """One real drawing as the model's input batch of one, and where it came from."""
    size = int(meta["input"]["size"])
    qd = datasets_dir() / "quickdraw" / "numpy_bitmap" / f"{meta['labels'][0]}.npy"
    if size == 28 and qd.is_file():
        a = np.load(qd, mmap_mode="r", allow_pickle=False)
        return np.asarray(a[-1], dtype=np.float32).reshape(1, 1, 28, 28) / 255.0, f"numpy_bitmap {qd.stem}"
    mnist = datasets_dir() / "mnist" / "t10k-images-idx3-ubyte.gz"
    if size == 28 and mnist.is_file():
        from inkrec.data.idx import load_idx

        return load_idx(mnist)[0].astype(np.float32).reshape(1, 1, 28, 28) / 255.0, "MNIST t10k[0]"
    folder = datasets_dir() / "chinese-mnist"
    if folder.is_dir():
        from inkrec.data.images import decode_image, normalize_ink, to_model_input

        jpg = next(folder.rglob("*.jpg"))
        x = to_model_input(normalize_ink(decode_image(jpg)), size).astype(np.float32) / 255.0
        return x.reshape(1, 1, size, size), f"chinese-mnist {jpg.name}"
    rng = np.random.default_rng(0)
    return rng.random((1, 1, size, size), dtype=np.float32), "random (no data found)"


def time_model(path: str, runs: int, threads: int) -> dict:
    from inkrec.serve.runtime import OnnxModel

    model = OnnxModel(path, intra_op_threads=threads)
    x, source = real_input(model.meta)
    feed = {"input": x}
    run = model.session.run
    out = [model._output]
    for _ in range(min(500, runs)):  # warm-up: allocations, caches, CPU frequency
        run(out, feed)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter_ns()
        run(out, feed)
        times.append(time.perf_counter_ns() - t0)
    ms = np.asarray(times) / 1e6
    return {
        "model": model.id,
        "input": f"{model.size}x{model.size}",
        "drawing": source,
        "params_bytes": Path(path).stat().st_size,
        "runs": runs,
        "intra_op_threads": threads,
        "median_ms": round(float(np.median(ms)), 4),
        "p99_ms": round(float(np.percentile(ms, 99)), 4),
        "mean_ms": round(float(statistics.fmean(ms)), 4),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", action="append", help="default: the bundled models/*.onnx")
    ap.add_argument("--runs", type=int, default=5000)
    ap.add_argument("--threads", type=int, default=1, help="intra-op threads (the server uses 1)")
    ap.add_argument("--out", type=Path, default=REPO / "bench-results" / "model_time.json")
    args = ap.parse_args()
    sys.path.insert(0, str(REPO / "src"))
    from inkrec.serve.runtime import default_model_paths

    models = args.model or [str(p) for p in default_model_paths()]
    if not models:
        raise SystemExit("no models: pass --model MODEL.onnx or put exported models in models/")
    results = [time_model(m, args.runs, args.threads) for m in models]
    print(f"{'model':16} {'input':>7} {'median ms':>10} {'p99 ms':>8} {'mean ms':>8}  target median < 0.2 ms")
    for r in results:
        verdict = "met" if r["median_ms"] < 0.2 else "MISSED"
        print(
            f"{r['model']:16} {r['input']:>7} {r['median_ms']:10.4f} {r['p99_ms']:8.4f} {r['mean_ms']:8.4f}  "
            f"[{verdict}]  ({r['drawing']}, {r['params_bytes'] / 1024:.0f} kB)"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
