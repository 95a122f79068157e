"""A tiny model trained for real (a few steps on three Quick, Draw! categories), shared by the eval tests."""

from __future__ import annotations

from pathlib import Path

import pytest

CLASSES = ["apple", "banana", "fish"]


def train_tiny(data: Path, out: Path, model: str = "seed-cnn", **extra) -> Path:
    from inkrec.train.loop import train

    train(
        dict(
            data=str(data),
            model=model,
            out=str(out),
            classes=CLASSES,
            max_per_class=60,
            epochs=1,
            batch_size=32,
            threads=1,
            track=False,
            evaluate_test=False,
            progress=False,
            **extra,
        )
    )
    return out


@pytest.fixture(scope="session")
def bitmaps(quickdraw: Path) -> Path:
    return quickdraw / "numpy_bitmap"


@pytest.fixture(scope="session")
def tiny_run(bitmaps: Path, tmp_path_factory) -> Path:
    """A seed-cnn run directory, written by the training loop, on apple / banana / fish."""
    return train_tiny(bitmaps, tmp_path_factory.mktemp("runs") / "seed-cnn")


@pytest.fixture(scope="session")
def drawing_png(bitmaps: Path, tmp_path_factory) -> Path:
    """A real fish drawing as a user would upload it: dark ink on white, enlarged."""
    import numpy as np
    from PIL import Image

    from inkrec.data.formats.numpy_bitmap import load_bitmaps

    pixels = np.asarray(load_bitmaps(bitmaps / "fish.npy")[5]).reshape(28, 28)
    path = tmp_path_factory.mktemp("img") / "fish.png"
    Image.fromarray(255 - pixels).resize((280, 280), Image.Resampling.BILINEAR).save(path)
    return path
