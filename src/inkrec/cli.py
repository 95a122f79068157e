"""The `inkrec` command line: one Typer app, one sub-command module per stage of the pipeline."""

from __future__ import annotations

import importlib

import typer

from inkrec import __version__

app = typer.Typer(
    name="inkrec",
    help="Recognize hand-drawn doodles and handwriting: data -> ink -> models -> train -> eval -> export -> serve.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Each stage registers its own commands; importing lazily keeps `inkrec --help` fast and lets the
# slim serving install (no torch) use the commands that do not need torch.
_STAGES = [
    "inkrec.data.cli",
    "inkrec.models.cli",
    "inkrec.train.cli",
    "inkrec.train.tune_cli",
    "inkrec.evaluate.cli",
    "inkrec.export.cli",
    "inkrec.serve.cli",
]


# Third-party packages of the optional install extras: a stage that needs one that is missing is left out
# of this install's commands. Anything else missing (inkrec's own modules included) is a real error.
_OPTIONAL_DEPENDENCIES = {"torch", "onnx", "onnxscript", "onnxruntime", "mlflow", "optuna", "matplotlib", "fastapi",
                          "uvicorn", "multipart"}


def _version(value: bool) -> None:
    if value:
        typer.echo(__version__)
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    """inkrec."""


for _mod in _STAGES:
    try:
        importlib.import_module(_mod).register(app)
    except ModuleNotFoundError as exc:  # a stage whose extra is not installed (e.g. training without torch)
        if (exc.name or "").split(".")[0] not in _OPTIONAL_DEPENDENCIES:
            raise


if __name__ == "__main__":
    app()
