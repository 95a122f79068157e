"""`inkrec eval` (scores + HTML report) and `inkrec viz` (feature maps, saliency)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from inkrec.evaluate.score import score_model
from inkrec.evaluate.viz import SALIENCY_METHODS, write_feature_maps, write_saliency

viz_app = typer.Typer(help="See inside a trained model: feature maps and saliency.", no_args_is_help=True)

_stderr = Console(stderr=True, highlight=False)


def _print_summary(result: dict, json_out, report_dir) -> None:
    table = Table(title=f"{result['model']} on {result['data']} ({result['split']})")
    for col in ("n", "top-1", "top-3", "top-5", "MAP@3", "ECE"):
        table.add_column(col, justify="right")
    table.add_row(
        f"{result['n']:,}",
        *(f"{100 * result[k]:.2f}%" for k in ("top1", "top3", "top5", "map3")),
        f"{result['ece']:.3f}",
    )
    _stderr.print(table)
    _stderr.print(f"split scored: {result['split']}: {escape(result['split_reason'])}")
    if "open_set" in result:
        o = result["open_set"]
        acc = "n/a" if o["accuracy_on_accepted"] is None else f"{100 * o['accuracy_on_accepted']:.2f}%"
        _stderr.print(
            f"open set ({o['n_unknown']:,} unknown drawings, {o['unknown_categories']} categories): AUROC "
            f"{o['auroc']:.3f}; threshold {o['threshold']:.3f} accepts {100 * o['known_accepted']:.1f}% of known "
            f"(top-1 {acc} on those) and rejects {100 * o['unknown_rejected']:.1f}% of unknown"
        )
    for warning in result["warnings"]:
        _stderr.print(f"[bold yellow]warning:[/] {escape(warning)}")
    if json_out:
        _stderr.print(f"metrics: {json_out}")
    if report_dir:
        _stderr.print(f"report: {Path(report_dir) / 'index.html'}")


def eval_command(
    model: Annotated[Path, typer.Option("--model", help="A run directory or an inkrec .onnx file.")],
    data: Annotated[Path, typer.Option("--data", help="A data set (any format open_dataset reads).")],
    split: Annotated[
        Literal["all", "train", "test"] | None,
        typer.Option(
            "--split",
            help="Which split to score. Default: the data set's standard test split; the whole set when its "
            "format defines no standard split.",
            show_default=False,
        ),
    ] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the metrics here (JSON).")] = None,
    report: Annotated[
        Path | None, typer.Option("--report", help="Write the HTML report (index.html + PNGs) here.")
    ] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1)] = 512,
    max_per_class: Annotated[
        int | None, typer.Option("--max-per-class", min=1, help="Cap samples per class.")
    ] = None,
    restrict: Annotated[bool, typer.Option(
        "--restrict", help="Score among the data set's labels only (default: over the model's whole vocabulary)."
    )] = False,
    as_pictures: Annotated[bool, typer.Option(
        "--as-pictures", help="Treat each image as an uploaded picture (normalised and framed like the model's "
        "drawings, as the server and the page do) rather than as a training bitmap."
    )] = False,
    known_only: Annotated[bool, typer.Option(
        "--known-only", help="Score only the samples whose labels the model knows (the rest are counted in "
        "the JSON's left_out) instead of refusing a data set with foreign labels."
    )] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    unknown: Annotated[Path | None, typer.Option(
        "--unknown", help="Drawings of categories the model does not know: adds 'open_set' to the JSON (AUROC, "
        "threshold, known accepted, accuracy on accepted, unknown rejected).")] = None,
) -> None:
    """Score a model on a data set: top-1/3/5, MAP@3, per-class scores, calibration, and a failure report."""
    result = score_model(
        model,
        data,
        split=split,
        json_out=json_out,
        report_dir=report,
        batch_size=batch_size,
        max_per_class=max_per_class,
        restrict=restrict,
        as_pictures=as_pictures,
        known_only=known_only,
        progress=not quiet,
        unknown=unknown,
    )
    _print_summary(result, json_out, report)


@viz_app.command("feature-maps")
def feature_maps_command(
    model: Annotated[Path, typer.Option("--model", help="A run directory or an inkrec .onnx file (bitmap models).")],
    image: Annotated[Path, typer.Option("--image", help="A picture of a drawing (PNG, JPEG, ...).")],
    out: Annotated[Path, typer.Option("-o", "--out", help="Folder for one PNG per convolution layer.")],
) -> None:
    """What every convolution layer computes for one drawing: one PNG per layer, a grid of channels."""
    paths = write_feature_maps(model, image, out)
    typer.echo(f"{len(paths)} convolution layer(s) -> {out}")


@viz_app.command("saliency")
def saliency_command(
    model: Annotated[Path, typer.Option("--model", help="A run directory or an inkrec .onnx file (bitmap models).")],
    image: Annotated[Path, typer.Option("--image", help="A picture of a drawing (PNG, JPEG, ...).")],
    out: Annotated[Path, typer.Option("-o", "--out", help="Output PNG.")],
    method: Annotated[
        Literal[SALIENCY_METHODS] | None,  # type: ignore[valid-type]
        typer.Option(
            "--method",
            help="Attribution: integrated gradients or the plain gradient (torch models: run directories), or "
            "occlusion sensitivity (any model). Default: integrated-gradients for a run directory, occlusion "
            "for an .onnx file.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Which pixels made the model choose its answer, overlaid on the drawing."""
    info = write_saliency(model, image, out, method=method)
    typer.echo(f"{info['label']} ({100 * info['confidence']:.1f}%, {info['method']}) -> {out}")


def register(app: typer.Typer) -> None:
    app.command("eval")(eval_command)
    app.add_typer(viz_app, name="viz")
