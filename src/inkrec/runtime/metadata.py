"""The metadata an inkrec ONNX model carries inside itself.

A model file must be usable on its own: the server, the page and the static site learn the labels, the
input size and the ink preprocessing from the file, never from a side file or a default that could drift
(a model trained on strokes rasterized one way and served strokes rasterized another way answers nonsense
with full confidence). This module is the one place that knows the layout; it needs neither torch nor the
`onnx` package, so the slim serving install can use it.

Layout (JSON under the `metadata_props` key `inkrec`)::

    {"format": "inkrec-onnx/1", "id": "doodles", "labels": [...],
     "input": {"kind": "bitmap", "size": 28, "channels": 1, "scale": 1/255},
     "preprocessing": {... the rasterizer's parameters ...},
     "dataset": {"name": ..., "source": ..., "path": ...},
     "metrics": {...}, "license": "...", "attribution": "...", "citation": "...", "weights_license": "...",
     "model": "seed-cnn", "quantized": null, "lines": true}

`license` is the training data's licence, `weights_license` the terms of the model's own weights (both from
`inkrec.data.terms`). `lines` says whether the model can read a line of several characters (`inkrec read`,
`POST /v1/read`): true for a model of written characters (digits, Chinese), false for one of doodles. Export
writes it (`line_reader_default`: every label one character), `inkrec export --lines/--no-lines` overrides
it; a file without it is judged by the same rule (`reads_lines`).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from inkrec.errors import DataFormatError

METADATA_KEY = "inkrec"
FORMAT = "inkrec-onnx/1"
LINES_KEY = "lines"
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")

def valid_id(model_id: str) -> bool:
    """Model ids appear in URLs and JSON: letters, digits, '.', '_' and '-' only."""
    return bool(_ID_RE.match(model_id))


def line_reader_default(labels: list[str]) -> bool:
    """Whether a model of these labels reads lines when nobody says otherwise: each label one character
    (a character of a line is one label; doodles' multi-letter words are not characters of text)."""
    return bool(labels) and all(len(label) == 1 and not label.isspace() for label in labels)


def reads_lines(meta: dict) -> bool:
    """Whether the model with this metadata can read a line of characters."""
    flag = meta.get(LINES_KEY)
    return flag if isinstance(flag, bool) else line_reader_default(list(meta.get("labels") or []))


def validate(meta: Any, path: str | Path) -> dict:
    """Check that `meta` (parsed JSON) is inkrec model metadata; return it or raise DataFormatError."""
    if not isinstance(meta, dict):
        raise DataFormatError(path, f"'{METADATA_KEY}' metadata is not a JSON object")
    if meta.get("format") != FORMAT:
        raise DataFormatError(
            path, f"unsupported metadata format {meta.get('format')!r} (expected {FORMAT!r})"
        )
    labels = meta.get("labels")
    if not isinstance(labels, list) or not labels or not all(isinstance(x, str) for x in labels):
        raise DataFormatError(path, "metadata 'labels' must be a non-empty list of strings")
    inp = meta.get("input")
    if not isinstance(inp, dict) or inp.get("kind") not in ("bitmap", "strokes"):
        raise DataFormatError(path, "metadata 'input.kind' must be 'bitmap' or 'strokes'")
    if inp["kind"] == "bitmap":
        size = inp.get("size")
        if not isinstance(size, int) or not 4 <= size <= 1024:
            raise DataFormatError(path, f"metadata 'input.size' must be an int in 4..1024, got {size!r}")
    if not isinstance(meta.get("id"), str) or not valid_id(meta["id"]):
        raise DataFormatError(path, f"metadata 'id' is not a valid model id: {meta.get('id')!r}")
    if not isinstance(meta.get("preprocessing", {}), dict):
        raise DataFormatError(path, "metadata 'preprocessing' must be a JSON object")
    if not isinstance(meta.get(LINES_KEY, False), bool):
        raise DataFormatError(path, f"metadata '{LINES_KEY}' must be true or false")
    return meta


def parse(text: str | None, path: str | Path) -> dict:
    """Parse the JSON string stored under the `inkrec` key."""
    if text is None:
        raise DataFormatError(path, f"not an inkrec model: no '{METADATA_KEY}' metadata in this ONNX file")
    try:
        meta = json.loads(text)
    except ValueError as exc:
        raise DataFormatError(path, f"'{METADATA_KEY}' metadata is not valid JSON: {exc}") from None
    return validate(meta, path)


def dumps(meta: dict) -> str:
    return json.dumps(meta, ensure_ascii=False, sort_keys=True, allow_nan=False)
