"""`inkrec train`: train a model on a data set into a run directory.

The command's options are made from `TrainConfig`'s fields (name, type, choices, default and help), so a
training option is declared once, in `inkrec.train.config`. Every option defaults to "not given": what the
command line gives overrides what `--config FILE` gives, which overrides the field's default.

Runs unchanged under `torchrun --nproc_per_node N -m inkrec.cli train ...` (or `torchrun $(which inkrec)
train ...`) for data-parallel training.
"""

from __future__ import annotations

import inspect
import types
import typing
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from pydantic.fields import FieldInfo

from inkrec.train.config import TrainConfig, make_config, read_config_file
from inkrec.train.loop import train

# Options whose command-line spelling is not the field's name (the names users type, kept as they were).
FLAGS: dict[str, tuple[str, ...]] = {
    "model_kwargs": ("--model-arg",),
    "amp": ("--amp/--no-amp",),
    "track": ("--track/--no-track",),
    "evaluate_test": ("--test/--no-test",),
    "progress": ("--progress/--quiet",),
    "verbose": ("--verbose/--silent",),
    "channels_last": ("--channels-last/--no-channels-last",),
}
METAVARS = {"model_kwargs": "KEY=VALUE", "classes": "NAME,NAME,...", "data": "PATH", "out": "DIR",
            "tracking_uri": "URI", "teacher": "RUN_DIR", "aux_data": "PATH"}


def _option_name(name: str) -> str:
    return "--" + name.replace("_", "-")


def _plain(annotation: Any) -> tuple[list[Any], bool]:
    """The member types of a field's annotation, and whether None is one of them."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = list(typing.get_args(annotation))
    else:
        args = [annotation]
    return [a for a in args if a is not type(None)], type(None) in typing.get_args(annotation)


def _option(name: str, field: FieldInfo) -> tuple[Any, typer.models.OptionInfo]:
    """The command-line type and Typer option of one `TrainConfig` field."""
    members, _ = _plain(field.annotation)
    help_text = field.description or ""
    default = None if field.is_required() else field.get_default(call_default_factory=True)
    show = None if default in (None, {}, [], "auto") or isinstance(default, bool) else str(default)
    decls = FLAGS.get(name, (_option_name(name),))
    if field.is_required():
        help_text += " Required (here or in the --config file)."
    kwargs: dict[str, Any] = {"help": help_text, "show_default": show or False}
    if name in METAVARS:
        kwargs["metavar"] = METAVARS[name]
    literals = [v for m in members if typing.get_origin(m) is Literal for v in typing.get_args(m)]
    if name == "model_kwargs":
        return list[str] | None, typer.Option(*decls, **kwargs)
    if name == "classes":
        return str | None, typer.Option(*decls, **kwargs)
    if members and typing.get_origin(members[0]) is list:  # repeatable
        return list[str] | None, typer.Option(*decls, **kwargs)
    if members == [bool] or name == "amp":
        if name != "amp":
            kwargs["show_default"] = "on" if default else "off"
        return bool | None, typer.Option(*decls, **kwargs)
    if literals and all(typing.get_origin(m) is Literal for m in members):
        return typing.Optional[Literal[tuple(literals)]], typer.Option(*decls, **kwargs)  # noqa: UP007
    if literals:  # choices or a number (augment)
        kwargs["metavar"] = "|".join(str(v) for v in literals) + "|NUMBER"
        return str | None, typer.Option(*decls, **kwargs)
    base = members[0]
    if base not in (int, float, str):
        raise TypeError(f"TrainConfig.{name}: no command-line form for {field.annotation!r}")
    return base | None, typer.Option(*decls, **kwargs)


def _train_command():
    """`train_command` with one keyword parameter per `TrainConfig` field (plus --config), for Typer."""
    params = [
        inspect.Parameter(
            "config",
            inspect.Parameter.KEYWORD_ONLY,
            default=None,
            annotation=Annotated[
                Path | None,
                typer.Option(
                    "--config",
                    help="Read the options from this JSON file first: a run's config.json, or the best.json "
                    "of `inkrec tune`. Options given on the command line override it.",
                ),
            ],
        )
    ]
    for name, field in TrainConfig.model_fields.items():
        kind, option = _option(name, field)
        params.append(
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=Annotated[kind, option])
        )

    def train_command(**options: Any) -> None:
        """Train a model; writes config.json, metrics.json, learning_curve.png, best.pt and last.pt."""
        config_file = options.pop("config")
        given = {k: v for k, v in options.items() if v is not None}
        base = read_config_file(config_file) if config_file is not None else {}
        if "model" in given and "out" not in given and "out" in base:
            base.pop("out")  # another model than the file's: its own default run directory
        base.pop("resume", None)  # resuming is asked for on the command line, never inherited
        cfg = make_config(**{**base, **given})
        try:
            train(cfg)
        except KeyboardInterrupt:
            typer.secho("interrupted; continue with the same command plus --resume", err=True)
            raise typer.Exit(130) from None

    train_command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    train_command.__annotations__ = {p.name: p.annotation for p in params}
    return train_command


train_command = _train_command()


def register(app: typer.Typer) -> None:
    app.command("train")(train_command)
