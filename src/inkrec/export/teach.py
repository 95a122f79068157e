"""Teach an exported model new classes from a few drawings each, without training its backbone.

A new class is the mean of its drawings' embeddings. Beside the model's own logits it scores, with the
`teach` calibration the model carries (`inkrec.export.calibrate`), either `scale * cos(embedding, prototype)
+ bias` (the mean normalised: a prototype), or, for a model with a Gaussian head, exactly as the model's own
classes do, plus a bias. That is one small Gemm appended to the graph, so the taught file is an ordinary
inkrec model: it serves, evaluates and exports like any other, and the page computes the same formula from
the embedding output when a class is taught in the browser.

"Not sure" carries over: a taught model's open-set score is the larger of the base model's own (less its
threshold) and the best cosine to a taught prototype (less a threshold chosen leave-one-out on the taught
drawings: each drawing against its class's prototype without it).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from inkrec.data.dataset import open_dataset
from inkrec.errors import ConfigError, DataFormatError
from inkrec.export.calibrate import KNOWN_ACCEPT, gaussian_class, taught_bias, threshold_for
from inkrec.export.graph import add_embedding, replace_head
from inkrec.export.model_file import read_model_metadata, write_model
from inkrec.jsonio import read_json
from inkrec.preprocess.batch import bitmap_batch, dataset_batch, rasterize_drawings, simplified_stroke_batch
from inkrec.preprocess.simplify import simplify
from inkrec.preprocess.spec import STROKES, InputSpec
from inkrec.runtime import metadata as md
from inkrec.runtime.onnx_model import OnnxModel

__all__ = ["PAGE_FORMAT", "TaughtClass", "read_page_file", "read_teach_folder", "teach_model"]

PAGE_FORMAT = "inkrec-page-teach/1"
# Used when a model carries no `teach` calibration (exported before it existed, or without data).
DEFAULT_TEACH = {"scale": 16.0, "bias": -10.0}
_CLASS_SUFFIXES = (".npy", ".ndjson")


class TaughtClass:
    """One class to teach: its name and its drawings as the model's input batch."""

    def __init__(self, name: str, batch):
        self.name = name
        self.batch = batch

    def __len__(self) -> int:
        return len(self.batch[0]) if isinstance(self.batch, tuple) else len(self.batch)


def _declared_classes(folder: Path) -> list[str]:
    """Class names a teaching folder declares: its sub-folders and its per-class .npy/.ndjson files."""
    names = []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            names.append(entry.name)
        elif entry.suffix.lower() in _CLASS_SUFFIXES:
            names.append(entry.stem)
    return names


def read_teach_folder(folder: str | Path, spec: InputSpec) -> list[TaughtClass]:
    """The classes in a folder (a sub-folder of pictures, a numpy_bitmap `.npy` or a stroke `.ndjson` per
    class), each as the model's input. A class with no drawings is an error, not a silent omission."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ConfigError(f"teaching data {str(folder)!r} is not a folder (one sub-folder, .npy or .ndjson per class)")
    declared = _declared_classes(folder)
    if not declared:
        raise ConfigError(f"{folder} holds no class: give a sub-folder of pictures, a .npy or a .ndjson per class")
    empty = [name for name in declared if _is_empty(folder, name)]
    if empty:
        raise ConfigError(f"class(es) with no examples in {folder}: {', '.join(empty)}")
    ds = open_dataset(folder, split="all", progress=False)
    counts = np.bincount(np.asarray(ds.labels), minlength=len(ds.classes))
    missing = [c for c in declared if c not in ds.classes] + [c for c, n in zip(ds.classes, counts) if n == 0]
    if missing:
        raise ConfigError(f"class(es) with no examples in {folder}: {', '.join(sorted(set(missing)))}")
    out = []
    labels = np.asarray(ds.labels)
    for c, name in enumerate(ds.classes):
        rows = np.flatnonzero(labels == c)
        out.append(TaughtClass(name, dataset_batch(ds, rows, spec)))
    return out


def _is_empty(folder: Path, name: str) -> bool:
    sub = folder / name
    if sub.is_dir():
        return not any(p.is_file() and not p.name.startswith(".") for p in sub.rglob("*"))
    for suffix in _CLASS_SUFFIXES:
        f = folder / f"{name}{suffix}"
        if f.is_file():
            if f.stat().st_size == 0:
                return True
            if suffix == ".ndjson":
                with f.open("rb") as fh:
                    return not any(line.strip() for line in fh)
    return False


def _strokes(value, where: str) -> list[np.ndarray]:
    if not isinstance(value, list) or not value:
        raise DataFormatError(where, "a drawing must be a non-empty list of strokes")
    strokes = []
    for s in value:
        try:
            arr = np.asarray(s, dtype=np.float64)
        except (TypeError, ValueError):
            raise DataFormatError(where, "a stroke must be [[x...], [y...]] or [[x...], [y...], [t...]]") from None
        if arr.ndim != 2 or arr.shape[0] not in (2, 3) or arr.shape[1] == 0 or not np.isfinite(arr).all():
            raise DataFormatError(where, "a stroke must be [[x...], [y...]] or [[x...], [y...], [t...]] of numbers")
        strokes.append(arr)
    return strokes


def _simplified(strokes: list[np.ndarray]) -> list[np.ndarray]:
    """Raw page strokes (screen coordinates, times) are simplified exactly like the server does."""
    xy = np.concatenate([s[:2] for s in strokes], axis=1)
    raw = any(s.shape[0] == 3 for s in strokes) or xy.min() < 0 or xy.max() > 255 or (xy != np.floor(xy)).any()
    return simplify(strokes) if raw else strokes


def read_page_file(path: str | Path, spec: InputSpec) -> tuple[list[TaughtClass], dict]:
    """The classes taught in the page and exported from it (its "Teach me" file), as model input."""
    path = Path(path)
    try:
        doc = read_json(path)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise DataFormatError(path, f"not a page teaching file: not JSON ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != PAGE_FORMAT:
        raise DataFormatError(path, f"not a page teaching file (expected format {PAGE_FORMAT!r})")
    classes = doc.get("classes")
    if not isinstance(classes, list) or not classes:
        raise DataFormatError(path, "a page teaching file needs a non-empty 'classes' list")
    out = []
    for k, entry in enumerate(classes):
        if not isinstance(entry, dict) or not isinstance(entry.get("label"), str) or not entry["label"].strip():
            raise DataFormatError(path, f"class {k}: needs a 'label' string")
        drawings = entry.get("drawings")
        if not isinstance(drawings, list) or not drawings:
            raise ConfigError(f"class {entry['label']!r} in {path} has no examples")
        simple = [_simplified(_strokes(d, f"{path}: class {entry['label']!r}")) for d in drawings]
        if spec.kind == STROKES:
            batch = simplified_stroke_batch(simple, spec)
        else:
            batch = bitmap_batch(rasterize_drawings(simple, spec), spec)
        out.append(TaughtClass(entry["label"].strip(), batch))
    return out, doc


def _embed(model: OnnxModel, taught: TaughtClass) -> tuple[np.ndarray, np.ndarray]:
    return model.outputs(*taught.batch) if isinstance(taught.batch, tuple) else model.outputs(taught.batch)


def teach_model(
    model_path: str | Path,
    classes: Sequence[TaughtClass],
    out: str | Path,
    *,
    new_only: bool = False,
    model_id: str | None = None,
    known_accept: float = KNOWN_ACCEPT,
    source: str = "",
) -> dict:
    """Write `out`: the model at `model_path` with `classes` added (or, `new_only`, those alone)."""
    if not classes:
        raise ConfigError("nothing to teach: no classes given")
    names = [c.name for c in classes]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(f"classes named twice: {', '.join(dupes)}")
    empty = [c.name for c in classes if len(c) == 0]
    if empty:
        raise ConfigError(f"class(es) with no examples: {', '.join(empty)}")
    if new_only and len(classes) < 2:
        raise ConfigError("--new-only needs at least 2 classes (a model of one class cannot choose)")
    graph, meta = read_model_metadata(model_path)
    base_labels = list(meta["labels"])
    clash = sorted(set(names) & set(base_labels)) if not new_only else []
    if clash:
        raise ConfigError(f"the model already has class(es) {', '.join(clash)}: rename them, or use --new-only")
    add_embedding(graph, str(model_path))
    # the runtime reads the edited graph (an older file gains its embedding output here)
    staged = Path(out).with_name(f".{Path(out).name}.embedding.tmp")
    try:
        write_model(graph, staged, meta)
        base = OnnxModel(staged)
        embs = [_embed(base, c) for c in classes]
    finally:
        staged.unlink(missing_ok=True)
    cal = meta.get("teach") or DEFAULT_TEACH
    gaussian = cal.get("kind") == "gaussian"
    protos, rows, biases = [], [], []
    loo = []  # each drawing's cosine to its class's prototype made without it
    for _, e in embs:
        e = np.asarray(e, dtype=np.float64)
        total = e.sum(0)
        p = total / max(np.linalg.norm(total), 1e-12)
        protos.append(p)
        if gaussian:
            row, b = gaussian_class(e, np.asarray(cal["precision"]), taught_bias(cal, len(e)))
        else:
            row, b = float(cal["scale"]) * p, float(cal["bias"])
        rows.append(row)
        biases.append(b)
        if len(e) > 1:
            rest = total[None, :] - e
            rest /= np.maximum(np.linalg.norm(rest, axis=1, keepdims=True), 1e-12)
            loo.extend((rest * e).sum(1).tolist())
    protos = np.array(protos, dtype=np.float32)
    replace_head(graph, np.array(rows, dtype=np.float32), np.array(biases, dtype=np.float32), scale=1.0,
                 keep_base=not new_only, where=str(model_path))
    new_from = 0 if new_only else len(base_labels)
    cos_threshold = threshold_for(np.array(loo), known_accept) if loo else 0.5
    rule = {
        "score": "taught",
        "base": None if new_only else meta.get("open_set"),
        "prototypes": protos.tolist(),
        "new_from": new_from,
        "cos_threshold": cos_threshold,
        "threshold": 0.0,
        "known_accept": float(known_accept),
        "threshold_on": f"taught classes: {len(loo)} drawings, each against its prototype without it",
    }
    new_meta = dict(meta)
    new_meta.update(
        id=model_id or Path(out).stem,
        labels=(names if new_only else base_labels + names),
        open_set=rule,
        taught={
            "base": meta["id"],
            "new_only": bool(new_only),
            "classes": {c.name: len(c) for c in classes},
            "source": source,
            "calibration": "the base model's" if meta.get("teach") else "defaults (the base model has none)",
        },
        teach=cal,
        quantized=meta.get("quantized"),
    )
    if not md.valid_id(new_meta["id"]):
        raise ConfigError(f"model id {new_meta['id']!r}: use letters, digits, '.', '_' or '-' (at most 64)")
    write_model(graph, out, new_meta)
    OnnxModel(out)  # the taught file must load as any other model
    return {"path": str(out), "id": new_meta["id"], "labels": len(new_meta["labels"]), "taught": names,
            "examples": {c.name: len(c) for c in classes}, "cos_threshold": cos_threshold}
