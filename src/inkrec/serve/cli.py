"""`inkrec serve [--model M.onnx ...] [--host 127.0.0.1] [--port 8000] [--workers N] ...`.

Each option is a field of `ServeSettings`; an option left out takes its INKREC_* environment variable, else
the field's default (the one --help shows): `INKREC_PORT=9000 inkrec serve` is `inkrec serve --port 9000`.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console

from inkrec.errors import ConfigError
from inkrec.serve.app import create_app
from inkrec.serve.settings import ServeSettings

console = Console(stderr=True)
KEEP_ALIVE_S = 5


def _default(name: str):
    return ServeSettings.model_fields[name].default


def _help(name: str) -> str:
    return ServeSettings.model_fields[name].description or ""


def serve_cmd(
    ctx: typer.Context,
    model: Annotated[
        list[str] | None,
        typer.Option(
            "--model",
            "-m",
            help="An exported .onnx model (repeat for several; ID=PATH to rename). "
            "Default: the bundled models in $INKREC_MODELS or ./models.",
        ),
    ] = None,
    host: Annotated[str, typer.Option(help=_help("host"))] = _default("host"),
    port: Annotated[int, typer.Option(help=_help("port"))] = _default("port"),
    threads: Annotated[int, typer.Option(help=_help("threads"))] = _default("threads"),
    workers: Annotated[int, typer.Option(help=_help("workers"))] = _default("workers"),
    max_batch: Annotated[int, typer.Option(help=_help("max_batch"))] = _default("max_batch"),
    timeout: Annotated[float, typer.Option(help=_help("timeout"))] = _default("timeout"),
    graceful_timeout: Annotated[float, typer.Option(help=_help("graceful_timeout"))] = _default(
        "graceful_timeout"
    ),
    max_upload_mb: Annotated[float, typer.Option(help=_help("max_upload_mb"))] = _default("max_upload_mb"),
    max_pixels: Annotated[int, typer.Option(help=_help("max_pixels"))] = _default("max_pixels"),
    page_dir: Annotated[Path | None, typer.Option(help=_help("page_dir"))] = None,
    access_log: Annotated[bool, typer.Option(help=_help("access_log"))] = _default("access_log"),
) -> None:
    """Serve the HTTP API (/v1/predict, /v1/models, /docs) and the drawing page at /."""
    # only the options given on the command line: the others come from INKREC_* variables or the defaults
    given = {
        "models" if name == "model" else name: value
        for name, value in ctx.params.items()
        if ctx.get_parameter_source(name).name != "DEFAULT"  # typer's own copy of click's ParameterSource
    }
    run(settings_from(given))


def settings_from(given: dict) -> ServeSettings:
    """The settings for these options (and the INKREC_* variables); ConfigError saying what is wrong."""
    try:
        return ServeSettings(**given)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']} (got {e['input']!r})" for e in exc.errors()
        )
        raise ConfigError(f"server settings (options or INKREC_* variables): {problems}") from None


def run(settings: ServeSettings) -> None:
    """Load the models (so that a bad one fails before the port opens), then serve until stopped.

    A SIGTERM (`docker stop`, systemd, Kubernetes) stops taking connections, lets the requests in flight
    finish (at most `graceful_timeout` seconds), then exits with status 0.
    """
    import uvicorn  # deferred: only serving needs it, and it costs its import time to every other command

    app = create_app(settings)
    registry = app.state.registry
    if len(registry):
        for m in registry.models.values():
            console.print(
                f"model [bold]{m.id}[/bold]: {len(m.labels)} classes, {m.kind} {m.size}, from {m.path}"
            )
    else:
        console.print("[yellow]no models loaded[/yellow]: pass --model MODEL.onnx or put models in ./models")
    url = f"http://{settings.host}:{settings.port}"
    console.print(f"serving on {url}/  (API docs: {url}/docs)")
    common = dict(
        host=settings.host,
        port=settings.port,
        access_log=settings.access_log,
        log_level="info",
        timeout_keep_alive=KEEP_ALIVE_S,
        timeout_graceful_shutdown=settings.graceful_timeout,
        **_uvicorn_fast_paths(),
    )
    with _exit_zero_after_sigterm():
        if settings.workers > 1:
            os.environ.update(settings.as_env())  # each worker reads them back: create_app() -> ServeSettings()
            uvicorn.run("inkrec.serve.app:create_app", factory=True, workers=settings.workers, **common)
        else:
            uvicorn.run(app, **common)


class _Stopped(Exception):
    """Raised by the SIGTERM handler once uvicorn has drained and stopped."""


def _raise_stopped(_signum, _frame) -> None:
    raise _Stopped


@contextmanager
def _exit_zero_after_sigterm() -> Iterator[None]:
    """uvicorn drains on SIGTERM, then raises the signal again with the handler it found: with the default
    one the process would die of the signal (status 143) after a clean stop. Here the handler it finds ends
    the server's run normally instead, and the command exits with status 0."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_stopped)
    try:
        yield
    except _Stopped:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)


def _uvicorn_fast_paths() -> dict:
    """httptools and uvloop when installed: the same server, with a C HTTP parser and event loop."""
    return {
        "http": "httptools" if importlib.util.find_spec("httptools") else "h11",
        "loop": "uvloop" if importlib.util.find_spec("uvloop") else "asyncio",
    }


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_cmd)
