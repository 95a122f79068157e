"""A small doodle classifier in the inkrec ONNX layout, for the browser tests when no bundled model exists.

The browser tests need a model that actually recognises the 18 Quick, Draw! categories (an untrained
net gives near-ties, and near-ties make top-1 agreement between two runtimes a coin toss). A few hundred
steps of a tiny CNN on the real numpy_bitmap rows take seconds on one core and give clear winners.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]


def bundled_or_none(name: str = "doodles") -> Path | None:
    """A bundled model (models/NAME.onnx), when it exists and carries inkrec metadata."""
    path = REPO / "models" / f"{name}.onnx"
    if not path.is_file():
        return None
    try:
        import onnxruntime as ort

        meta = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).get_modelmeta()
        if "inkrec" in meta.custom_metadata_map:
            return path
    except Exception:  # noqa: BLE001 - a half-written or foreign file: train our own instead
        return None
    return None


def _train_split(quickdraw: Path, per_class: int, classes: list[str] | None = None
                 ) -> tuple[np.ndarray, np.ndarray, list[str]]:
    classes = list(classes) if classes else sorted(p.stem for p in (quickdraw / "numpy_bitmap").glob("*.npy"))
    xs, ys = [], []
    for i, name in enumerate(classes):
        rows = np.load(quickdraw / "numpy_bitmap" / f"{name}.npy", mmap_mode="r", allow_pickle=False)
        n_train = int(len(rows) * 0.8)  # the standard split: first 80% train
        take = min(per_class, n_train)
        xs.append(np.asarray(rows[:take]))
        ys.append(np.full(take, i, dtype=np.int64))
    return np.concatenate(xs), np.concatenate(ys), classes


def build(quickdraw: Path, out: Path, *, model_id: str = "doodles", size: int = 28, steps: int = 400,
          per_class: int = 1500, seed: int = 0, width: int = 16, classes: list[str] | None = None) -> Path:
    """Train a tiny CNN on the real bitmaps and export it with the inkrec metadata; return `out`."""
    import torch
    from torch import nn

    torch.manual_seed(seed)
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    x, y, classes = _train_split(quickdraw, per_class, classes)
    xt = torch.from_numpy(x.reshape(-1, 1, 28, 28).astype(np.float32) / 255.0)
    if size != 28:
        xt = nn.functional.interpolate(xt, size=(size, size), mode="bilinear", align_corners=False)
    yt = torch.from_numpy(y)
    w = width
    model = nn.Sequential(
        nn.Conv2d(1, w, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(w, 2 * w, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(2 * w, 4 * w, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
        nn.Flatten(), nn.Linear(4 * w, len(classes)),
    )
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    gen = torch.Generator().manual_seed(seed)
    model.train()
    for _ in range(steps):
        idx = torch.randint(0, len(yt), (128,), generator=gen)
        loss = nn.functional.cross_entropy(model(xt[idx]), yt[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp.onnx")
    with warnings.catch_warnings():  # the TorchScript exporter is deprecated, and quick for a tiny CNN
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.zeros(1, 1, size, size),), str(tmp), input_names=["input"],
                          output_names=["logits"], dynamic_axes={"input": {0: "n"}, "logits": {0: "n"}},
                          dynamo=False)
    import onnx

    proto = onnx.load(str(tmp))
    meta = {
        "format": "inkrec-onnx/1", "id": model_id, "labels": classes,
        "input": {"kind": "bitmap", "size": size, "channels": 1, "scale": 1 / 255},
        "preprocessing": {"line_diameter": 16, "padding": 16},
        "dataset": {"name": "Quick, Draw!", "source": "quickdraw-bitmap"},
        "metrics": {}, "license": "CC BY 4.0",
        "attribution": "Quick, Draw! data set by Google, licensed under CC BY 4.0.",
        "model": "tiny-cnn",
    }
    entry = proto.metadata_props.add()
    entry.key = "inkrec"
    entry.value = json.dumps(meta)
    onnx.save(proto, str(tmp))
    os.replace(tmp, out)
    return out
