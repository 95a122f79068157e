"""JSON in one way: plain types, no NaN, atomic files.

Metrics, run records, manifests and reports are read by other programs (MLflow, a browser, `jq`), so every
JSON inkrec writes goes through `to_plain` (numpy and torch scalars and arrays become numbers and lists,
tuples lists, paths strings, NaN and infinities null, which JSON lacks) and `write_json` (atomic).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from inkrec.atomic import write_text_atomic


def to_plain(obj: Any) -> Any:
    """`obj` as JSON-able plain Python (dict keys become strings)."""
    if isinstance(obj, dict):
        return {str(k): to_plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [to_plain(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "tolist") and callable(obj.tolist):  # numpy arrays and scalars, torch tensors
        return to_plain(obj.tolist())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    return str(obj)


def dumps(obj: Any, *, indent: int | None = 2, sort_keys: bool = False) -> str:
    """`obj` as JSON text (UTF-8 characters kept, NaN written as null)."""
    return json.dumps(to_plain(obj), indent=indent, sort_keys=sort_keys, ensure_ascii=False, allow_nan=False)


def write_json(path: str | Path, obj: Any, *, sort_keys: bool = False) -> None:
    """Replace `path` with `obj` as indented JSON, atomically."""
    write_text_atomic(path, dumps(obj, sort_keys=sort_keys) + "\n")


def read_json(path: str | Path) -> Any:
    """The JSON in `path` (OSError or ValueError as json raises them)."""
    return json.loads(Path(path).read_text(encoding="utf-8"))
