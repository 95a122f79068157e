"""An exported inkrec model: an ONNX file that carries its own labels and preprocessing, run by onnxruntime.

The one loader of model files for evaluation, export checks and the server. Only onnxruntime and numpy: it
works in the slim serving install, without torch or the `onnx` package.

Threads: a server answers many small requests side by side (one inference thread per core), not one 28x28
drawing split across cores; each session therefore runs on one intra-op thread by default and never spins
idle threads that would steal the cores the other requests need.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort

from inkrec.errors import ConfigError, DataFormatError
from inkrec.preprocess.spec import InputSpec
from inkrec.runtime import metadata as md

__all__ = ["OnnxModel", "read_metadata"]


def read_metadata(path: str | Path) -> dict:
    """The inkrec metadata of an ONNX file; DataFormatError for a file that is not ONNX or not ours."""
    return OnnxModel(path).meta


class OnnxModel:
    """One exported inkrec model: its metadata and an onnxruntime session."""

    def __init__(self, path: str | Path, *, model_id: str | None = None, intra_op_threads: int = 1):
        self.path = Path(path)
        if not self.path.is_file():
            raise DataFormatError(self.path, "no such file")
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
        self.spec = InputSpec.from_meta(self.meta)
        self.input_names = [i.name for i in self.session.get_inputs()]
        if "input" not in self.input_names:
            raise DataFormatError(self.path, f"model has no input named 'input' (inputs: {self.input_names})")
        out_names = [o.name for o in self.session.get_outputs()]
        self._output = "logits" if "logits" in out_names else out_names[0]
        n_out = self.session.get_outputs()[out_names.index(self._output)].shape[-1]
        if isinstance(n_out, int) and n_out != len(self.labels):
            raise DataFormatError(self.path, f"model has {n_out} outputs but {len(self.labels)} labels")

    def logits(self, batch: np.ndarray, lengths: np.ndarray | None = None) -> np.ndarray:
        feed = {"input": np.ascontiguousarray(batch, dtype=np.float32)}
        if "lengths" in self.input_names:
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
            "lines": md.reads_lines(m),
            "url": f"/v1/models/{self.id}/model.onnx",
        }
