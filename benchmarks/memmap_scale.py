"""Scale run: iterate a memory-mapped Quick, Draw! numpy_bitmap set of 5 million drawings in bounded memory.

The full data set is 345 categories of ~100k drawings (28x28 uint8 rows, ~27 GB). This script builds a
stand-in of the same layout in a temporary folder by tiling the 18 real category files of
`../shared/datasets/quickdraw/numpy_bitmap` into 345 category files (each a rotated, repeated copy of one
real file, written as a real .npy), opens it with `open_dataset`, and iterates it as training does:
shuffled index batches gathered into one uint8 array each. Every measurement runs in a fresh child process
so that its peak resident set (VmHWM, ru_maxrss) belongs to that pass alone.

Reported per pass: drawings/s (wall clock, and per CPU second of the process, the fairer figure on a
shared machine), open time, peak RSS, and the peaks of its two parts, anonymous memory (arrays the
process allocated) and file-backed memory (mapped pages of the .npy files, which Linux counts in RSS
while they are mapped), plus page faults. Passes:

- `inkrec pread, cold`: the default reader (`os.preadv` per run of rows into the batch, nothing mapped),
  first read from disk (our files' pages dropped from the page cache with posix_fadvise DONTNEED;
  nobody else's cache is touched).
- `inkrec mmap + release, cold`: the other reader (np.take through the memory maps, mapped pages handed
  back every 512 MiB of measured file-backed RSS growth), also from disk.
- `inkrec pread, warm`: the files in the page cache, as in every epoch after the first on a machine
  with RAM for the page cache.
- `one gather per batch`: the warm pass reading each batch separately (what a DataLoader with a batch
  sampler does) instead of many batches per pass over the files.
- `mmap + release, warm` and `no release`: np.take through the maps with and without handing pages
  back: what the bound costs, and why it is needed (without it the whole data set ends up resident).
- `per-item __getitem__`: the naive loader (one `ds[i]` per drawing, then np.stack), the baseline for
  the throughput ratio.

Usage: python benchmarks/memmap_scale.py [--drawings 5000000] [--classes 345] [--batch 1024]
       [--workdir DIR] [--max-seconds 300] [--keep]
The temporary folder is deleted at the end (also on Ctrl-C) unless --keep is given.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = (
    Path(os.environ.get("INKREC_DATASETS", REPO.parent / "shared" / "datasets"))
    / "quickdraw"
    / "numpy_bitmap"
)


# ----------------------------------------------------------------------------------------------- build


def build(real_dir: Path, out_dir: Path, n_drawings: int, n_classes: int) -> tuple[int, int]:
    """Write `n_classes` .npy category files with `n_drawings` rows in all; return (rows, bytes)."""
    from tqdm import tqdm

    from inkrec.data.formats.numpy_bitmap import load_bitmaps

    real_files = sorted(real_dir.glob("*.npy"))
    if not real_files:
        raise SystemExit(f"no .npy files in {real_dir}")
    per_class = math.ceil(n_drawings / n_classes)
    need = n_classes * (per_class * 784 + 128)
    free = shutil.disk_usage(out_dir).free
    if free < need + (2 << 30):
        raise SystemExit(
            f"need {need / 2**30:.1f} GiB + 2 GiB margin in {out_dir}, only {free / 2**30:.1f} GiB free"
        )
    total = 0
    for c in tqdm(range(n_classes), desc="writing tiled .npy files", unit="file"):
        src = real_files[c % len(real_files)]
        real = np.asarray(load_bitmaps(src))
        shift = (c // len(real_files)) * 997  # each copy of a real file starts at a different row
        rows = (np.arange(per_class) + shift) % len(real)
        path = out_dir / f"{src.stem}-{c:03d}.npy"
        with open(path, "wb") as fh:
            np.save(fh, real[rows], allow_pickle=False)
            fh.flush()
            os.fsync(fh.fileno())
        total += per_class
    return total, sum(f.stat().st_size for f in out_dir.glob("*.npy"))


def drop_from_page_cache(folder: Path) -> None:
    """Evict only these files' pages from the page cache (the next read comes from disk)."""
    for f in folder.glob("*.npy"):
        fd = os.open(f, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


# ----------------------------------------------------------------------------------------------- measure


def _status() -> dict[str, int]:
    out = {}
    with open("/proc/self/status") as fh:
        for line in fh:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile", "RssShmem"):
                out[key] = int(value.split()[0]) * 1024
    return out


def measure(folder: Path, mode: str, batch: int, max_seconds: float, max_items: int) -> dict:
    """One pass in this (fresh) process; returns figures as a dict."""
    from inkrec.data.dataset import open_dataset

    t0 = time.perf_counter()
    ds = open_dataset(folder, split="train")
    open_s = time.perf_counter() - t0
    if mode in ("cold-mmap", "mmap", "no-release"):
        ds._source.read_mode = "mmap"
    if mode == "no-release":
        ds.page_budget = 1 << 62
    if mode == "batchwise":
        ds.gather_bytes = 0  # one gather per batch
    peak_anon = peak_file = 0
    seen = 0
    counts = np.zeros(len(ds.classes), dtype=np.int64)
    checksum = 0
    t0 = time.perf_counter()
    c0 = time.process_time()
    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    if mode == "per-item":
        order = np.random.default_rng(0).permutation(len(ds))[:max_items]
        for lo in range(0, len(order), batch):
            x = np.stack([ds[int(i)][0] for i in order[lo : lo + batch]])
            checksum += int(x[:, 14, 14].sum())
            seen += len(x)
            if (lo // batch) % 20 == 0:
                st = _status()
                peak_anon, peak_file = max(peak_anon, st["RssAnon"]), max(peak_file, st["RssFile"])
            if time.perf_counter() - t0 > max_seconds:
                break
    else:
        for k, (x, y) in enumerate(ds.iter_batches(batch, shuffle=True, seed=0)):
            counts += np.bincount(y, minlength=len(ds.classes))
            checksum += int(x[:, 14, 14].sum())
            seen += len(x)
            if k % 20 == 0:
                st = _status()
                peak_anon, peak_file = max(peak_anon, st["RssAnon"]), max(peak_file, st["RssFile"])
            if time.perf_counter() - t0 > max_seconds:
                break
    seconds = time.perf_counter() - t0
    cpu_seconds = time.process_time() - c0
    ru = resource.getrusage(resource.RUSAGE_SELF)
    st = _status()
    peak_anon, peak_file = max(peak_anon, st["RssAnon"]), max(peak_file, st["RssFile"])
    return {
        "mode": mode,
        "train_size": len(ds),
        "classes": len(ds.classes),
        "open_s": open_s,
        "seen": seen,
        "seconds": seconds,
        "per_s": seen / seconds,
        "read_mode": ds._source.read_mode,
        "cpu_s": cpu_seconds,
        "per_cpu_s": seen / cpu_seconds,
        "complete_epoch": bool(seen == len(ds) and np.array_equal(counts, ds.class_counts())),
        "vm_hwm": st["VmHWM"],
        "ru_maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "peak_anon": peak_anon,
        "peak_file": peak_file,
        "checksum": checksum,
        "user_s": ru.ru_utime - ru0.ru_utime,
        "sys_s": ru.ru_stime - ru0.ru_stime,
        "major_faults": ru.ru_majflt - ru0.ru_majflt,
        "minor_faults": ru.ru_minflt - ru0.ru_minflt,
    }


def run_child(folder: Path, mode: str, args) -> dict:
    cmd = [
        sys.executable,
        __file__,
        "--measure",
        str(folder),
        "--mode",
        mode,
        "--batch",
        str(args.batch),
        "--max-seconds",
        str(args.max_seconds),
        "--max-items",
        str(args.per_item_drawings),
    ]
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise SystemExit(f"measurement {mode} failed:\n{res.stderr}")
    return json.loads(res.stdout.strip().splitlines()[-1])


# ----------------------------------------------------------------------------------------------- main


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder of real numpy_bitmap .npy files")
    ap.add_argument("--drawings", type=int, default=5_000_000)
    ap.add_argument("--classes", type=int, default=345)
    ap.add_argument("--batch", type=int, default=1024)
    ap.add_argument("--workdir", type=Path, default=None, help="where to create the temporary folder")
    ap.add_argument("--max-seconds", type=float, default=600.0, help="stop a pass after this long")
    ap.add_argument(
        "--per-item-drawings", type=int, default=200_000, help="drawings for the per-item baseline"
    )
    ap.add_argument("--skip-cold", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the tiled files")
    ap.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--mode", default="warm", help=argparse.SUPPRESS)
    ap.add_argument("--max-items", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.measure:
        print(json.dumps(measure(args.measure, args.mode, args.batch, args.max_seconds, args.max_items)))
        return

    tmp = Path(tempfile.mkdtemp(prefix="inkrec-memmap-scale-", dir=args.workdir))
    try:
        t0 = time.perf_counter()
        rows, nbytes = build(args.data, tmp, args.drawings, args.classes)
        build_s = time.perf_counter() - t0
        print(
            f"built {rows:,} drawings in {args.classes} files, {nbytes / 2**30:.2f} GiB, in {build_s:.0f} s: {tmp}"
        )
        results = []
        if not args.skip_cold:
            drop_from_page_cache(tmp)
            results.append(("inkrec pread, cold (from disk)", run_child(tmp, "cold", args)))
            drop_from_page_cache(tmp)
            results.append(("inkrec mmap + release, cold (from disk)", run_child(tmp, "cold-mmap", args)))
        results.append(("inkrec pread, warm (page cache)", run_child(tmp, "warm", args)))
        results.append(("inkrec pread, warm, one gather per batch", run_child(tmp, "batchwise", args)))
        results.append(("inkrec mmap + release, warm", run_child(tmp, "mmap", args)))
        results.append(("np.take on the memmaps, no release, warm", run_child(tmp, "no-release", args)))
        results.append(("per-item __getitem__ (baseline)", run_child(tmp, "per-item", args)))
        print_table(results, args, rows, nbytes)
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def print_table(results, args, rows: int, nbytes: int) -> None:
    from rich.console import Console
    from rich.table import Table

    gib = 2**30
    mib = 2**20
    base = next(r for name, r in results if r["mode"] == "per-item")["per_cpu_s"]
    table = Table(
        title=f"memmap scale: {rows:,} drawings ({nbytes / gib:.2f} GiB of .npy), {args.classes} classes, "
        f"standard train split, shuffled batches of {args.batch}"
    )
    cols = ("pass", "drawings", "full epoch", "drawings/s", "per CPU s", "x baseline (CPU)", "open s",
            "peak RSS (VmHWM)", "ru_maxrss", "peak anon", "peak file-backed", "faults / 1k drawings")  # fmt: skip
    for col in cols:
        table.add_column(col, justify="left" if col == "pass" else "right")
    for name, r in results:
        table.add_row(
            name,
            f"{r['seen']:,}",
            "yes" if r["complete_epoch"] else "no",
            f"{r['per_s']:,.0f}",
            f"{r['per_cpu_s']:,.0f}",
            f"{r['per_cpu_s'] / base:.1f}",
            f"{r['open_s']:.2f}",
            f"{r['vm_hwm'] / mib:,.0f} MiB",
            f"{r['ru_maxrss'] / mib:,.0f} MiB",
            f"{r['peak_anon'] / mib:,.0f} MiB",
            f"{r['peak_file'] / mib:,.0f} MiB",
            f"{1000 * (r['minor_faults'] + r['major_faults']) / r['seen']:,.0f}",
        )
    Console(width=220).print(table)
    load = os.getloadavg()
    print(
        f"drawings/s is wall-clock; 'per CPU s' divides by this process's CPU time, the fairer figure on a "
        f"shared machine (load average now {load[0]:.1f} on {os.cpu_count()} cores)."
    )
    worst = max(r["vm_hwm"] for _, r in results if r["mode"] not in ("no-release",))
    print(
        f"peak RSS of the inkrec passes: {worst / gib:.2f} GiB (bound: 1.5 GiB) -> {'OK' if worst < 1.5 * gib else 'OVER'}"
    )


if __name__ == "__main__":
    main()
