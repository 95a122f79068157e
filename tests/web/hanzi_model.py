"""A stand-in for a big character model: inknet with one output per character of the `zh` vocabulary
(15,433 classes), exported to ONNX and quantized to int8 by the project's own export code.

The writing pad's speed and its agreement with the Python pipeline depend on the model's size, its class
count and its int8 graph, not on how well it recognises anything; an untrained net of the bundled
Chinese model's size (~8 MB int8) exercises exactly that, in seconds. Calibration uses deterministic
scribbles rasterized by inkrec.preprocess (no data set: the model learns nothing from it).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

STANDIN_ID = "hanzi-standin"
STANDIN_SIZE = 64
STANDIN_WIDTH = 80  # ~7.5 MB int8 with 15,433 classes: the bundled Chinese model's budget is 8 MB
STANDIN_VERSION = "w80-bn"  # names the cached file: change it with the recipe


def scribbles(n: int, size: int, seed: int = 0) -> np.ndarray:
    """`n` rasterized random scribbles (3-9 strokes of 2-12 points), float32 (n, 1, size, size) in 0..1."""
    from inkrec.preprocess.raster import rasterize_many

    rng = np.random.default_rng(seed)
    drawings = []
    for _ in range(n):
        strokes = []
        for _ in range(int(rng.integers(3, 10))):
            k = int(rng.integers(2, 13))
            start = rng.uniform(0, 255, 2)
            pts = np.clip(start[:, None] + np.cumsum(rng.normal(0, 30, (2, k)), axis=1), 0, 255)
            strokes.append(pts.round())
        drawings.append(strokes)
    return (rasterize_many(drawings, size).astype(np.float32) / 255.0)[:, None]


def build(out: Path, *, model_id: str = STANDIN_ID, size: int = STANDIN_SIZE, width: int = STANDIN_WIDTH,
          seed: int = 0) -> Path:
    """Export the stand-in (int8, `zh` labels, the bundled models' preprocessing) to `out`; return it."""
    import torch

    from inkrec.data.charsets import charset
    from inkrec.export.onnx import export_model
    from inkrec.export.quantize import quantize_int8
    from inkrec.models import create_model
    from inkrec.runtime.onnx_model import read_metadata

    labels = charset("zh")
    torch.manual_seed(seed)
    model = create_model("inknet", len(labels), image_size=size, width=width).eval()
    # Untrained, every drawing gets about the same features and so the same top 10, decided by differences
    # far below the int8 rounding of two runtimes. Batch-norm statistics measured on scribbles give each
    # channel a drawing-dependent spread, and centring the scores on the scribbles' mean feature makes the
    # candidates depend on the drawing, with gaps between them like a trained model's.
    calibrate = torch.from_numpy(scribbles(512, size, seed + 1))
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.reset_running_stats()
            m.momentum = None  # a plain average over the batches
            if m.weight is not None:
                torch.nn.init.ones_(m.weight)
    with torch.no_grad():
        model.train()
        for batch in calibrate.split(128):
            model.features(batch)
        model.eval()
        feats = model.pool(model.features(calibrate)).flatten(1)
        feats = (feats - feats.mean(0)) / (feats.std(0) + 1e-6)
        model.fc.weight.normal_(0.0, 1.0 / feats.shape[1] ** 0.5)
        model.fc.bias.zero_()
        scale = 1.0 / (model.pool(model.features(calibrate)).flatten(1).std(0) + 1e-6)
        model.fc.weight.mul_(scale)
        model.fc.bias.copy_(-model.fc.weight @ model.pool(model.features(calibrate)).flatten(1).mean(0))
    reference = read_metadata(Path(__file__).resolve().parents[2] / "models" / "hanzi-numerals.onnx")
    meta = {
        "format": "inkrec-onnx/1", "id": model_id, "labels": labels,
        "input": {"kind": "bitmap", "size": size, "channels": 1, "scale": 1 / 255},
        "preprocessing": reference["preprocessing"], "vocabulary": "zh",
        "dataset": {"name": "none (untrained stand-in)", "source": None, "path": None},
        "metrics": {}, "license": "", "attribution": "An untrained stand-in for the page's tests.",
        "model": "inknet", "quantized": None,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        fp32 = export_model(model, meta, Path(tmp) / "fp32.onnx")
        part = out.with_suffix(".part.onnx")
        quantize_int8(fp32, part, calibration=scribbles(64, size, seed))
        part.replace(out)
    return out


if __name__ == "__main__":
    import sys

    print(build(Path(sys.argv[1])))
