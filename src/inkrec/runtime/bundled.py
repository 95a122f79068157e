"""Where the bundled models are found, for every command that takes a model id instead of a file."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["default_model_paths", "models_in"]


def models_in(folder: Path) -> list[Path]:
    """The .onnx files of a folder, by name; none when the folder is missing."""
    return sorted(folder.glob("*.onnx")) if folder.is_dir() else []


def default_model_paths() -> list[Path]:
    """The bundled models: `$INKREC_MODELS`, else `./models`, else the repository's `models/`."""
    env = os.environ.get("INKREC_MODELS")
    if env:
        return models_in(Path(env))
    for folder in (Path.cwd() / "models", Path(__file__).resolve().parents[3] / "models"):
        found = models_in(folder)
        if found:
            return found
    return []
