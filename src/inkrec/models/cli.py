"""`inkrec models`: the registered models, what input each takes, and their size."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from inkrec.models import architecture, create_model, list_models


def models_command(
    classes: Annotated[int, typer.Option(min=2, help="Class count used to size the output layer.")] = 100,
    size: Annotated[int, typer.Option(min=4, help="Bitmap side used to size bitmap models.")] = 28,
) -> None:
    """List the models `inkrec train --model NAME` accepts."""
    table = Table(title=f"models (parameters at {classes} classes, {size}x{size} bitmaps)")
    for col in ("name", "input", "parameters", "description"):
        table.add_column(col, justify="right" if col == "parameters" else "left")
    for name in list_models():
        arch = architecture(name)
        kwargs = {"image_size": size} if "image_size" in arch.defaults else {}
        net = create_model(name, classes, **kwargs)
        n = sum(p.numel() for p in net.parameters())
        table.add_row(name, arch.input_kind, f"{n:,}", arch.description)
    Console().print(table)


def register(app: typer.Typer) -> None:
    app.command("models")(models_command)
