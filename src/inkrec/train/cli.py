"""`inkrec train`: train a model on a data set into a run directory.

Runs unchanged under `torchrun --nproc_per_node N -m inkrec.cli train ...` (or `torchrun $(which inkrec)
train ...`) for data-parallel training.
"""

from __future__ import annotations

import json
from enum import Enum
from typing import Annotated

import typer

from inkrec.errors import ConfigError, InkrecError
from inkrec.train.config import make_config
from inkrec.train.loop import train


class Augment(str, Enum):
    none = "none"
    light = "light"
    strong = "strong"


class Device(str, Enum):
    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"


class Schedule(str, Enum):
    cosine = "cosine"
    onecycle = "onecycle"
    constant = "constant"


class Compile(str, Enum):
    auto = "auto"
    on = "on"
    off = "off"


def parse_model_args(items: list[str]) -> dict:
    """KEY=VALUE pairs; VALUE is read as JSON when it parses (numbers, lists), else kept as text."""
    out = {}
    for item in items:
        if "=" not in item:
            raise ConfigError(f"--model-arg expects KEY=VALUE, got {item!r}")
        key, value = item.split("=", 1)
        try:
            out[key.strip().replace("-", "_")] = json.loads(value)
        except ValueError:
            out[key.strip().replace("-", "_")] = value
    return out


def train_command(
    data: Annotated[str, typer.Option("--data", help="Data set: a folder or file in any supported format.")],
    model: Annotated[str, typer.Option("--model", help="Model name (see `inkrec models`).")] = "inknet",
    out: Annotated[str | None, typer.Option("--out", help="Run directory (default: runs/MODEL).")] = None,
    epochs: Annotated[int, typer.Option(help="Maximum epochs.")] = 15,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Batch size (over all processes).")] = 256,
    lr: Annotated[float, typer.Option(help="Peak learning rate (AdamW).")] = 3e-3,
    weight_decay: Annotated[float, typer.Option("--weight-decay")] = 0.05,
    label_smoothing: Annotated[float, typer.Option("--label-smoothing")] = 0.1,
    augment: Annotated[Augment, typer.Option(help="Augmentation strength.")] = Augment.light,
    val_fraction: Annotated[float, typer.Option("--val-fraction", help="Share of training data held out.")] = 0.1,
    patience: Annotated[int, typer.Option(help="Early stopping after this many epochs without a better "
                                               "validation top-1 (0: off).")] = 5,
    seed: Annotated[int, typer.Option()] = 0,
    max_per_class: Annotated[int | None, typer.Option("--max-per-class", help="Cap samples per class.")] = None,
    size: Annotated[int | None, typer.Option(help="Bitmap side in pixels (default: the data's own, 28 for "
                                                      "strokes).")] = None,
    workers: Annotated[int, typer.Option(help="Threads preparing batches ahead (stroke data).")] = 0,
    resume: Annotated[bool, typer.Option("--resume", help="Continue from OUT/last.pt.")] = False,
    no_track: Annotated[bool, typer.Option("--no-track", help="Do not log to MLflow.")] = False,
    tracking_uri: Annotated[str | None, typer.Option("--tracking-uri", help="MLflow tracking URI "
                                                        "(default: ./mlruns).")] = None,
    device: Annotated[Device, typer.Option()] = Device.auto,
    amp: Annotated[bool | None, typer.Option("--amp/--no-amp", help="Mixed precision (bfloat16/float16 on "
                                                "CUDA, bfloat16 on CPUs). Default: on where the hardware makes "
                                                "it fast (CUDA; CPUs with AMX or AVX-512 BF16).")] = None,
    threads: Annotated[int | None, typer.Option(help="torch threads (default: this process's cores).")] = None,
    compile: Annotated[Compile, typer.Option(help="torch.compile: auto = on CUDA only.")] = Compile.off,
    schedule: Annotated[Schedule, typer.Option()] = Schedule.cosine,
    warmup_epochs: Annotated[float, typer.Option("--warmup-epochs")] = 1.0,
    split_mode: Annotated[str, typer.Option("--split-mode", help="standard | random | writer")] = "standard",
    classes: Annotated[str | None, typer.Option(help="Comma-separated class names to train on.")] = None,
    model_arg: Annotated[list[str] | None, typer.Option("--model-arg", help="Model option KEY=VALUE "
                                                            "(repeatable), e.g. width=32.")] = None,
    no_test: Annotated[bool, typer.Option("--no-test", help="Do not score the test split at the end.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bars.")] = False,
) -> None:
    """Train a model; writes config.json, metrics.json, learning_curve.png, best.pt and last.pt."""
    try:
        cfg = make_config(
            data=data, model=model, out=out or f"runs/{model}", epochs=epochs, batch_size=batch_size, lr=lr,
            weight_decay=weight_decay, label_smoothing=label_smoothing, augment=augment.value,
            val_fraction=val_fraction, patience=patience or None, seed=seed, max_per_class=max_per_class,
            size=size, workers=workers, resume=resume, track=not no_track, tracking_uri=tracking_uri,
            device=device.value, amp="auto" if amp is None else amp, threads=threads, compile=compile.value, schedule=schedule.value,
            warmup_epochs=warmup_epochs, split_mode=split_mode,
            classes=[c.strip() for c in classes.split(",") if c.strip()] if classes else None,
            model_kwargs=parse_model_args(model_arg or []), progress=not quiet, evaluate_test=not no_test,
        )
        train(cfg)
    except InkrecError as exc:
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        typer.secho("interrupted; continue with the same command plus --resume", err=True)
        raise typer.Exit(130) from None


def register(app: typer.Typer) -> None:
    app.command("train")(train_command)
