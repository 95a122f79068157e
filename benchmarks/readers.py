"""Reader throughput on the real files, each next to a plain baseline measured in the same run.

| reader | baseline |
|---|---|
| `iter_ndjson` (validated Drawing objects) on simplified and raw | `json.loads` per line, nothing checked |
| `iter_binary` on the same drawings written by `write_binary` | `struct.unpack` per field, as binary_file_parser.py |
| `ndjson_offsets` + `read_ndjson_at` (random access) | - |
| `load_idx` on MNIST t10k (gz, and uncompressed memory-mapped) | `gzip.open` + `np.frombuffer` |
| `ImageFolder` + `decode_image` on Chinese MNIST JPEGs | `PIL.Image.open(...).convert("L")` |
| the upload path: decode + `normalize_ink` + `to_model_input`, 64x64 JPEG and 2000x1500 photo | - |

Usage: python benchmarks/readers.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import struct
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("INKREC_DATASETS", REPO.parent / "shared" / "datasets"))
sys.path.insert(0, str(REPO / "src"))

from inkrec.data.formats.binary import iter_binary, write_binary
from inkrec.data.formats.idx import load_idx
from inkrec.data.formats.image_folder import ImageFolder
from inkrec.data.formats.ndjson import iter_ndjson, ndjson_offsets, read_ndjson_at
from inkrec.preprocess.pictures import decode_image, normalize_ink, to_model_input


def best_of(fn, repeat: int) -> tuple[float, int]:
    """(best seconds, items) over `repeat` runs of fn() -> items."""
    best, n = float("inf"), 0
    for _ in range(repeat):
        t = time.perf_counter()
        n = fn()
        best = min(best, time.perf_counter() - t)
    return best, n


def json_baseline(files):
    n = 0
    for f in files:
        with open(f, "rb") as fh:
            for line in fh:
                json.loads(line)
                n += 1
    return n


def struct_baseline(path: Path) -> int:
    """binary_file_parser.py's unpack_drawing loop."""
    n = 0
    with open(path, "rb") as fh:
        while True:
            head = fh.read(8)
            if not head:
                return n
            struct.unpack("Q", head)
            struct.unpack("2s", fh.read(2))
            struct.unpack("b", fh.read(1))
            struct.unpack("I", fh.read(4))
            (n_strokes,) = struct.unpack("H", fh.read(2))
            for _ in range(n_strokes):
                (n_points,) = struct.unpack("H", fh.read(2))
                fmt = str(n_points) + "B"
                struct.unpack(fmt, fh.read(n_points))
                struct.unpack(fmt, fh.read(n_points))
            n += 1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    rows: list[tuple[str, float, float | None, str]] = []

    def add(name, ours, base, unit):
        (t, n), ratio = ours, None
        if base is not None:
            tb, nb = base
            ratio = (n / t) / (nb / tb)
        rows.append((name, n / t, ratio, unit))

    qd = DATA / "quickdraw"
    for kind in ("simplified", "raw"):
        files = sorted((qd / kind).glob("*.ndjson"))
        ours = best_of(lambda files=files: sum(1 for f in files for _ in iter_ndjson(f)), args.repeat)
        add(
            f"iter_ndjson {kind} ({len(files)} files)",
            ours,
            best_of(lambda files=files: json_baseline(files), args.repeat),
            "drawings/s",
        )

    with tempfile.TemporaryDirectory() as tmp:
        drawings = [d for f in sorted((qd / "simplified").glob("*.ndjson")) for d in iter_ndjson(f)]
        binf = Path(tmp) / "all.bin"
        write_binary(binf, drawings)
        ours = best_of(lambda: sum(1 for _ in iter_binary(binf)), args.repeat)
        add(
            f"iter_binary ({len(drawings)} drawings)",
            ours,
            best_of(lambda: struct_baseline(binf), args.repeat),
            "drawings/s",
        )

    raw = qd / "raw" / "cat.ndjson"
    offs = ndjson_offsets(raw)
    rng = np.random.default_rng(0)
    picks = rng.choice(offs, size=2000)
    add(
        "read_ndjson_at raw/cat (random)",
        best_of(lambda: len(read_ndjson_at(raw, picks)), args.repeat),
        None,
        "drawings/s",
    )

    gz = DATA / "mnist" / "t10k-images-idx3-ubyte.gz"

    def naive_idx():
        with gzip.open(gz) as fh:
            data = fh.read()
        return len(np.frombuffer(data, np.uint8, offset=16).reshape(-1, 28, 28))

    add(
        "load_idx t10k .gz",
        best_of(lambda: len(load_idx(gz)), args.repeat),
        best_of(naive_idx, args.repeat),
        "images/s",
    )
    with tempfile.TemporaryDirectory() as tmp:
        plain = Path(tmp) / "t10k-images-idx3-ubyte"
        plain.write_bytes(gzip.decompress(gz.read_bytes()))
        add(
            "load_idx t10k uncompressed + touch all",
            best_of(lambda: int(np.asarray(load_idx(plain)).sum() >= 0) * 10000, args.repeat),
            best_of(naive_idx, args.repeat),
            "images/s",
        )

    folder = ImageFolder(DATA / "chinese-mnist")
    sub = range(0, len(folder), 6)
    ours = best_of(lambda: sum(1 for i in sub if folder.load(i) is not None), args.repeat)
    base = best_of(
        lambda: sum(
            1
            for i in sub
            if np.asarray(Image.open(folder.path / folder.samples[i][0]).convert("L")) is not None
        ),
        args.repeat,
    )
    add(f"ImageFolder.load chinese-mnist ({len(sub)} JPEGs)", ours, base, "images/s")
    jpg = (folder.path / folder.samples[0][0]).read_bytes()
    add(
        "upload path 64x64 JPEG -> 28x28",
        best_of(
            lambda: sum(
                1 for _ in range(300) if to_model_input(normalize_ink(decode_image(jpg)), 28) is not None
            ),
            args.repeat,
        ),
        None,
        "images/s",
    )
    photo = Image.fromarray(decode_image(jpg)).resize((2000, 1500))
    buf = io.BytesIO()
    photo.save(buf, "JPEG", quality=85)
    big = buf.getvalue()
    add(
        "upload path 2000x1500 JPEG photo -> 28x28",
        best_of(
            lambda: sum(
                1
                for _ in range(10)
                if to_model_input(normalize_ink(decode_image(big, max_side=1024)), 28) is not None
            ),
            args.repeat,
        ),
        None,
        "images/s",
    )

    width = max(len(r[0]) for r in rows)
    print(f"{'reader'.ljust(width)}  {'throughput':>14}  {'vs baseline':>11}")
    for name, rate, ratio, unit in rows:
        r = f"{ratio:.2f}x" if ratio is not None else "-"
        print(f"{name.ljust(width)}  {rate:>10,.0f} {unit:<10}  {r:>11}")


if __name__ == "__main__":
    main()
