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

__all__ = ["OnnxModel", "read_metadata", "softmax"]


def softmax(logits: np.ndarray) -> np.ndarray:
    """float32 probabilities of (N, C) logits, computed in float64."""
    z = np.asarray(logits, dtype=np.float64).copy()
    z -= z.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z.astype(np.float32)


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
        # files exported before the embedding output existed have none: they serve as before, unable to
        # teach or score open-set by distance
        self.has_embedding = "embedding" in out_names
        self.open_set: dict | None = md.open_set(self.meta, self.path)
        n_out = self.session.get_outputs()[out_names.index(self._output)].shape[-1]
        if isinstance(n_out, int) and n_out != len(self.labels):
            raise DataFormatError(self.path, f"model has {n_out} outputs but {len(self.labels)} labels")

    def logits(self, batch: np.ndarray, lengths: np.ndarray | None = None) -> np.ndarray:
        return self.session.run([self._output], self._feed(batch, lengths))[0]

    def _feed(self, batch: np.ndarray, lengths: np.ndarray | None) -> dict:
        feed = {"input": np.ascontiguousarray(batch, dtype=np.float32)}
        if "lengths" in self.input_names:
            if lengths is None:
                lengths = np.full((len(batch),), batch.shape[1], dtype=np.int64)
            feed["lengths"] = np.ascontiguousarray(lengths, dtype=np.int64)
        return feed

    def outputs(self, batch: np.ndarray, lengths: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
        """(logits, embedding) in one run; the embedding is None for a model without that output."""
        if not self.has_embedding:
            return self.logits(batch, lengths), None
        logits, emb = self.session.run([self._output, "embedding"], self._feed(batch, lengths))
        return logits, emb

    def embed(self, batch: np.ndarray, lengths: np.ndarray | None = None) -> np.ndarray:
        """The L2-normalised penultimate features (N, D); ConfigError for a model exported without them."""
        if not self.has_embedding:
            raise ConfigError(
                f"{self.path} has no 'embedding' output (exported by an older inkrec); add it with "
                f"`inkrec export {self.path} -o NEW.onnx`"
            )
        return self.outputs(batch, lengths)[1]

    def predict(self, batch: np.ndarray, lengths: np.ndarray | None = None) -> np.ndarray:
        """Class probabilities (softmax of the logits), float32 (N, classes)."""
        return softmax(self.logits(batch, lengths))

    def predict_open(self, batch: np.ndarray, lengths: np.ndarray | None = None
                     ) -> tuple[np.ndarray, np.ndarray | None]:
        """(probabilities, open-set score or None): the score only for a model that carries an open-set rule."""
        if self.open_set is None:
            return self.predict(batch, lengths), None
        logits, emb = self.outputs(batch, lengths) if self.has_embedding else (self.logits(batch, lengths), None)
        return softmax(logits), md.open_set_score(self.open_set, logits, emb)

    def not_sure(self, score: float | None) -> bool | None:
        """Whether an open-set score falls below the model's threshold (None when it has no open-set rule)."""
        if score is None or self.open_set is None:
            return None
        return bool(score < float(self.open_set["threshold"]))

    def top_k(self, probs: np.ndarray, k: int) -> list[dict]:
        """The k most likely labels of one row of probabilities, most likely first."""
        k = min(k, len(self.labels))
        if k < len(probs):  # thousands of labels: partition first, then order only the k best
            best = np.argpartition(-probs, k - 1)[:k]
            idx = best[np.lexsort((best, -probs[best]))].tolist()
        else:
            idx = np.argsort(-probs, kind="stable").tolist()
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
            "embedding": self.has_embedding,
            "open_set": self.open_set,
            "teach": m.get("teach"),
            **md.page_fields(m),
            "url": f"/v1/models/{self.id}/model.onnx",
        }
