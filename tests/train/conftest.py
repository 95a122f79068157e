"""Small real training subsets, so training tests take seconds on one core."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

FEW_CLASSES = ["apple", "banana", "clock"]


@pytest.fixture(autouse=True, scope="session")
def _one_thread():
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def bitmaps(quickdraw: Path) -> Path:
    return quickdraw / "numpy_bitmap"


@pytest.fixture(scope="session")
def simplified(quickdraw: Path) -> Path:
    return quickdraw / "simplified"


def tiny_config(data: Path, out: Path, **overrides) -> dict:
    """A few real drawings of three classes, two short epochs, one thread, nothing tracked."""
    cfg = dict(
        data=str(data), out=str(out), model="seed-cnn", classes=FEW_CLASSES, max_per_class=60, epochs=2,
        batch_size=32, lr=3e-3, threads=1, track=False, progress=False, seed=0,
    )
    cfg.update(overrides)
    return cfg
