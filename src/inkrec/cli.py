"""The `inkrec` command line: one Typer app, each stage's commands in that stage's `cli` module.

A stage is imported only when one of its commands runs (or `--help` lists them), so `inkrec data info` does
not pay for torch. Errors a user can act on (`InkrecError`) become one clear line and exit status 2 here, once,
for every command. A stage whose optional extra is not installed still lists its commands; running one says
which extra to install instead of "No such command".
"""

from __future__ import annotations

import importlib

import click
import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

from inkrec import __version__
from inkrec.errors import ConfigError, InkrecError

# command -> (the stage's cli module, the extra it needs). Each module has `register(app)`.
STAGES: dict[str, tuple[str, str | None]] = {
    "data": ("inkrec.data.cli", None),
    "models": ("inkrec.models.cli", "train"),
    "train": ("inkrec.train.cli", "train"),
    "tune": ("inkrec.train.tune_cli", "train"),
    "eval": ("inkrec.evaluate.cli", "train"),
    "viz": ("inkrec.evaluate.cli", "train"),
    "export": ("inkrec.export.cli", "train"),
    "teach": ("inkrec.export.cli", "train"),
    "serve": ("inkrec.serve.cli", "serve"),
    "read": ("inkrec.read.cli", "serve"),
}

# Third-party packages of the optional extras: only these missing hide a stage. Anything else missing
# (inkrec's own modules included) is a real error.
OPTIONAL_PACKAGES = frozenset({"torch", "onnx", "onnxscript", "onnxruntime", "mlflow", "optuna", "matplotlib",
                               "fastapi", "uvicorn", "multipart", "pydantic_settings"})

_stderr = Console(stderr=True, highlight=False, soft_wrap=True)


class InkrecGroup(TyperGroup):
    """The root group: loads a stage's commands when they are asked for, and is the one place where an
    `InkrecError` becomes a message and exit status 2."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(dict.fromkeys([*super().list_commands(ctx), *STAGES]))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        return super().get_command(ctx, name) or (stage_command(name) if name in STAGES else None)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except InkrecError as exc:
            _stderr.print(f"[bold red]error:[/] {escape(str(exc))}")
            raise typer.Exit(2) from None


def stage_command(name: str) -> click.Command:
    """The click command `name`, from its stage's module (or one that names the missing extra)."""
    module, extra = STAGES[name]
    try:
        stage = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        package = (exc.name or "").split(".")[0]
        if extra is None or package not in OPTIONAL_PACKAGES:
            raise
        return _needs_extra(name, extra, package)
    sub = typer.Typer()
    stage.register(sub)
    return typer.main.get_group(sub).commands[name]


def _needs_extra(name: str, extra: str, package: str) -> click.Command:
    """Stands in for a command whose extra is missing: running it names the extra to install."""

    def missing(**_):
        raise ConfigError(
            f"`inkrec {name}` needs the {extra!r} extra, which is not installed (no module {package!r}): "
            f'pip install "inkrec[{extra}]"'
        )

    return click.Command(
        name,
        callback=missing,
        help=f'Not installed: needs pip install "inkrec[{extra}]".',
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
        add_help_option=False,
    )


app = typer.Typer(
    name="inkrec",
    cls=InkrecGroup,
    help="Recognize hand-drawn doodles and handwriting: data -> preprocess -> models -> train -> eval -> export "
    "-> serve.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(__version__)
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    """inkrec."""


if __name__ == "__main__":
    app()
