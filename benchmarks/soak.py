"""Soak of malformed requests on loopback: the server answers each with a 4xx and its memory stays flat.

A bounded loop (count and time) of hostile requests against `inkrec serve` in a child process: corrupt and
truncated pictures, a decompression-bomb header, a genuine 20000x20000 PNG, oversized JSON (declared and
streamed), NaN coordinates, wrong content types, broken multipart, unknown models, too many points.
The server's RSS is read from /proc before (after a warm-up of the same mix) and after, and again after a
second round: growth beyond a small bound, any 5xx, or a dead server fails the run (exit code 1).

    python benchmarks/soak.py [--requests 3000] [--max-seconds 300] [--model M.onnx ...]
"""

from __future__ import annotations

import argparse
import io
import json
import struct
import sys
import time
import zlib
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from serve_latency import HOST, REPO, default_models, start_inkrec, stop


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_header_only(w: int, h: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", ihdr)
        + _chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + _chunk(b"IEND", b"")
    )


def huge_blank_png(side: int) -> bytes:
    row = b"\0" + b"\xff" * side
    comp = zlib.compressobj(9)
    data = b"".join(comp.compress(row) for _ in range(side)) + comp.flush()
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", data) + _chunk(b"IEND", b"")


def bad_requests() -> list[tuple[str, dict]]:
    buf = io.BytesIO()
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (256, 256), dtype=np.uint8)).save(buf, format="PNG")
    noisy_png = buf.getvalue()
    big_json = b'{"strokes": [' + b"[[1,2],[3,4]]," * 300_000 + b"[[1],[2]]]}"
    js = {"content-type": "application/json"}
    return [
        ("truncated png", dict(files={"file": ("a.png", noisy_png[: len(noisy_png) // 3], "image/png")})),
        ("garbage bytes", dict(files={"file": ("a.png", rng.bytes(5000), "image/png")})),
        ("bomb header", dict(files={"file": ("a.png", png_header_only(20000, 20000), "image/png")})),
        ("real 20000x20000 png", dict(files={"file": ("a.png", huge_blank_png(20000), "image/png")})),
        ("4 MB json", dict(content=big_json, headers=js)),
        (
            "4 MB json streamed",
            dict(
                content=lambda: iter([big_json[i : i + 65536] for i in range(0, len(big_json), 65536)]),
                headers=js,
            ),
        ),
        ("NaN", dict(content=b'{"strokes": [[[NaN, 1], [2, 3]]]}', headers=js)),
        ("Infinity", dict(content=b'{"strokes": [[[1e999, 1], [2, 3]]]}', headers=js)),
        ("broken json", dict(content=b'{"strokes": [[[1,2],[3', headers=js)),
        ("empty drawing", dict(json={"strokes": []})),
        ("ragged stroke", dict(json={"strokes": [[[1, 2, 3], [4, 5]]]})),
        ("too many points", dict(json={"strokes": [[[0.5] * 8000, [0.5] * 8000]] * 5})),
        ("unknown model", dict(json={"model": "nope", "strokes": [[[1, 2], [3, 4]]]})),
        ("wrong content type", dict(content=b"x=1", headers={"content-type": "text/plain"})),
        ("no content type", dict(content=b"{}")),
        (
            "broken multipart",
            dict(
                content=b"--b\r\nContent-Disposition: form-data; name=file\r\n\r\nxx",
                headers={"content-type": "multipart/form-data; boundary=b"},
            ),
        ),
        ("multipart without file", dict(data={"model": "doodles"}, files={"x": ("x", b"1")})),
    ]


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def one_round(client: httpx.Client, cases, n: int, deadline: float, counts: dict) -> int:
    done = 0
    for i in range(n):
        if time.monotonic() > deadline:
            break
        name, kwargs = cases[i % len(cases)]
        kw = dict(kwargs)
        if callable(kw.get("content")):
            kw["content"] = kw["content"]()
        try:
            r = client.post("/v1/predict", **kw)
            key = f"{name}: {r.status_code}"
        except httpx.HTTPError as exc:
            key = f"{name}: {type(exc).__name__}"
        counts[key] = counts.get(key, 0) + 1
        done += 1
    return done


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--requests", type=int, default=3000, help="malformed requests per round (2 rounds)")
    ap.add_argument("--max-seconds", type=float, default=300.0, help="stop a round early after this long")
    ap.add_argument("--max-growth-mb", type=float, default=25.0)
    ap.add_argument("--model", action="append")
    ap.add_argument("--out", type=Path, default=REPO / "bench-results" / "soak.json")
    args = ap.parse_args()
    models = args.model or default_models()
    if not models:
        raise SystemExit("no models: pass --model MODEL.onnx or put exported models in models/")
    cases = bad_requests()
    proc, port = start_inkrec(models)
    url = f"http://{HOST}:{port}"
    try:
        counts: dict[str, int] = {}
        with httpx.Client(base_url=url, timeout=60) as client:
            one_round(client, cases, len(cases) * 5, time.monotonic() + 120, {})  # warm-up: caches, arenas
            rss0 = rss_kb(proc.pid)
            t0 = time.monotonic()
            n1 = one_round(client, cases, args.requests, time.monotonic() + args.max_seconds, counts)
            rss1 = rss_kb(proc.pid)
            n2 = one_round(client, cases, args.requests, time.monotonic() + args.max_seconds, counts)
            rss2 = rss_kb(proc.pid)
            seconds = time.monotonic() - t0
            healthy = client.get("/healthz").status_code == 200
    finally:
        alive = proc.poll() is None
        stop(proc)
    five_xx = {k: v for k, v in counts.items() if k.rsplit(": ", 1)[1].startswith("5") or "Error" in k}
    growth_mb = (rss2 - rss0) / 1024
    result = {
        "requests": n1 + n2,
        "seconds": round(seconds, 1),
        "rss_before_mb": round(rss0 / 1024, 1),
        "rss_after_round1_mb": round(rss1 / 1024, 1),
        "rss_after_round2_mb": round(rss2 / 1024, 1),
        "growth_mb": round(growth_mb, 1),
        "max_growth_mb": args.max_growth_mb,
        "server_alive": alive,
        "healthz_after": healthy,
        "answers": dict(sorted(counts.items())),
        "server_errors": five_xx,
    }
    for key, value in sorted(counts.items()):
        print(f"  {value:6d}  {key}")
    print(
        f"\n{n1 + n2} malformed requests in {seconds:.0f} s; server RSS {rss0 / 1024:.1f} MB -> "
        f"{rss1 / 1024:.1f} MB -> {rss2 / 1024:.1f} MB (growth {growth_mb:+.1f} MB, "
        f"bound {args.max_growth_mb} MB); "
        f"5xx/transport errors: {sum(five_xx.values())}; healthz after: {healthy}"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    ok = alive and healthy and not five_xx and growth_mb <= args.max_growth_mb
    print("PASS" if ok else "FAIL")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
