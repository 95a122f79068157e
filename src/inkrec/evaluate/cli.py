"""`inkrec eval` (scores + HTML report) and `inkrec viz` (feature maps, saliency)."""

from __future__ import annotations

import functools
import json
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from inkrec.errors import InkrecError
from inkrec.jsonio import write_json

viz_app = typer.Typer(help="See inside a trained model: feature maps and saliency.", no_args_is_help=True)


class Split(str, Enum):
    all = "all"
    train = "train"
    test = "test"


class SaliencyMethod(str, Enum):
    integrated_gradients = "integrated-gradients"
    gradient = "gradient"


def _clear_errors(fn):
    """Bad input ends in one readable line and exit code 2, never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except InkrecError as exc:
            typer.secho(f"error: {exc}", err=True, fg="red")
            raise typer.Exit(2) from None

    return wrapper


def run_history(model: Path) -> list[dict] | None:
    """The per-epoch history from a run directory's metrics.json, if there is one."""
    path = Path(model) / "metrics.json"
    if not path.is_file():
        return None
    try:
        hist = json.loads(path.read_text(encoding="utf-8")).get("history")
    except (OSError, ValueError, AttributeError):
        return None
    return hist if isinstance(hist, list) and hist else None


def evaluate(
    model: str | Path,
    data: str | Path,
    *,
    split: str = "all",
    json_out: str | Path | None = None,
    report_dir: str | Path | None = None,
    batch_size: int = 512,
    max_per_class: int | None = None,
    progress: bool = True,
) -> dict:
    """Score `model` on `data` and write the JSON and the report; returns the JSON's content."""
    from inkrec.data.dataset import open_dataset
    from inkrec.evaluate.metrics import summarize
    from inkrec.evaluate.predict import load_predictor, predict_dataset
    from inkrec.evaluate.report import write_report

    predictor = load_predictor(model)
    dataset = open_dataset(data, split=split, max_per_class=max_per_class)
    preds = predict_dataset(predictor, dataset, batch_size=batch_size, progress=progress)
    result = summarize(preds.y_true, preds.probs, preds.classes)
    result = {
        **{k: result[k] for k in ("top1", "top3", "top5", "map3", "n")},
        "model": str(model),
        "model_format": predictor.source,
        "data": str(data),
        "split": split,
        "dataset_classes": len(dataset.classes),
        **{k: v for k, v in result.items() if k not in ("top1", "top3", "top5", "map3", "n")},
    }
    if json_out:
        out = Path(json_out)
        out.parent.mkdir(parents=True, exist_ok=True)
        write_json(out, result)
    if report_dir:
        write_report(
            report_dir,
            preds.y_true,
            preds.probs,
            preds.classes,
            summary=result,
            images=lambda rows: preds.images(rows),
            sample_ids=preds.indices,
            history=run_history(Path(model)) if predictor.source == "run" else None,
            title=f"{Path(model).name} on {Path(data).name} ({split})",
            subtitle=f"model {model} ({predictor.source}); data {data}, split {split}",
        )
    return result


def _print_summary(result: dict, json_out, report_dir) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{result['model']} on {result['data']} ({result['split']})")
    for col in ("n", "top-1", "top-3", "top-5", "MAP@3", "ECE"):
        table.add_column(col, justify="right")
    table.add_row(
        f"{result['n']:,}",
        *(f"{100 * result[k]:.2f}%" for k in ("top1", "top3", "top5", "map3")),
        f"{result['ece']:.3f}",
    )
    console = Console(stderr=True)
    console.print(table)
    if json_out:
        console.print(f"metrics: {json_out}")
    if report_dir:
        console.print(f"report: {Path(report_dir) / 'index.html'}")


@_clear_errors
def eval_command(
    model: Annotated[Path, typer.Option("--model", help="A run directory or an inkrec .onnx file.")],
    data: Annotated[Path, typer.Option("--data", help="A data set (any format open_dataset reads).")],
    split: Annotated[Split, typer.Option("--split", help="Which standard split to score.")] = Split.all,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the metrics here (JSON).")] = None,
    report: Annotated[
        Path | None, typer.Option("--report", help="Write the HTML report (index.html + PNGs) here.")
    ] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1)] = 512,
    max_per_class: Annotated[
        int | None, typer.Option("--max-per-class", min=1, help="Cap samples per class.")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Score a model on a data set: top-1/3/5, MAP@3, per-class scores, calibration, and a failure report."""
    result = evaluate(
        model,
        data,
        split=split.value,
        json_out=json_out,
        report_dir=report,
        batch_size=batch_size,
        max_per_class=max_per_class,
        progress=not quiet,
    )
    _print_summary(result, json_out, report)


@viz_app.command("feature-maps")
@_clear_errors
def feature_maps_command(
    model: Annotated[Path, typer.Option("--model", help="A run directory of a bitmap model.")],
    image: Annotated[Path, typer.Option("--image", help="A picture of a drawing (PNG, JPEG, ...).")],
    out: Annotated[Path, typer.Option("-o", "--out", help="Folder for one PNG per convolution layer.")],
) -> None:
    """What every convolution layer computes for one drawing: one PNG per layer, a grid of channels."""
    from inkrec.evaluate.viz import write_feature_maps

    paths = write_feature_maps(model, image, out)
    typer.echo(f"{len(paths)} convolution layer(s) -> {out}")


@viz_app.command("saliency")
@_clear_errors
def saliency_command(
    model: Annotated[Path, typer.Option("--model", help="A run directory of a bitmap model.")],
    image: Annotated[Path, typer.Option("--image", help="A picture of a drawing (PNG, JPEG, ...).")],
    out: Annotated[Path, typer.Option("-o", "--out", help="Output PNG.")],
    method: Annotated[
        SaliencyMethod,
        typer.Option("--method", help="Attribution: integrated gradients or the plain gradient."),
    ] = SaliencyMethod.integrated_gradients,
) -> None:
    """Which pixels made the model choose its answer, overlaid on the drawing."""
    from inkrec.evaluate.viz import write_saliency

    info = write_saliency(model, image, out, method=method.value)
    typer.echo(f"{info['label']} ({100 * info['confidence']:.1f}%) -> {out}")


def register(app: typer.Typer) -> None:
    app.command("eval")(eval_command)
    app.add_typer(viz_app, name="viz")
