"""Helpers for driving the drawing page in a real browser: start servers, replay drawings, read the page.

Shared by the browser tests and benchmarks/browser.py.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np

CHROMIUM = os.environ.get("INKREC_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
            raise RuntimeError(f"server exited with {proc.returncode}:\n{out}")
        try:
            if httpx.get(url, timeout=1.0).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def inkrec_command() -> list[str]:
    exe = Path(sys.executable).with_name("inkrec")
    return [str(exe)] if exe.is_file() else [sys.executable, "-c", "from inkrec.cli import app; app()"]


def start_server(models: dict[str, Path], port: int | None = None) -> tuple[subprocess.Popen, str]:
    """`inkrec serve` with the given models as a real process on loopback; (process, base URL)."""
    port = port or free_port()
    cmd = inkrec_command() + ["serve", "--host", "127.0.0.1", "--port", str(port)]
    for model_id, path in models.items():
        cmd += ["--model", f"{model_id}={path}"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", proc)
    except BaseException:
        stop(proc)
        raise
    return proc, f"http://127.0.0.1:{port}/"


def launch(playwright, profile_dir: Path, extra: list[str] | tuple[str, ...] = ()):
    """Debian's Chromium, headless, with a fresh profile."""
    return playwright.chromium.launch_persistent_context(
        str(profile_dir), executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS + list(extra),
        viewport={"width": 1100, "height": 820}, device_scale_factor=1,
    )


def open_page(pg, url: str, timeout_ms: int = 30_000) -> dict:
    """Navigate and wait until the page can guess (or says why it cannot); return its start-up state."""
    pg.goto(url)
    pg.wait_for_function("() => window.inkrec && (window.inkrec.isReady || window.inkrec.error)", timeout=timeout_ms)
    st = pg.evaluate("() => ({ready: inkrec.isReady, error: inkrec.error, backend: inkrec.backend, "
                     "threads: inkrec.threads, readyMs: inkrec.readyMs, models: inkrec.models, model: inkrec.model})")
    assert st["ready"], f"page did not get ready: {st['error']}"
    return st


def canvas_mapper(pg, margin: float = 24.0):
    """Map Quick, Draw! 0-255 coordinates into the ink canvas's page coordinates."""
    box = pg.get_by_test_id("ink-canvas").bounding_box()
    k = (min(box["width"], box["height"]) - 2 * margin) / 255.0
    return lambda x, y: (box["x"] + margin + x * k, box["y"] + margin + y * k)


def replay(pg, strokes, *, margin: float = 24.0, between=None) -> None:
    """Draw the strokes with real mouse input (down, one move per point, up), like a person would."""
    to_page = canvas_mapper(pg, margin)
    for i, (xs, ys, *_) in enumerate(strokes):
        pg.mouse.move(*to_page(xs[0], ys[0]))
        pg.mouse.down()
        for x, y in zip(xs[1:], ys[1:]):
            pg.mouse.move(*to_page(x, y))
        if len(xs) == 1:
            pg.mouse.move(*to_page(xs[0] + 0.5, ys[0]))
        pg.mouse.up()
        if between is not None:
            between(i)


_DISPATCH = """([strokes, margin]) => {
    const c = document.querySelector('[data-testid=ink-canvas]');
    const r = c.getBoundingClientRect();
    const k = (Math.min(r.width, r.height) - 2 * margin) / 255;
    const fire = (type, x, y, buttons) => c.dispatchEvent(new PointerEvent(type, {
        bubbles: true, cancelable: true, composed: true, pointerId: 1, pointerType: 'mouse', isPrimary: true,
        button: type === 'pointermove' ? -1 : 0, buttons, clientX: r.left + margin + x * k,
        clientY: r.top + margin + y * k}));
    for (const [xs, ys] of strokes) {
        fire('pointerdown', xs[0], ys[0], 1);
        for (let i = 1; i < xs.length; i++) fire('pointermove', xs[i], ys[i], 1);
        fire('pointerup', xs[xs.length - 1], ys[ys.length - 1], 0);
    }
}"""


def replay_events(pg, strokes, *, margin: float = 24.0) -> None:
    """Draw the strokes as PointerEvents dispatched on the canvas from inside the page.

    The same events and handlers as `replay`, minus the browser's input pipeline, which paces real input
    to the display's frames (one point per frame); this is ~50x faster, for replaying many drawings."""
    pg.evaluate(_DISPATCH, [strokes, margin])


def settle(pg, timeout_ms: int = 15_000) -> None:
    """Wait until the shown guesses belong to the current drawing."""
    pg.wait_for_function("() => inkrec.guessedVersion === inkrec.version", timeout=timeout_ms)


def read_guesses(pg) -> list[str]:
    return pg.evaluate("() => Array.from(document.querySelectorAll('[data-testid^=guess-]'), e => e.textContent)")


def last_input(pg):
    data = pg.evaluate("() => inkrec.lastInput && Array.from(inkrec.lastInput)")
    return None if data is None else np.asarray(data, dtype=np.uint8)


def load_simplified(quickdraw: Path, categories: list[str]) -> dict[str, list[dict]]:
    out = {}
    for c in categories:
        with open(quickdraw / "simplified" / f"{c}.ndjson", encoding="utf-8") as f:
            out[c] = [json.loads(line) for line in f if line.strip()]
    return out
