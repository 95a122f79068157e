"""Fixtures for the export tests: a small CNN trained for a few seconds on real drawings, and its ONNX export."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from inkrec.data.formats.numpy_bitmap import load_bitmaps
from inkrec.export.onnx import build_metadata, export_model
from inkrec.preprocess.raster import RASTER_PARAMS


@dataclass
class TinyModel:
    """A small CNN trained for a few seconds on real numpy_bitmap drawings, and its ONNX export."""

    torch_model: nn.Module
    onnx_path: Path
    meta: dict
    x_train: np.ndarray  # float32 (N, 1, 28, 28)
    x_test: np.ndarray
    y_test: np.ndarray


@pytest.fixture(scope="session")
def bitmaps(quickdraw: Path):
    """Standard split of the shared numpy_bitmap files: first 80% train, last 20% test, per category."""
    classes = sorted(p.stem for p in (quickdraw / "numpy_bitmap").glob("*.npy"))
    xtr, ytr, xte, yte = [], [], [], []
    for i, name in enumerate(classes):
        a = load_bitmaps(quickdraw / "numpy_bitmap" / f"{name}.npy")
        cut = int(len(a) * 0.8)
        xtr.append(np.asarray(a[:160]))
        ytr.append(np.full(160, i))
        xte.append(np.asarray(a[cut : cut + 50]))
        yte.append(np.full(50, i))

    def prep(parts):
        return np.concatenate(parts).reshape(-1, 1, 28, 28).astype(np.float32) / 255.0

    return classes, prep(xtr), np.concatenate(ytr), prep(xte), np.concatenate(yte)


def train_tiny(x: np.ndarray, y: np.ndarray, n_classes: int, epochs: int = 2) -> nn.Module:
    torch.manual_seed(0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small batches: one thread is fastest, and CI's cores are shared
    model = nn.Sequential(
        nn.Conv2d(1, 12, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(12, 24, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(24 * 7 * 7, 64),
        nn.ReLU(),
        nn.Linear(64, n_classes),
    )
    opt = torch.optim.Adam(model.parameters(), 3e-3)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    gen = torch.Generator().manual_seed(0)
    for _ in range(epochs):
        perm = torch.randperm(len(xt), generator=gen)
        for i in range(0, len(xt), 64):
            b = perm[i : i + 64]
            loss = nn.functional.cross_entropy(model(xt[b]), yt[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
    torch.set_num_threads(threads)
    return model.eval()


@pytest.fixture(scope="session")
def tiny_doodles(bitmaps, tmp_path_factory, quickdraw: Path) -> TinyModel:
    classes, xtr, ytr, xte, yte = bitmaps
    model = train_tiny(xtr, ytr, len(classes))
    run_meta = {
        "format": "inkrec-run/1",
        "model": "tiny-cnn",
        "classes": classes,
        "input": {"kind": "bitmap", "size": 28, "channels": 1, "scale": 1 / 255},
        "preprocessing": dict(RASTER_PARAMS),
        "data": {"path": str(quickdraw / "numpy_bitmap"), "source": "quickdraw-bitmap"},
        "metrics": {"test": {"top1": 0.5}},
    }
    meta = build_metadata(run_meta, model_id="doodles")
    out = tmp_path_factory.mktemp("tiny") / "doodles.onnx"
    export_model(model, meta, out)
    return TinyModel(model, out, meta, xtr, xte, yte)
