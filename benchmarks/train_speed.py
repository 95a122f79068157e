"""Training speed on the 18-category Quick, Draw! numpy_bitmap set: samples/s of `seed-cnn` and `inknet`.

Every figure is measured in this one run, so ratios hold even on a busy machine:

- plain PyTorch: what a course user writes first: float32 TensorDataset + DataLoader(shuffle=True,
  batch 256), Adam, NCHW, eager, torch's default thread count;
- inkrec variants, through inkrec's own batch pipeline (one uint8 tensor, index batches, float
  conversion per batch): eager NCHW, channels-last, torch.compile, bfloat16 autocast (CPUs with
  AVX-512 BF16 / AMX), combinations, each at 1 and 2 threads;
- optionally (`--keras`, needs the `bench` extra) the course Keras CNN's `fit` on the same samples,
  epochs after the first (graph tracing excluded), in its own process.

Each (model, threads) pair runs in a fresh process; variants inside it are measured in interleaved
rounds, and with `--repeat` all processes (Keras included) run again in turn; medians are reported.

    python benchmarks/train_speed.py [--models seed-cnn,inknet] [--threads 1,2] [--steps 30] [--rounds 3] [--repeat 1]
                                     [--variants ...] [--keras] [--data DIR] [--out bench-results]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VARIANTS = ("plain", "eager", "channels-last", "bf16", "bf16+channels-last", "compile", "compile+bf16")
BATCH = 256


def datasets_dir(arg: str | None) -> Path:
    if arg:
        return Path(arg)
    env = os.environ.get("INKREC_DATASETS")
    return Path(env) if env else REPO.parent / "shared" / "datasets"


def load_train(data: Path):
    from inkrec.data.dataset import open_dataset

    ds = open_dataset(data, split="train", progress=False)
    return ds.bitmaps(), ds.labels.copy(), len(ds.classes)


# ------------------------------------------------------------------------------------ one process


def _plain_runner(model_name: str, x_u8, y, n_classes: int):
    """The straightforward PyTorch loop: float dataset, DataLoader, Adam, eager NCHW."""
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    from inkrec.models import create_model

    ds = TensorDataset(torch.from_numpy(x_u8).float().div(255).unsqueeze(1), torch.from_numpy(y))
    loader = DataLoader(ds, batch_size=BATCH, shuffle=True)
    model = create_model(model_name, n_classes)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    it = iter(loader)

    def step() -> int:
        nonlocal it
        try:
            xb, yb = next(it)
        except StopIteration:
            it = iter(loader)
            xb, yb = next(it)
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(xb), yb)
        loss.backward()
        opt.step()
        return len(yb)

    return step


def _inkrec_runner(model_name: str, variant: str, x_u8, y, n_classes: int):
    """inkrec's training step (as in inkrec.train.loop) with the variant's settings."""
    import numpy as np
    import torch
    import torch.nn.functional as F

    from inkrec.models import create_model
    from inkrec.train import perf
    from inkrec.train.data import MemoryBitmaps
    from inkrec.train.loop import Batches, param_groups

    cl = "channels-last" in variant or variant == "compile" or variant == "compile+bf16"
    dtype = torch.bfloat16 if "bf16" in variant else None
    device = torch.device("cpu")
    source = MemoryBitmaps(x_u8, y)
    feed = Batches(source, device, cl)
    model = create_model(model_name, n_classes)
    if cl:
        model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(param_groups(model, 0.05), lr=1e-3)
    labels = torch.from_numpy(source.labels)
    rng = np.random.default_rng(0)
    fmodel = model
    if variant.startswith("compile"):
        example = feed.model_inputs(source.inputs(np.arange(BATCH), 0.0, rng), 0.0, None)
        fmodel, ok = perf.compile_model(model, "on", example, device, dtype)
        if not ok:
            return None

    def step() -> int:
        idx = rng.integers(0, len(source), BATCH)
        (x,) = feed.model_inputs(source.inputs(idx, 0.0, rng), 0.0, None)
        with perf.autocast(device, dtype):
            logits = fmodel(x)
        loss = F.cross_entropy(logits.float(), labels[idx], label_smoothing=0.1)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return BATCH

    return step


def measure_in_process(args_json: str) -> None:
    """Child process: one model at one thread count, all variants, interleaved rounds; prints JSON."""
    a = json.loads(args_json)
    import torch

    from inkrec.train import perf

    threads = a["threads"]
    x_u8, y, n_classes = load_train(Path(a["data"]))
    results: dict[str, list[float]] = {}
    warmup: dict[str, float] = {}
    runners = {}
    for v in a["variants"]:
        if v == "plain":
            torch.set_num_threads(a["default_threads"])
            t0 = time.perf_counter()
            runners[v] = _plain_runner(a["model"], x_u8, y, n_classes)
        else:
            torch.set_num_threads(threads)
            if "bf16" in v and not perf.cpu_bf16_supported():
                continue
            t0 = time.perf_counter()
            runners[v] = _inkrec_runner(a["model"], v, x_u8, y, n_classes)
        if runners[v] is None:
            del runners[v]
            continue
        for _ in range(3):
            runners[v]()
        warmup[v] = time.perf_counter() - t0
    for _ in range(a["rounds"]):
        for v, step in runners.items():
            torch.set_num_threads(a["default_threads"] if v == "plain" else threads)
            n = 0
            t0 = time.perf_counter()
            for _ in range(a["steps"]):
                n += step()
            results.setdefault(v, []).append(n / (time.perf_counter() - t0))
    print(json.dumps({"model": a["model"], "threads": threads,
                      "default_threads": a["default_threads"],
                      "samples_per_s": {v: statistics.median(r) for v, r in results.items()},
                      "all": results, "warmup_s": warmup}))


def keras_in_process(args_json: str) -> None:
    """Child process: the course Keras CNN's fit() on the same training samples; epochs 2+ timed."""
    a = json.loads(args_json)
    sys.path.insert(0, str(REPO / "benchmarks"))
    import keras
    import numpy as np
    from course_keras import build_course_cnn

    x_u8, y, n_classes = load_train(Path(a["data"]))
    n = min(len(x_u8), a["samples"])
    order = np.random.default_rng(0).permutation(len(x_u8))[:n]
    x = x_u8[order][..., None].astype("float32")
    yy = y[order]
    keras.utils.set_random_seed(0)
    model = build_course_cnn(n_classes, x.shape[1])
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    times: list[float] = []

    class Clock(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t0 = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.t0)

    model.fit(x, yy, batch_size=BATCH, epochs=a["epochs"], verbose=0, callbacks=[Clock()])
    rates = [n / t for t in times[1:]] or [n / times[0]]
    import tensorflow as tf

    print(json.dumps({"model": "keras course CNN", "samples_per_s": statistics.median(rates), "epochs": times,
                      "tensorflow": tf.__version__, "threads": "tensorflow default"}))


def _child(kind: str, payload: dict) -> dict:
    cmd = [sys.executable, __file__, f"--child-{kind}", json.dumps(payload)]
    r = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    lines = [l for l in r.stdout.splitlines() if l.startswith("{")]
    if r.returncode != 0 or not lines:
        raise RuntimeError(f"{kind} measurement failed:\n{r.stderr[-3000:]}")
    return json.loads(lines[-1])


# ------------------------------------------------------------------------------------------- main


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=None, help="datasets folder (default ../shared/datasets)")
    p.add_argument("--models", default="seed-cnn,inknet")
    p.add_argument("--threads", default="1,2")
    p.add_argument("--variants", default=",".join(VARIANTS))
    p.add_argument("--steps", type=int, default=30, help="training steps of 256 per measurement")
    p.add_argument("--rounds", type=int, default=3, help="measurement rounds inside each process")
    p.add_argument("--repeat", type=int, default=1, help="repeat every process (and Keras), interleaved")
    p.add_argument("--keras", action="store_true", help="also time the course Keras CNN (bench extra)")
    p.add_argument("--keras-epochs", type=int, default=3)
    p.add_argument("--out", default=str(REPO / "bench-results"))
    p.add_argument("--child-measure", default=None, help=argparse.SUPPRESS)
    p.add_argument("--child-keras", default=None, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.child_measure:
        return measure_in_process(a.child_measure)
    if a.child_keras:
        return keras_in_process(a.child_keras)

    import torch
    from rich.console import Console
    from rich.table import Table

    data = datasets_dir(a.data) / "quickdraw" / "numpy_bitmap"
    default_threads = torch.get_num_threads()
    variants = [v.strip() for v in a.variants.split(",") if v.strip()]
    pairs = [(m.strip(), int(t)) for m in a.models.split(",") for t in a.threads.split(",")]
    first_threads = int(a.threads.split(",")[0])
    per_pair: dict[tuple, list[dict]] = {}
    keras_runs: list[dict] = []
    # Repeats interleave every process (and Keras), so a load change on a shared machine hits all alike.
    for rep in range(a.repeat):
        for model, threads in pairs:
            # the plain baseline runs at torch's default thread count: measure it once per model
            vs = [v for v in variants if v != "plain" or threads == first_threads]
            print(f"[{rep + 1}/{a.repeat}] {model} at {threads} thread(s): {', '.join(vs)} ...", flush=True)
            per_pair.setdefault((model, threads), []).append(_child("measure", {
                "model": model, "threads": threads, "variants": vs, "steps": a.steps, "rounds": a.rounds,
                "data": str(data), "default_threads": default_threads}))
        if a.keras:
            print(f"[{rep + 1}/{a.repeat}] the course Keras CNN ...", flush=True)
            keras_runs.append(_child("keras", {"data": str(data), "epochs": a.keras_epochs, "samples": 10**9}))
    rows = []
    for (model, threads), runs in per_pair.items():
        merged = {v: statistics.median([r["samples_per_s"][v] for r in runs if v in r["samples_per_s"]])
                  for v in runs[0]["samples_per_s"]}
        rows.append({**runs[0], "samples_per_s": merged, "repeats": [r["samples_per_s"] for r in runs]})
    keras_row = None
    if keras_runs:
        keras_row = {**keras_runs[0], "samples_per_s": statistics.median(k["samples_per_s"] for k in keras_runs),
                     "repeats": [k["samples_per_s"] for k in keras_runs]}

    table = Table(title=f"training samples/s, batch {BATCH}, 18-category Quick, Draw! ({os.cpu_count()} CPUs)")
    for col in ("model", "variant", "threads", "samples/s", "x plain PyTorch", "x Keras"):
        table.add_column(col, justify="left" if col in ("model", "variant") else "right")
    plain = {}
    for r in rows:
        if "plain" in r["samples_per_s"]:
            plain[r["model"]] = r["samples_per_s"]["plain"]
    kps = keras_row["samples_per_s"] if keras_row else None
    if keras_row:
        table.add_row("seed-cnn (Keras)", "course fit()", "TF default", f"{kps:,.0f}",
                      f"{kps / plain['seed-cnn']:.2f}" if "seed-cnn" in plain else "-", "1.00")
    flat = []
    for r in rows:
        for v, sps in r["samples_per_s"].items():
            threads = r["default_threads"] if v == "plain" else r["threads"]
            flat.append({"model": r["model"], "variant": v, "threads": threads, "samples_per_s": sps,
                         "vs_plain": sps / plain[r["model"]] if r["model"] in plain else None,
                         "vs_keras": sps / kps if kps and r["model"] == "seed-cnn" else None})
    for f in flat:
        table.add_row(f["model"], f["variant"], str(f["threads"]), f"{f['samples_per_s']:,.0f}",
                      f"{f['vs_plain']:.2f}" if f["vs_plain"] else "-",
                      f"{f['vs_keras']:.2f}" if f["vs_keras"] else "-")
    Console().print(table)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / "train_speed.json.tmp"
    tmp.write_text(json.dumps({"rows": flat, "raw": rows, "keras": keras_row, "torch": torch.__version__},
                              indent=2))
    os.replace(tmp, out / "train_speed.json")
    print(f"written: {out / 'train_speed.json'}")


if __name__ == "__main__":
    main()
