"""The set of models one server holds, by id, and where the bundled ones are found."""

from __future__ import annotations

import os
from pathlib import Path

from inkrec.errors import ConfigError
from inkrec.runtime import metadata as md
from inkrec.runtime.bundled import default_model_paths, models_in
from inkrec.runtime.onnx_model import OnnxModel

__all__ = ["NO_MODELS", "ModelRegistry", "cpu_count", "default_model_paths", "models_in", "split_spec"]

NO_MODELS = (
    "no models loaded: start the server with `inkrec serve --model MODEL.onnx`, or put exported models "
    "in ./models (or set INKREC_MODELS to a folder of .onnx files)"
)


def cpu_count() -> int:
    """Cores this process may run on (respects taskset/cgroup affinity, unlike os.cpu_count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def split_spec(spec: str) -> tuple[str | None, Path]:
    """`--model path.onnx` or `--model id=path.onnx` (a file whose name holds '=' stays a path)."""
    if "=" in spec:
        head, tail = spec.split("=", 1)
        if md.valid_id(head) and not Path(spec).exists():
            return head, Path(tail)
    return None, Path(spec)


class ModelRegistry:
    """The models one server serves, by id; the first one is the default."""

    def __init__(self, specs: list[str | Path] | None = None, *, intra_op_threads: int = 1):
        self.models: dict[str, OnnxModel] = {}
        for spec in specs or []:
            model_id, path = split_spec(str(spec))
            model = OnnxModel(path, model_id=model_id, intra_op_threads=intra_op_threads)
            if model.id in self.models:
                raise ConfigError(
                    f"two models with the id {model.id!r} ({self.models[model.id].path} and {path}); "
                    f"name one with --model ID={path}"
                )
            self.models[model.id] = model

    def __len__(self) -> int:
        return len(self.models)

    def ids(self) -> list[str]:
        return list(self.models)

    def get(self, model_id: str | None) -> OnnxModel | None:
        if model_id is None:
            return next(iter(self.models.values()), None)
        return self.models.get(model_id)
