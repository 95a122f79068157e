"""`inkrec read --model ID|MODEL.onnx [--json OUT] FILE...`: lines of writing, as pictures or as ink, to text.

A FILE is a picture of one line (PNG/JPEG/..., either polarity, photos too) or an ndjson of drawings, one
line of writing per ndjson line; an ndjson line's `word`, when present, is the truth, and the command then
also prints the accuracy over all such lines.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from inkrec.data.formats.ndjson import iter_ndjson
from inkrec.errors import ConfigError
from inkrec.jsonio import write_json
from inkrec.read.reader import LineReader
from inkrec.read.score import LineScore
from inkrec.runtime import metadata as md
from inkrec.runtime.bundled import default_model_paths
from inkrec.runtime.onnx_model import OnnxModel

_stderr = Console(stderr=True, highlight=False, soft_wrap=True)
NDJSON_SUFFIXES = (".ndjson", ".jsonl", ".ndjson.gz")


def resolve_model(spec: str) -> OnnxModel:
    """An .onnx path, or the id of a bundled model (`inkrec serve`'s model folder)."""
    path = Path(spec)
    if path.is_file():
        return OnnxModel(path)
    if md.valid_id(spec) and not spec.endswith(".onnx"):
        bundled = {p.stem: p for p in default_model_paths()}
        if spec in bundled:
            return OnnxModel(bundled[spec])
        raise ConfigError(f"no bundled model {spec!r}; bundled: {', '.join(sorted(bundled)) or 'none'}")
    raise ConfigError(f"no such model file: {spec}")


def _is_ndjson(path: Path) -> bool:
    return any(path.name.lower().endswith(s) for s in NDJSON_SUFFIXES)


def read_command(
    files: Annotated[list[Path], typer.Argument(help="Pictures of one line each, or ndjson files of lines.")],
    model: Annotated[str, typer.Option("--model", help="A bundled model's id or an inkrec .onnx file.")],
    json_out: Annotated[Path | None, typer.Option("--json", help="Write every reading here (JSON).")] = None,
    top_k: Annotated[int, typer.Option("--top-k", min=1, max=100, help="Alternatives per character.")] = 5,
) -> None:
    """Read lines of handwriting (several characters written in one go) with a model of characters."""
    reader = LineReader(resolve_model(model), top_k=top_k)
    results = []
    score = LineScore()
    for path in files:
        if not path.is_file():
            raise ConfigError(f"no such file: {path}")
        if _is_ndjson(path):
            for index, drawing in enumerate(iter_ndjson(path)):
                reading = reader.read_strokes(drawing.strokes)
                typer.echo(reading.text)
                if drawing.word:
                    score.add(reading.text, drawing.word)
                results.append({"file": str(path), "line": index, **reading.to_json()})
        else:
            reading = reader.read_image(path)
            typer.echo(reading.text)
            results.append({"file": str(path), "line": 0, **reading.to_json()})
    if score.lines:
        _stderr.print(score.summary())
    if json_out is not None:
        write_json(json_out, results)
        _stderr.print(f"readings: {json_out}")


def register(app: typer.Typer) -> None:
    app.command("read")(read_command)
