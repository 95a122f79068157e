"""`inkrec data ...`: fetch, inspect, convert and preprocess data sets."""

from __future__ import annotations

import typer

data_app = typer.Typer(help="Fetch, inspect, convert and preprocess data sets.", no_args_is_help=True)

# Each module adds its own commands to `data_app`.
_COMMAND_MODULES = [
    "inkrec.data.fetch_cli",  # inkrec data fetch
    "inkrec.data.inspect_cli",  # inkrec data info | show | import-images
    "inkrec.data.convert",  # inkrec data simplify | rasterize
]


def register(app: typer.Typer) -> None:
    import importlib

    for name in _COMMAND_MODULES:
        importlib.import_module(name).register(data_app)
    app.add_typer(data_app, name="data")
