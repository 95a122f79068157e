"""`inkrec serve [--model M.onnx ...] [--host 127.0.0.1] [--port 8000] [--threads N] [--workers N]`."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from inkrec.errors import InkrecError

console = Console(stderr=True)


def _uvicorn_fast_paths() -> dict:
    """httptools and uvloop when installed: the same server, with a C HTTP parser and event loop."""
    opts = {}
    try:
        import httptools  # noqa: F401

        opts["http"] = "httptools"
    except ModuleNotFoundError:
        opts["http"] = "h11"
    try:
        import uvloop  # noqa: F401

        opts["loop"] = "uvloop"
    except ModuleNotFoundError:
        opts["loop"] = "asyncio"
    return opts


def serve_cmd(
    model: Annotated[
        list[str] | None,
        typer.Option(
            "--model",
            "-m",
            help="An exported .onnx model (repeat for several; ID=PATH to rename). "
            "Default: the bundled models in ./models or $INKREC_MODELS.",
        ),
    ] = None,
    host: Annotated[
        str, typer.Option(help="Address to listen on (0.0.0.0 for every interface).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    threads: Annotated[int, typer.Option(help="Inference threads per process (0: one per core).")] = 0,
    workers: Annotated[
        int,
        typer.Option(
            help="Server processes sharing the port (one per core for heavy load)."
        ),
    ] = 1,
    max_batch: Annotated[
        int, typer.Option(help="Most drawings run together when requests queue up (1: no batching).")
    ] = 32,
    timeout: Annotated[float, typer.Option(help="Seconds an API request may take before a 503.")] = 10.0,
    max_upload_mb: Annotated[float, typer.Option(help="Largest accepted upload body, MiB.")] = 8.0,
    access_log: Annotated[bool, typer.Option(help="Log every request (slower).")] = False,
) -> None:
    """Serve the HTTP API (/v1/predict, /v1/models, /docs) and the drawing page at /."""
    import uvicorn

    from inkrec.serve.app import ServeConfig, create_app
    from inkrec.serve.runtime import default_model_paths

    try:
        specs = list(model) if model else [str(p) for p in default_model_paths()]
        config = ServeConfig(
            models=specs,
            threads=threads,
            timeout_s=timeout,
            max_upload_bytes=int(max_upload_mb * (1 << 20)),
            max_batch=max(1, max_batch),
        )
        app = create_app(config)  # load here, once, so that a bad model fails before the port opens
    except InkrecError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    registry = app.state.registry
    if len(registry):
        for m in registry.models.values():
            console.print(
                f"model [bold]{m.id}[/bold]: {len(m.labels)} classes, {m.kind} {m.size}, from {m.path}"
            )
    else:
        console.print("[yellow]no models loaded[/yellow]: pass --model MODEL.onnx or put models in ./models")
    console.print(f"serving on http://{host}:{port}/  (API docs: http://{host}:{port}/docs)")
    common = dict(
        host=host,
        port=port,
        access_log=access_log,
        log_level="info",
        timeout_keep_alive=5,
        **_uvicorn_fast_paths(),
    )
    if workers > 1:
        config.models = registry_specs(specs)
        os.environ["INKREC_SERVE_CONFIG"] = json.dumps(dataclasses.asdict(config))
        uvicorn.run("inkrec.serve.app:create_app_from_env", factory=True, workers=workers, **common)
    else:
        uvicorn.run(app, **common)


def registry_specs(specs: list[str]) -> list[str]:
    """Model specs with absolute paths, so that worker processes find them whatever their directory."""
    out = []
    for spec in specs:
        if "=" in spec and not Path(spec).exists():
            head, tail = spec.split("=", 1)
            out.append(f"{head}={Path(tail).resolve()}")
        else:
            out.append(str(Path(spec).resolve()))
    return out


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_cmd)
