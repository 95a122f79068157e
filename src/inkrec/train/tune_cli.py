"""`inkrec tune`: search learning rate, width, dropout and augmentation with Optuna."""

from __future__ import annotations

from pathlib import Path

import typer

from inkrec.errors import InkrecError


def tune_command(
    data: Path = typer.Option(..., "--data", help="Data set to tune on (its training split)."),
    model: str = typer.Option("inknet", "--model", help="Model name (see `inkrec models`)."),
    trials: int = typer.Option(20, "--trials", min=1, help="Finished trials the study should hold in all."),
    study_db: Path = typer.Option(Path("tune.db"), "--study-db", help="SQLite file holding the study."),
    epochs: int = typer.Option(5, "--epochs", min=1, help="Epochs per trial."),
    out: Path = typer.Option(Path("runs/tune"), "--out", help="Folder for trial runs, best.json, study.png."),
    study_name: str | None = typer.Option(None, "--study-name", help="Default: MODEL-DATANAME."),
    max_per_class: int | None = typer.Option(None, "--max-per-class", min=1, help="Cap training samples per class."),
    batch_size: int = typer.Option(256, "--batch-size", min=1),
    size: int | None = typer.Option(None, "--size", min=1, help="Bitmap side (default: the data's own)."),
    threads: int | None = typer.Option(None, "--threads", min=1, help="torch threads per trial."),
    seed: int = typer.Option(0, "--seed"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
) -> None:
    """Tune a model with Optuna; the study resumes from --study-db, the best config goes to OUT/best.json."""
    from inkrec.train.tune import tune

    try:
        result = tune(
            data=data, model=model, trials=trials, study_db=study_db, out=out, epochs=epochs,
            study_name=study_name, seed=seed, progress=not quiet, max_per_class=max_per_class,
            batch_size=batch_size, size=size, threads=threads,
        )
    except InkrecError as exc:
        typer.secho(f"error: {exc}", err=True, fg="red")
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        typer.secho("interrupted; run the same command again to continue the study", err=True)
        raise typer.Exit(130) from None
    params = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in result.best_params.items())
    typer.echo(
        f"best trial {result.best_trial}: val top-1 {100 * result.best_value:.2f}% ({params}); "
        f"{result.n_complete} complete, {result.n_pruned} pruned, {result.n_failed} failed -> {result.best_path}"
    )


def register(app: typer.Typer) -> None:
    app.command("tune")(tune_command)
