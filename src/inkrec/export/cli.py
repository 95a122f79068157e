"""`inkrec export RUN_DIR -o MODEL.onnx [--int8] [--web DIR]`."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from inkrec.errors import ConfigError
from inkrec.export.equip import equip
from inkrec.export.onnx import export_run
from inkrec.export.teach import read_page_file, read_teach_folder, teach_model
from inkrec.export.web import write_site
from inkrec.runtime.onnx_model import OnnxModel

console = Console(stderr=True)


def _fmt(key: str, v) -> str:
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 1e-2 and v != 0 else f"{v:.4f}"
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,} bytes" if key.endswith("bytes") else f"{v:,}"
    return str(v)


def export_cmd(
    run_dir: Annotated[Path, typer.Argument(
        help="A training run directory (runs/NAME with best.pt), or an inkrec .onnx file to give the embedding "
        "output and (with --data) the open-set rule and teaching calibration.")],
    out: Annotated[Path | None, typer.Option("-o", "--out", help="Where to write the ONNX model.")] = None,
    int8: Annotated[
        bool, typer.Option("--int8", help="Quantize to int8 (calibrated on real drawings).")
    ] = False,
    web: Annotated[
        Path | None, typer.Option("--web", help="Also write a static site (page + model) here.")
    ] = None,
    model_id: Annotated[
        str | None, typer.Option("--id", help="Model id (default: the output file's stem).")
    ] = None,
    data: Annotated[Path | None, typer.Option(
        "--data", help="For an .onnx input: the model's own data set, to fit its open-set rule (threshold on "
        "held-out drawings) and how taught classes score.")] = None,
    outliers: Annotated[Path | None, typer.Option(
        "--outliers", help="Drawings of other categories for outlier exposure (e.g. Quick, Draw! simplified); "
        "every other category the model lacks is used, the rest left unseen.")] = None,
    head: Annotated[str, typer.Option(
        "--head", help="The classifier: 'trained' (the model's own) or 'gaussian' (class means and one shared "
        "covariance on the embedding, fit on --data / the run's data: a class taught later is then one of the "
        "same kind).")] = "trained",
    lines: Annotated[
        bool | None,
        typer.Option(
            "--lines/--no-lines",
            help="Whether the model reads lines of characters (`inkrec read`); default: yes when every "
            "label is one character.",
        ),
    ] = None,
) -> None:
    """Export a trained run to ONNX with its labels, preprocessing, metrics and licence inside."""
    if out is None and web is None:
        raise ConfigError("give -o MODEL.onnx, --web DIR, or both")
    if run_dir.suffix.lower() == ".onnx":
        if out is None:
            raise ConfigError("give -o NEW.onnx for an .onnx input (it may be the same file)")
        with console.status(f"adding the embedding output to {run_dir} ..."):
            added = equip(run_dir, out, data=data, outliers=outliers, head=head)
        console.print(f"embedding output: yes; open-set rule: {'yes' if 'open_set' in added else 'no (give --data)'}")
        typer.echo(str(out))
        return
    with tempfile.TemporaryDirectory() as tmp:
        target = out or Path(tmp) / f"{model_id or run_dir.resolve().name}.onnx"
        with console.status(f"exporting {run_dir} ..."):
            report = export_run(run_dir, target, int8=int8, model_id=model_id, outliers=outliers, lines=lines,
                                head=head)
        table = Table(title=f"exported {report['id']}", show_header=False)
        for key, value in report.items():
            table.add_row(key, _fmt(key, value))
        console.print(table)
        if web is not None:
            with console.status(f"writing the static site to {web} ..."):
                write_site(target, web)
            console.print(f"static site written to {web}")
    if out is not None:
        typer.echo(str(out))


def teach_cmd(
    model: Annotated[Path, typer.Option("--model", help="An inkrec .onnx model to teach.")],
    out: Annotated[Path, typer.Option("-o", "--out", help="Where to write the taught model (.onnx).")],
    data: Annotated[Path | None, typer.Option(
        "--data", help="A folder with the new classes: a sub-folder of pictures, a numpy_bitmap .npy or a stroke "
        ".ndjson per class (a few drawings each).")] = None,
    from_page: Annotated[Path | None, typer.Option(
        "--from-page", help="The file the drawing page's \"Teach me\" exports.")] = None,
    new_only: Annotated[bool, typer.Option(
        "--new-only", help="Only the new classes (default: the model's own classes are kept).")] = False,
    model_id: Annotated[str | None, typer.Option("--id", help="Model id (default: the output file's stem).")] = None,
) -> None:
    """Add classes to a model from a few drawings each, without retraining it (prototypes on its embedding)."""
    if (data is None) == (from_page is None):
        raise ConfigError("give --data DIR or --from-page FILE (one of them)")
    spec = OnnxModel(model).spec
    if data is not None:
        classes, source = read_teach_folder(data, spec), str(data)
    else:
        classes, doc = read_page_file(from_page, spec)
        source = f"the drawing page ({doc.get('model') or 'model not named'})"
    report = teach_model(model, classes, out, new_only=new_only, model_id=model_id, source=source)
    console.print(
        f"taught {len(report['taught'])} class(es) to {report['id']} ({report['labels']} classes): "
        + ", ".join(f"{k} ({v})" for k, v in report["examples"].items())
    )
    typer.echo(str(out))


def register(app: typer.Typer) -> None:
    app.command("export")(export_cmd)
    app.command("teach")(teach_cmd)
