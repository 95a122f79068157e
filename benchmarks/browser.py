"""The drawing page's speed in headless Chromium: model time, time to ready, stroke-end to guesses.

    .venv/bin/python benchmarks/browser.py [--model models/doodles.onnx] [--runs 5] [--drawings 2]

Measured for several set-ups of the same static site (written by `inkrec.export.web.write_site`):
- cross-origin isolated (COOP/COEP headers) with 2 wasm threads, and with 1;
- not isolated (no headers, as a plain static server): the page must fall back to 1 thread and not hang;
- `inkrec serve` itself (isolated, the page's own thread choice);
- the server fallback (`?backend=api`: no in-browser model, every guess a POST /v1/predict), as the
  baseline the in-browser figures are compared with.

Figures (medians):
- infer ms: onnxruntime-web `session.run` for one drawing's 28x28 input (real drawings, rasterized by
  inkrec.preprocess), timed in the page; "loop mean ms" is a tight loop of whole `inkrec.infer` calls divided by
  their count (not limited by the browser's timer resolution, 100 us without isolation); "course CNN
  ms" is the same for the course's CNN architecture in the same page and run (the yardstick);
- ready ms: from navigation start to the page being able to guess (runtime loaded, wasm compiled, model
  session created and warmed up), in a fresh browser profile (a first visit) and on reload (warm cache);
- stroke ms: from a stroke's pointerup event to the updated guesses in the page (simplify, rasterize,
  inference, DOM update), replaying real Quick, Draw! drawings with mouse input.
- choice ms (character models): from picking the model in the page's picker to its first possible guess,
  in a fresh profile that started on another model (the course CNN): the model is loaded only when chosen;
- server ms: the same inputs through `inkrec.runtime.onnx_model.OnnxModel` on one thread, as `inkrec serve`
  runs them, in the same run.
Targets (from the project's goals): infer < 0.5 ms, ready < 1.5 s. For a character model with thousands of
classes (the writing pad, real CASIA characters as input): page <= 15 ms a character (wasm), server <= 5 ms
(one thread), ready <= 2.5 s after choosing it.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "web"))

from pagekit import launch, open_page, replay, settle, start_server, stop  # noqa: E402  (tests/web, put on the path above)

DATASETS = Path(os.environ.get("INKREC_DATASETS") or REPO.parent / "shared" / "datasets")
DATA = DATASETS / "quickdraw"
POT = DATASETS / "casia-olhwdb" / "1043-c.pot"


class _Handler(http.server.SimpleHTTPRequestHandler):
    isolate = False

    def end_headers(self):
        if self.isolate:
            self.send_header("Cross-Origin-Opener-Policy", "same-origin")
            self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
        self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def log_message(self, *args):
        pass


def static_server(site: Path, isolate: bool) -> tuple[http.server.ThreadingHTTPServer, str]:
    handler = type("H", (_Handler,), {"isolate": isolate})
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(site)))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, f"http://127.0.0.1:{srv.server_address[1]}/"


def load_drawings(per_category: int, labels: list[str]) -> list[list]:
    """Real drawings of the model's categories; for a model of other things (digits, characters), drawings of
    as many Quick, Draw! categories: they only time the page, whose answers are not looked at."""
    files = [DATA / "simplified" / f"{c}.ndjson" for c in labels]
    if not any(f.is_file() for f in files):
        files = sorted((DATA / "simplified").glob("*.ndjson"))[: len(labels)]
    out = []
    for path in files:
        if not path.is_file():
            continue
        lines = path.read_text(encoding="utf-8").splitlines()
        out += [json.loads(lines[i])["drawing"] for i in range(min(per_category, len(lines)))]
    return out


def load_characters(n: int) -> list[list]:
    """The first `n` real characters of CASIA writer 1043, as 0-255 strokes (for a character model)."""
    from inkrec.data.formats.pot import iter_pot
    from inkrec.preprocess.strokes import normalize_strokes

    out = []
    for d in iter_pot(POT):
        out.append([s[:2].tolist() for s in normalize_strokes(d.strokes)])
        if len(out) == n:
            break
    return out


def server_time(model_path: Path, inputs: np.ndarray, repeats: int) -> float:
    """Median ms of one input through the server's own model runner on one thread."""
    from inkrec.runtime.onnx_model import OnnxModel

    model = OnnxModel(model_path, intra_op_threads=1)
    batch = (inputs.astype(np.float32) / 255.0)[:, None]
    for x in batch[:10]:
        model.predict(x[None])
    times = []
    for _ in range(repeats):
        for x in batch:
            t0 = time.perf_counter()
            model.predict(x[None])
            times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def measure_choice(pw, url: str, first_id: str, model_id: str, tmp: Path, runs: int) -> float:
    """Median ms from picking `model_id` (the page started on `first_id`) to its first possible guess,
    each in a fresh profile."""
    times = []
    for r in range(runs):
        ctx = launch(pw, tmp / f"choice-{r}")
        try:
            pg = ctx.new_page()
            open_page(pg, f"{url}?model={first_id}")
            pg.get_by_test_id("model-picker").select_option(model_id)
            pg.wait_for_function(f"() => inkrec.model === '{model_id}' && inkrec.switchMs !== null", timeout=60_000)
            times.append(pg.evaluate("() => inkrec.switchMs"))
        finally:
            ctx.close()
    return statistics.median(times)


def measure_inference(pg, inputs: np.ndarray, repeats: int, model_id: str) -> tuple[float, float]:
    """(median of per-run times, tight-loop mean) of one model, inside the page."""
    res = pg.evaluate(
        """async ([inputs, repeats, id]) => {
            const arrs = inputs.map(a => Uint8Array.from(a));
            const per = [];
            for (let r = 0; r < repeats; r++) for (const a of arrs) per.push((await inkrec.infer(a, id)).ms);
            const t0 = performance.now();
            for (let r = 0; r < repeats; r++) for (const a of arrs) await inkrec.infer(a, id);
            const loop = (performance.now() - t0) / (repeats * arrs.length);
            return {per, loop};
        }""",
        [inputs.reshape(len(inputs), -1).tolist(), repeats, model_id],
    )
    return statistics.median(res["per"]), res["loop"]


def course_cnn_onnx(meta: dict, out: Path) -> Path | None:
    """The course CNN's architecture (inkrec's `seed-cnn`) in the same ONNX layout, as the in-browser
    model-time yardstick (untrained: weights do not change the time). None without torch."""
    try:
        import torch  # noqa: F401
    except ModuleNotFoundError:
        return None
    from inkrec.export.onnx import export_model
    from inkrec.models import create_model

    model = create_model("seed-cnn", len(meta["labels"]), image_size=int(meta["input"]["size"]))
    course = {**meta, "id": "course-cnn", "metrics": {}}
    return export_model(model, course, out)


def measure_strokes(pg, drawings: list[list]) -> list[float]:
    lat: list[float] = []

    def after(_i: int) -> None:
        settle(pg)
        v = pg.evaluate("() => inkrec.lastStrokeLatencyMs")
        if v is not None:
            lat.append(v)

    for d in drawings:
        if pg.get_by_test_id("clear").is_enabled():
            pg.get_by_test_id("clear").click()
        pg.evaluate("() => { inkrec.lastStrokeLatencyMs = null; }")
        replay(pg, d, between=after)
    return lat


def run_setup(pw, name: str, url: str, args, inputs: np.ndarray, drawings: list[list], tmp: Path,
              infer: bool, model_id: str, baseline_id: str | None) -> dict:
    cold, warm = [], []
    row: dict = {"setup": name}
    for r in range(args.runs):
        ctx = launch(pw, tmp / f"{name}-{r}".replace(" ", "_"))
        try:
            pg = ctx.new_page()
            st = open_page(pg, url)
            cold.append(st["readyMs"])
            pg.reload()
            st = open_page(pg, url)
            warm.append(st["readyMs"])
            if r == 0:
                row.update(backend=st["backend"], threads=st["threads"],
                           isolated=pg.evaluate("() => crossOriginIsolated"))
                if infer and st["backend"] == "wasm":
                    row["infer_median_ms"], row["infer_mean_ms"] = measure_inference(pg, inputs, args.repeats, model_id)
                    if baseline_id and baseline_id in st["models"]:
                        row["course_median_ms"], _ = measure_inference(pg, inputs, args.repeats, baseline_id)
                lat = measure_strokes(pg, drawings)
                row["stroke_median_ms"] = statistics.median(lat) if lat else None
                row["stroke_p90_ms"] = float(np.percentile(lat, 90)) if lat else None
        finally:
            ctx.close()
    row["ready_cold_ms"] = statistics.median(cold)
    row["ready_warm_ms"] = statistics.median(warm)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", type=Path, default=REPO / "models" / "doodles.onnx")
    ap.add_argument("--runs", type=int, default=5, help="fresh-profile page loads per set-up")
    ap.add_argument("--drawings", type=int, default=1, help="drawings per category for the stroke latency")
    ap.add_argument("--repeats", type=int, default=5, help="passes over the inputs for the model time")
    ap.add_argument("--threads", type=int, default=2, help="wasm threads for the isolated multi-thread set-up")
    ap.add_argument("--setups", default="", help="only the set-ups whose name contains one of these "
                    "comma-separated words (e.g. '1 thread,serve'); default all")
    ap.add_argument("--inputs", type=int, default=200, help="real characters for a character model's time")
    ap.add_argument("--json", type=Path, default=REPO / "bench-results" / "browser.json")
    args = ap.parse_args()

    from playwright.sync_api import sync_playwright
    from rich.console import Console
    from rich.table import Table

    from inkrec.export.web import write_site
    from inkrec.preprocess.raster import rasterize
    from inkrec.runtime.metadata import page_layout
    from inkrec.runtime.onnx_model import read_metadata

    if not args.model.is_file():
        sys.exit(f"no model at {args.model}: pass --model MODEL.onnx")
    meta = read_metadata(args.model)
    model_id, size = meta["id"], meta["input"]["size"]
    writing = page_layout(meta) == "writing"
    if writing:  # a character model: real handwritten characters, not doodles
        all_drawings = load_characters(args.inputs)
        drawings = all_drawings[: 5 * args.drawings]
    else:
        drawings = load_drawings(args.drawings, meta["labels"])
        all_drawings = load_drawings(25, meta["labels"])
    inputs = np.stack([rasterize([np.asarray(s, float) for s in d], size=size) for d in all_drawings])
    console = Console(width=200)
    console.print(f"model {model_id} ({size}x{size}, {len(meta['labels'])} classes); {len(inputs)} inputs for "
                  f"the model time, {len(drawings)} drawings replayed per set-up, {args.runs} loads each")

    rows = []
    choice_ms = None
    with tempfile.TemporaryDirectory() as tmpdir, sync_playwright() as pw:
        tmp = Path(tmpdir)
        course = course_cnn_onnx(meta, tmp / "course-cnn.onnx")
        site = write_site([args.model] + ([course] if course else []), tmp / "site")
        iso_srv, iso_url = static_server(site, isolate=True)
        plain_srv, plain_url = static_server(site, isolate=False)
        proc, serve_url = start_server({model_id: args.model, **({"course-cnn": course} if course else {})})
        try:
            setups = [
                (f"isolated, {args.threads} threads", f"{iso_url}?threads={args.threads}&model={model_id}", True),
                ("isolated, 1 thread", f"{iso_url}?threads=1&model={model_id}", True),
                ("not isolated (plain static server)", f"{plain_url}?model={model_id}", True),
                ("inkrec serve", f"{serve_url}?model={model_id}", True),
                ("inkrec serve, API fallback (baseline)", f"{serve_url}?backend=api&model={model_id}", False),
            ]
            wanted = [w.strip() for w in args.setups.split(",") if w.strip()]
            setups = [s for s in setups if not wanted or any(w in s[0] for w in wanted)]
            for name, url, infer in setups:
                console.print(f"  {name} ...")
                rows.append(run_setup(pw, name, url, args, inputs, drawings, tmp, infer, model_id,
                                      "course-cnn" if course else None))
            if course:
                console.print("  choosing the model in inkrec serve's page ...")
                choice_ms = measure_choice(pw, serve_url, "course-cnn", model_id, tmp, args.runs)
        finally:
            stop(proc)
            iso_srv.shutdown()
            plain_srv.shutdown()

    base = rows[-1].get("stroke_median_ms") if rows and "baseline" in rows[-1]["setup"] else None
    table = Table(title=f"drawing page in headless Chromium ({model_id}, median)")
    for col in ("set-up", "backend", "threads", "isolated", "infer ms", "loop mean ms", "course CNN ms",
                "ready cold ms", "ready warm ms", "stroke->guess ms", "p90", "vs API"):
        table.add_column(col, justify="left" if col == "set-up" else "right")
    def fmt(v, d=2):
        return "-" if v is None else (f"{v:.{d}f}" if isinstance(v, float) else str(v))

    for r in rows:
        ratio = (base / r["stroke_median_ms"]) if base and r.get("stroke_median_ms") else None
        table.add_row(r["setup"], r.get("backend"), fmt(r.get("threads")), fmt(r.get("isolated")),
                      fmt(r.get("infer_median_ms"), 3), fmt(r.get("infer_mean_ms"), 3),
                      fmt(r.get("course_median_ms"), 3),
                      fmt(r["ready_cold_ms"], 0), fmt(r["ready_warm_ms"], 0),
                      fmt(r.get("stroke_median_ms"), 1), fmt(r.get("stroke_p90_ms"), 1),
                      "-" if ratio is None else f"{ratio:.1f}x")
    console.print(table)
    server_ms = server_time(args.model, inputs, args.repeats)
    page_ms = next((r["infer_median_ms"] for r in rows if r["setup"] == "isolated, 1 thread"
                    and r.get("infer_median_ms") is not None), None)
    console.print(f"server (onnxruntime, one thread): {server_ms:.3f} ms an input; page (wasm, one thread): "
                  f"{fmt(page_ms, 3)} ms" + ("" if choice_ms is None else
                                              f"; ready {choice_ms:.0f} ms after choosing it (fresh profile)"))
    if writing:
        console.print("targets (character model): page <= 15 ms, server <= 5 ms, ready <= 2500 ms after the choice")
    else:
        console.print("targets: infer < 0.5 ms, ready < 1.5 s (cold = fresh profile, warm = reload)")
    console.print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"model": model_id, "layout": "writing" if writing else "drawing",
                                     "server_ms": server_ms, "page_ms": page_ms, "choice_ms": choice_ms,
                                     "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
