"""Kill `inkrec train` with SIGKILL at random moments, resume it each time, and check that it ends exactly
where a run that was never interrupted ends.

A small real run (a few hundred Quick, Draw! drawings of three categories, a few epochs, one thread, untracked)
is trained once without interruption. Then the same command plus `--resume` is started again and again, each
time killed (SIGKILL: no handler, no cleanup, as the kernel's out-of-memory killer or a pulled plug would)
after a random delay drawn over start-up, data loading, the epochs, the checkpoint writes and the final
files. After every kill the run directory is checked: every file in it must parse (JSON, PNG) and every
checkpoint must load with `torch.load(..., weights_only=True)`; nothing half-written may be left. After the
last kill the run is resumed to its end, and its best.pt and last.pt state dicts, its optimizer state and its
metrics (all but wall-clock timings) must be bit-identical to the uninterrupted run's.

    python benchmarks/train_kill.py                 # 20 kills, ~3 minutes on 2 cores
    python benchmarks/train_kill.py --kills 5 --seed 3 --keep runs/kill-check

Prints where each kill landed and a summary; exits 1 if any check failed.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import torch
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "datasets" / "quickdraw" / "numpy_bitmap"
TIMING_KEYS = {"seconds", "samples_per_s", "train_seconds", "wall_seconds"}


def train_args(data: Path, out: Path, epochs: int) -> list[str]:
    return [
        str(Path(sys.executable).parent / "inkrec"), "train", "--data", str(data), "--out", str(out),
        "--model", "inknet", "--model-arg", "width=16", "--classes", "apple,banana,clock,fish", "--max-per-class", "150",
        "--epochs", str(epochs), "--batch-size", "32", "--threads", "1", "--augment", "light", "--patience", "0",
        "--seed", "0", "--no-track", "--quiet",
    ]


def one_life(cmd: list[str], rng: random.Random, timing: dict):
    """Start `cmd` and SIGKILL it at a random moment: a quarter of the time anywhere in start-up (imports, data
    loading, reading last.pt); otherwise, once it says it starts training, at a random point of the epoch it
    is in or (half of those) of the one after, checkpoint writes and the final scoring and files included.
    Timed against the run's own epoch lines, so a busy machine does not shift where the kills land.
    Returns (process, "killed" | "ended")."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    t0 = time.perf_counter()
    started = threading.Event()
    epoch_lines: list[float] = []

    def watch() -> None:
        for line in proc.stdout:
            if line.startswith((b"resuming ", b"nothing to resume")):
                started.set()
            elif line.startswith(b"epoch "):
                epoch_lines.append(time.perf_counter())
        started.set()  # the process ended

    threading.Thread(target=watch, daemon=True).start()
    proc.mode = "start-up" if rng.random() < 0.25 else "training"
    if proc.mode == "start-up":
        deadline = t0 + rng.uniform(0.0, timing["startup"])
    else:
        started.wait(timeout=600)
        window = timing["epoch"]
        if rng.random() < 0.5:  # let one epoch finish first, and time an epoch on this machine now
            begun = time.perf_counter()
            while not epoch_lines and proc.poll() is None:
                time.sleep(0.005)
            if epoch_lines:
                window = epoch_lines[0] - begun
        deadline = time.perf_counter() + rng.uniform(0.0, 1.2 * window)
    try:
        proc.wait(timeout=max(0.0, deadline - time.perf_counter()))
        return proc, "ended"
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.after_s = round(time.perf_counter() - t0, 2)
        return proc, "killed"


def check_run_dir(out: Path) -> tuple[list[str], dict]:
    """Problems found in a run directory (empty: sound) and what it holds (epoch of last.pt, finished)."""
    problems, state = [], {"last_epoch": None, "best_epoch": None, "finished": False, "files": [], "litter": []}
    if not out.exists():
        return problems, state
    for path in sorted(out.iterdir()):
        state["files"].append(path.name)
        try:
            if path.name.endswith(".tmp") and path.name.startswith("."):
                state["litter"].append(path.name)  # an atomic write cut short: the next start removes it
            elif path.suffix == ".json":
                json.loads(path.read_text(encoding="utf-8"))
            elif path.suffix == ".png":
                with Image.open(path) as img:
                    img.verify()
            elif path.suffix == ".pt":
                ckpt = torch.load(path, map_location="cpu", weights_only=True)
                if not isinstance(ckpt, dict) or "state_dict" not in ckpt:
                    problems.append(f"{path.name}: not a checkpoint")
                elif path.name == "last.pt":
                    state["last_epoch"] = int(ckpt["epoch"])
                elif path.name == "best.pt":
                    state["best_epoch"] = int((ckpt.get("metrics") or {}).get("best_epoch") or 0)
            else:
                problems.append(f"unexpected file {path.name}")
        except Exception as exc:  # noqa: BLE001 - any failure to read is what we look for
            problems.append(f"{path.name}: {type(exc).__name__}: {exc}")
    state["finished"] = (out / "metrics.json").is_file()
    return problems, state


def landing(before: dict, after: dict, epochs: int, mode: str) -> str:
    """Where a kill landed, from the run directory before and after that life."""
    if before["finished"]:
        return "after the end (re-writing the final files)"
    if after["last_epoch"] is not None and after["last_epoch"] >= epochs:
        return "finishing (test scoring, best.pt, metrics.json, curve)"
    if mode == "start-up" and after["last_epoch"] == before["last_epoch"]:
        return "start-up (imports, data loading, reading last.pt)"
    epoch = (after["last_epoch"] or 0) + 1
    return f"writing epoch {epoch}'s checkpoints" if after["litter"] else f"epoch {epoch}"


def strip_timings(obj):
    if isinstance(obj, dict):
        return {k: strip_timings(v) for k, v in obj.items() if k not in TIMING_KEYS}
    if isinstance(obj, list):
        return [strip_timings(v) for v in obj]
    return obj


def same_tensors(a, b) -> bool:
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same_tensors(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return isinstance(b, (list, tuple)) and len(a) == len(b) and all(same_tensors(x, y) for x, y in zip(a, b))
    return a == b


def compare(ref: Path, got: Path) -> list[str]:
    """Differences between the uninterrupted run and the killed-and-resumed one (empty: identical)."""
    diffs = []
    for name in ("best.pt", "last.pt"):
        a = torch.load(ref / name, weights_only=True)
        b = torch.load(got / name, weights_only=True)
        if not same_tensors(a["state_dict"], b["state_dict"]):
            diffs.append(f"{name}: state dicts differ")
        if name == "last.pt":
            for key in ("optimizer", "scheduler", "early_stopping", "best_state_dict", "epoch"):
                if not same_tensors(a[key], b[key]):
                    diffs.append(f"last.pt: {key} differs")
            if not same_tensors(a["rng"], b["rng"]):
                diffs.append("last.pt: random-number-generator states differ")
            if strip_timings(a["history"]) != strip_timings(b["history"]):
                diffs.append("last.pt: history differs")
        else:
            if strip_timings(a["metrics"]) != strip_timings(b["metrics"]):
                diffs.append("best.pt: metrics differ")
    ma = strip_timings(json.loads((ref / "metrics.json").read_text()))
    mb = strip_timings(json.loads((got / "metrics.json").read_text()))
    ma.pop("environment", None)
    mb.pop("environment", None)
    if ma != mb:
        diffs.append("metrics.json differs (timings left out)")
    return diffs


def run_to_end(cmd: list[str], timeout: float = 600) -> float:
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise SystemExit(f"training failed ({r.returncode}):\n{r.stderr[-3000:]}")
    return time.perf_counter() - t0


def timed_reference(cmd: list[str], out: Path, timeout: float = 600) -> dict:
    """Run to the end, noting when each epoch's last.pt appeared: start-up and epoch times for the kills."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    seen, stamps = None, []
    while proc.poll() is None and time.perf_counter() - t0 < timeout:
        last = out / "last.pt"
        if last.is_file() and last.stat().st_mtime_ns != seen:
            seen = last.stat().st_mtime_ns
            stamps.append(time.perf_counter() - t0)
        time.sleep(0.01)
    if proc.wait() != 0:
        raise SystemExit(f"training failed ({proc.returncode}):\n{proc.stderr.read().decode()[-3000:]}")
    total = time.perf_counter() - t0
    epoch = (stamps[-1] - stamps[0]) / max(1, len(stamps) - 1) if len(stamps) > 1 else total / 2
    return {"total": total, "epoch": epoch, "startup": max(0.1, stamps[0] - epoch) if stamps else total / 2}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0, help="seed of the kill moments")
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--keep", type=Path, help="keep the two run directories here")
    args = ap.parse_args(argv)
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="train-kill-"))
    ref, killed = work / "uninterrupted", work / "killed"
    try:
        timing = timed_reference(train_args(args.data, ref, args.epochs), ref)
        print(f"uninterrupted run: {timing['total']:.1f} s wall, of which start-up (imports, data) "
              f"~{timing['startup']:.1f} s and ~{timing['epoch']:.2f} s an epoch; {args.epochs} epochs")
        cmd = [*train_args(args.data, killed, args.epochs), "--resume"]
        landed: list[dict] = []
        failures: list[str] = []
        lives = 0
        while len(landed) < args.kills:
            lives += 1
            _, before = check_run_dir(killed)
            proc, outcome = one_life(cmd, rng, timing)
            if outcome == "killed":
                problems, after = check_run_dir(killed)
                event = {
                    "kill": len(landed) + 1, "after_s": proc.after_s,
                    "last_epoch_before": before["last_epoch"], "last_epoch_after": after["last_epoch"],
                    "finished_before": before["finished"], "problems": problems, "litter": after["litter"],
                }
                landed.append(event)
                if problems:
                    failures.extend(f"kill {event['kill']}: {p}" for p in problems)
                where = landing(before, after, args.epochs, proc.mode)
                event["where"] = where
                litter = f" (cut an atomic write short: {', '.join(after['litter'])})" if after["litter"] else ""
                print(f"kill {event['kill']:2d} at {event['after_s']:5.2f} s: {where}; "
                      f"run directory {'sound' if not problems else 'BROKEN: ' + '; '.join(problems)}{litter}",
                      flush=True)
                continue
            if proc.returncode != 0:
                failures.append(f"life {lives}: exited {proc.returncode}: {proc.stderr.read().decode()[-2000:]}")
                break
            print(f"life {lives}: ran to its end before its kill", flush=True)
        resumes = lives
        run_to_end(cmd)
        problems, final = check_run_dir(killed)
        failures.extend(f"final: {p}" for p in problems)
        failures.extend(f"final: left-over temporary file {name}" for name in final["litter"])
        diffs = compare(ref, killed) if not problems else ["not compared: the run directory is broken"]
        failures.extend(diffs)
        phases = {}
        for e in landed:
            phases[e["where"]] = phases.get(e["where"], 0) + 1
        print()
        print(f"kills: {len(landed)}; resumes: {resumes + 1} (the last one ran to the end)")
        print("where they landed: " + ", ".join(f"{k}: {v}" for k, v in phases.items()))
        print(f"run directory sound after every kill: {'yes' if not any(e['problems'] for e in landed) else 'no'}"
              f"; kills that cut an atomic write short: {sum(bool(e['litter']) for e in landed)}")
        print(f"bit-identical to the uninterrupted run (best.pt, last.pt, metrics): {'yes' if not diffs else 'no'}")
        for f in failures:
            print(f"FAILED: {f}")
        return 1 if failures else 0
    finally:
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            for d in (ref, killed):
                if d.exists():
                    shutil.copytree(d, args.keep / d.name, dirs_exist_ok=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
