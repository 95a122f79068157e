"""`inkrec tune`: search learning rate, width, dropout and augmentation with Optuna.

A stage module of its own (not in `inkrec.train.cli`) because it needs Optuna, which `inkrec train` does not.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from inkrec.train.tune import tune

_DEFAULT_DB = Path("tune.db")
_DEFAULT_OUT = Path("runs/tune")


def tune_command(
    data: Annotated[Path, typer.Option("--data", help="Data set to tune on (its training split).")],
    model: Annotated[str, typer.Option("--model", help="Model name (see `inkrec models`).")] = "inknet",
    trials: Annotated[
        int, typer.Option("--trials", min=1, help="Finished trials the study should hold in all.")
    ] = 20,
    study_db: Annotated[
        Path, typer.Option("--study-db", help="SQLite file holding the study.")
    ] = _DEFAULT_DB,
    epochs: Annotated[int, typer.Option("--epochs", min=1, help="Epochs per trial.")] = 5,
    out: Annotated[
        Path, typer.Option("--out", help="Folder for trial runs, best.json, study.png.")
    ] = _DEFAULT_OUT,
    study_name: Annotated[str | None, typer.Option("--study-name", help="Default: MODEL-DATANAME.")] = None,
    max_per_class: Annotated[
        int | None, typer.Option("--max-per-class", min=1, help="Cap training samples per class.")
    ] = None,
    classes: Annotated[
        str | None, typer.Option("--classes", help="Comma-separated class names to tune on.")
    ] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1)] = 256,
    size: Annotated[
        int | None, typer.Option("--size", min=1, help="Bitmap side (default: the data's own).")
    ] = None,
    threads: Annotated[int | None, typer.Option("--threads", min=1, help="torch threads per trial.")] = None,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
) -> None:
    """Tune a model with Optuna; the study resumes from --study-db, the best config goes to OUT/best.json
    (train it with `inkrec train --config OUT/best.json`)."""
    try:
        result = tune(
            data=data,
            model=model,
            trials=trials,
            study_db=study_db,
            out=out,
            epochs=epochs,
            study_name=study_name,
            seed=seed,
            progress=not quiet,
            max_per_class=max_per_class,
            batch_size=batch_size,
            size=size,
            threads=threads,
            classes=classes,
        )
    except KeyboardInterrupt:
        typer.secho("interrupted; run the same command again to continue the study", err=True)
        raise typer.Exit(130) from None
    params = ", ".join(
        f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in result.best_params.items()
    )
    typer.echo(
        f"best trial {result.best_trial}: val top-1 {100 * result.best_value:.2f}% ({params}); "
        f"{result.n_complete} complete, {result.n_pruned} pruned, {result.n_failed} failed -> {result.best_path}\n"
        f"train it: inkrec train --config {result.best_path}"
    )


def register(app: typer.Typer) -> None:
    app.command("tune")(tune_command)
