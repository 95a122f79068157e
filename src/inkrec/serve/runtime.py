"""Running exported models with onnxruntime, and the set of models one server holds.

Only onnxruntime and numpy here: this is the slim serving install, with no torch.

Threads: the server answers many small requests at once, so parallelism comes from running several
requests side by side (one inference thread per core, see `inkrec.serve.app`), not from splitting one
28x28 drawing across cores; each session therefore runs on one intra-op thread by default, and never
spins idle threads that would steal the cores the other requests need.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from inkrec.errors import ConfigError, DataFormatError
from inkrec.export import metadata as md

__all__ = ["ModelRegistry", "OnnxModel", "cpu_count", "default_model_paths"]


def cpu_count() -> int:
    """Cores this process may run on (respects taskset/cgroup affinity, unlike os.cpu_count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


class OnnxModel:
    """One exported inkrec model: its metadata and an onnxruntime session."""

    def __init__(self, path: str | Path, *, model_id: str | None = None, intra_op_threads: int = 1):
        import onnxruntime as ort

        self.path = Path(path)
        if not self.path.is_file():
            raise DataFormatError(self.path, "no such model file")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = max(1, int(intra_op_threads))
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.log_severity_level = 3
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        opts.add_session_config_entry("session.inter_op.allow_spinning", "0")
        try:
            self.session = ort.InferenceSession(str(self.path), opts, providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001 - onnxruntime raises several unrelated types
            raise DataFormatError(self.path, f"not an ONNX model ({type(exc).__name__}: {exc})") from None
        custom = self.session.get_modelmeta().custom_metadata_map
        self.meta: dict = md.parse(custom.get(md.METADATA_KEY), self.path)
        if model_id is not None:
            if not md.valid_id(model_id):
                raise ConfigError(f"model id {model_id!r}: use letters, digits, '.', '_' or '-'")
            self.meta = dict(self.meta, id=model_id)
        self.id: str = self.meta["id"]
        self.labels: list[str] = list(self.meta["labels"])
        self.kind: str = self.meta["input"]["kind"]
        self.size: int | None = self.meta["input"].get("size")
        self.channels: int = int(self.meta["input"].get("channels", 1))
        self._inputs = [i.name for i in self.session.get_inputs()]
        if "input" not in self._inputs:
            raise DataFormatError(self.path, f"model has no input named 'input' (inputs: {self._inputs})")
        out_names = [o.name for o in self.session.get_outputs()]
        self._output = "logits" if "logits" in out_names else out_names[0]
        n_out = self.session.get_outputs()[out_names.index(self._output)].shape[-1]
        if isinstance(n_out, int) and n_out != len(self.labels):
            raise DataFormatError(self.path, f"model has {n_out} outputs but {len(self.labels)} labels")

    def logits(self, batch: np.ndarray, lengths: np.ndarray | None = None) -> np.ndarray:
        feed = {"input": np.ascontiguousarray(batch, dtype=np.float32)}
        if "lengths" in self._inputs:
            if lengths is None:
                lengths = np.full((len(batch),), batch.shape[1], dtype=np.int64)
            feed["lengths"] = np.ascontiguousarray(lengths, dtype=np.int64)
        return self.session.run([self._output], feed)[0]

    def predict(self, batch: np.ndarray, lengths: np.ndarray | None = None) -> np.ndarray:
        """Class probabilities (softmax of the logits), float32 (N, classes)."""
        z = self.logits(batch, lengths).astype(np.float64)
        z -= z.max(axis=1, keepdims=True)
        np.exp(z, out=z)
        z /= z.sum(axis=1, keepdims=True)
        return z.astype(np.float32)

    def top_k(self, probs: np.ndarray, k: int) -> list[dict]:
        """The k most likely labels of one row of probabilities, most likely first."""
        idx = np.argsort(-probs, kind="stable")[: min(k, len(self.labels))].tolist()
        values = probs.tolist()
        return [{"label": self.labels[i], "probability": values[i]} for i in idx]

    def info(self) -> dict:
        m = self.meta
        return {
            "id": self.id,
            "labels": self.labels,
            "input": m["input"],
            "preprocessing": m.get("preprocessing") or {},
            "architecture": m.get("model"),
            "metrics": m.get("metrics") or {},
            "dataset": m.get("dataset"),
            "license": m.get("license") or "",
            "attribution": m.get("attribution") or "",
            "quantized": m.get("quantized"),
            "url": f"/v1/models/{self.id}/model.onnx",
        }


def _split_spec(spec: str) -> tuple[str | None, Path]:
    """`--model path.onnx` or `--model id=path.onnx`."""
    if "=" in spec:
        head, tail = spec.split("=", 1)
        if md.valid_id(head) and not Path(spec).exists():
            return head, Path(tail)
    return None, Path(spec)


def default_model_paths() -> list[Path]:
    """The bundled models: `$INKREC_MODELS`, else `./models`, else the repository's `models/`."""
    env = os.environ.get("INKREC_MODELS")
    candidates = (
        [Path(env)] if env else [Path.cwd() / "models", Path(__file__).resolve().parents[3] / "models"]
    )
    for folder in candidates:
        if folder.is_dir():
            found = sorted(folder.glob("*.onnx"))
            if found:
                return found
    return []


class ModelRegistry:
    """The models one server serves, by id; the first one is the default."""

    def __init__(self, specs: list[str | Path] | None = None, *, intra_op_threads: int = 1):
        self.models: dict[str, OnnxModel] = {}
        for spec in specs or []:
            model_id, path = _split_spec(str(spec))
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
