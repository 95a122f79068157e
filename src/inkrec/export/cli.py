"""`inkrec export RUN_DIR -o MODEL.onnx [--int8] [--web DIR]`."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from inkrec.errors import ConfigError
from inkrec.export.onnx import export_run
from inkrec.export.web import write_site

console = Console(stderr=True)


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 1e-2 and v != 0 else f"{v:.4f}"
    if isinstance(v, int) and v > 10_000:
        return f"{v:,} bytes"
    return str(v)


def export_cmd(
    run_dir: Annotated[Path, typer.Argument(help="A training run directory (runs/NAME with best.pt).")],
    out: Annotated[Path | None, typer.Option("-o", "--out", help="Where to write the ONNX model.")] = None,
    int8: Annotated[
        bool, typer.Option("--int8", help="Quantize to int8 (calibrated on real drawings).")
    ] = False,
    web: Annotated[
        Path | None, typer.Option("--web", help="Also write a static site (page + model) here.")
    ] = None,
    model_id: Annotated[
        str | None, typer.Option("--id", help="Model id (default: the output file's stem).")
    ] = None,
    lines: Annotated[
        bool | None,
        typer.Option(
            "--lines/--no-lines",
            help="Whether the model reads lines of characters (`inkrec read`); default: yes when every "
            "label is one character.",
        ),
    ] = None,
) -> None:
    """Export a trained run to ONNX with its labels, preprocessing, metrics and licence inside."""
    if out is None and web is None:
        raise ConfigError("give -o MODEL.onnx, --web DIR, or both")
    with tempfile.TemporaryDirectory() as tmp:
        target = out or Path(tmp) / f"{model_id or run_dir.resolve().name}.onnx"
        with console.status(f"exporting {run_dir} ..."):
            report = export_run(run_dir, target, int8=int8, model_id=model_id, lines=lines)
        table = Table(title=f"exported {report['id']}", show_header=False)
        for key, value in report.items():
            table.add_row(key, _fmt(value))
        console.print(table)
        if web is not None:
            with console.status(f"writing the static site to {web} ..."):
                write_site(target, web)
            console.print(f"static site written to {web}")
    if out is not None:
        typer.echo(str(out))


def register(app: typer.Typer) -> None:
    app.command("export")(export_cmd)
