"""Class probabilities for a data set from a trained model: a run directory (torch) or an `.onnx` (onnxruntime).

Both kinds of model are scored through one small interface so that `inkrec eval` reports the same figures
for a checkpoint and for the ONNX file exported from it; both get their input from `inkrec.preprocess.batch`,
driven by the preprocessing the model recorded.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from inkrec.errors import ConfigError
from inkrec.preprocess.batch import bitmap_batch, dataset_batch, picture_bitmap
from inkrec.preprocess.spec import BITMAP, InputSpec
from inkrec.runtime.onnx_model import OnnxModel
from inkrec.train.runs import load_run


def softmax(logits: np.ndarray) -> np.ndarray:
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


@dataclass
class LoadedModel:
    """A model to score or look into, from a run directory (torch) or an `.onnx` file (onnxruntime): its
    labels, what input it takes, and a batch function returning logits."""

    classes: list[str]
    spec: InputSpec
    logits_fn: Callable[..., np.ndarray]
    source: str  # "run" | "onnx"
    path: Path
    meta: dict = field(default_factory=dict)
    module: Any = None  # the torch module of a run directory, else None
    onnx: OnnxModel | None = None  # the onnxruntime model of an .onnx file, else None

    @property
    def kind(self) -> str:
        return self.spec.kind

    @property
    def size(self) -> int:
        return self.spec.size

    def predict(self, batch: Any) -> np.ndarray:
        """Probabilities (N, C) for one prepared batch (see `prepare_batch`)."""
        return softmax(self.logits_fn(batch))


def load_model(model: str | Path) -> LoadedModel:
    """A run directory (with best.pt) or an inkrec `.onnx` file; anything else is a ConfigError."""
    path = Path(model)
    if path.is_dir():
        return _load_run(path)
    if path.suffix.lower() == ".onnx":
        return _load_onnx(path)
    if not path.exists():
        raise ConfigError(f"model {str(path)!r} does not exist (give a run directory or a .onnx file)")
    raise ConfigError(f"model {str(path)!r} is neither a run directory nor a .onnx file")


def _load_run(path: Path) -> LoadedModel:
    module, meta = load_run(path)
    module.eval()

    def logits_fn(batch):
        with torch.inference_mode():
            if isinstance(batch, tuple):
                out = module(*(torch.from_numpy(np.ascontiguousarray(b)) for b in batch))
            else:
                out = module(torch.from_numpy(np.ascontiguousarray(batch)))
        return out.float().numpy()

    return LoadedModel([str(c) for c in meta["classes"]], InputSpec.from_meta(meta), logits_fn, "run", path, meta,
                       module=module)


def _load_onnx(path: Path) -> LoadedModel:
    model = OnnxModel(path)

    def logits_fn(batch):
        return model.logits(*batch) if isinstance(batch, tuple) else model.logits(batch)

    return LoadedModel(list(model.labels), model.spec, logits_fn, "onnx", path, model.meta, onnx=model)


# ------------------------------------------------------------------------------------------ label alignment


def align_labels(
    dataset_classes: Sequence[str], model_classes: Sequence[str], *, known_only: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """How to score a data set with a model whose label list may differ.

    Returns (`keep`: data-set class indices to evaluate, `to_model`: array mapping every data-set class index
    to the model's class index, -1 where the model lacks it). A data set whose classes are all known to the
    model is evaluated whole; one that holds every model class and more is restricted to the model's
    classes; one with classes the model lacks (and missing some of the model's) is refused, naming them,
    because a score over foreign labels would be meaningless, unless `known_only` asks for exactly that
    restriction (the kanji of a Japanese set that a Chinese model knows, say).
    """
    model_index = {c: i for i, c in enumerate(model_classes)}
    to_model = np.array([model_index.get(c, -1) for c in dataset_classes], dtype=np.int64)
    unknown = [c for c, m in zip(dataset_classes, to_model) if m < 0]
    if unknown:
        missing = sorted(set(model_classes) - set(dataset_classes))
        if missing and not known_only:
            raise ConfigError(
                f"the data set has {len(unknown)} label(s) the model does not know: {_names(unknown)} "
                f"(and lacks {len(missing)} of the model's: {_names(missing)}); "
                "the model and the data set do not share a class map (--known-only scores the samples "
                "whose labels the model knows)"
            )
    keep = np.flatnonzero(to_model >= 0)
    if keep.size == 0:
        raise ConfigError("the data set shares no label with the model")
    return keep, to_model


def _names(labels: Sequence[str], limit: int = 12) -> str:
    shown = ", ".join(repr(str(c)) for c in labels[:limit])
    return shown + (f", ... ({len(labels) - limit} more)" if len(labels) > limit else "")


# ---------------------------------------------------------------------------------------------- prediction


@dataclass
class Predictions:
    """Aligned results: `y_true` indexes `classes` (the model's labels), `indices` index the data set."""

    y_true: np.ndarray
    probs: np.ndarray
    classes: list[str]
    indices: np.ndarray
    dataset: Any

    def images(self, rows: np.ndarray, size: int | None = None) -> np.ndarray:
        """uint8 (k, H, W) pictures of the given prediction rows, for the failure gallery."""
        return self.dataset.bitmaps(self.indices[np.asarray(rows)], size=size)

    def restricted(self) -> Predictions:
        """The same predictions with the model's other classes ruled out: probabilities renormalised over the
        labels the data set has (a model of thousands of characters scored as a chooser among a test's few)."""
        present = np.isin(np.asarray(self.classes, dtype=object), list(self.dataset.classes))
        probs = np.where(present[None, :], self.probs, 0.0).astype(np.float32)
        probs /= np.maximum(probs.sum(axis=1, keepdims=True), np.finfo(np.float32).tiny)
        return Predictions(self.y_true, probs, self.classes, self.indices, self.dataset)


def prepare_batch(model: LoadedModel, dataset: Any, indices: np.ndarray, *, as_pictures: bool = False):
    """The model's input for the data set's samples at `indices`, as the model's recorded preprocessing says.

    `as_pictures`: each image is treated as a picture someone uploaded (normalised to white ink on black and
    framed like the model's drawings, `inkrec.preprocess.batch.picture_bitmap`), the path the server and the
    page take, instead of as a training bitmap of the data set's own size and framing. That is how a model
    learnt from other data (ink, synthetic handwriting) meets a collection of photos or scans."""
    spec = model.spec
    if as_pictures and spec.kind == BITMAP:
        if getattr(dataset, "kind", BITMAP) != BITMAP:
            raise ConfigError("--as-pictures takes a data set of pictures (an image folder or bitmaps), not ink")
        pictures = [np.asarray(dataset[int(i)][0]) for i in indices]
        return bitmap_batch(np.stack([picture_bitmap(p, spec) for p in pictures]), spec)
    return dataset_batch(dataset, indices, spec)


def predict_dataset(
    model: LoadedModel,
    dataset: Any,
    *,
    batch_size: int = 512,
    progress: bool = True,
    description: str = "predicting",
    as_pictures: bool = False,
    known_only: bool = False,
) -> Predictions:
    """Score every sample of `dataset` whose label the model knows (see `align_labels`)."""
    keep_classes, to_model = align_labels(list(dataset.classes), model.classes, known_only=known_only)
    labels = np.asarray(dataset.labels, dtype=np.int64)
    indices = np.flatnonzero(np.isin(labels, keep_classes))
    if indices.size == 0:
        raise ConfigError("the data set is empty: nothing to evaluate")
    probs = np.empty((indices.size, len(model.classes)), dtype=np.float32)
    with tqdm(total=int(indices.size), desc=description, unit="sample", disable=not progress) as bar:
        for start in range(0, indices.size, batch_size):
            chunk = indices[start : start + batch_size]
            probs[start : start + chunk.size] = model.predict(prepare_batch(model, dataset, chunk, as_pictures=as_pictures))
            bar.update(int(chunk.size))
    return Predictions(to_model[labels[indices]], probs, list(model.classes), indices, dataset)
