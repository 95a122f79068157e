"""The HTML report: files written, labels escaped, readable at many classes."""

from __future__ import annotations

import numpy as np
from PIL import Image

from inkrec.evaluate.report import write_report


def _case(n_classes: int, n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, n)
    logits = rng.normal(size=(n, n_classes))
    logits[np.arange(n), y] += 2.0
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    return y, probs, images


def test_report_files_and_escaping(tmp_path):
    classes = ["cat", "<script>alert(1)</script>", "fish & chips", "dog"]
    y, probs, images = _case(4, 200)
    history = [
        {"epoch": 1, "train_loss": 1.2, "val_loss": 1.1, "val_top1": 0.5, "lr": 1e-3, "seconds": 1.0},
        {"epoch": 2, "train_loss": 0.8, "val_loss": 0.9, "val_top1": 0.6, "lr": 5e-4, "seconds": 1.0},
    ]
    page = write_report(tmp_path / "rep", y, probs, classes, images=images, history=history, max_failures=10)
    text = page.read_text(encoding="utf-8")
    assert "<script>alert" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "fish &amp; chips" in text
    for name in ("confusion.png", "confidence.png", "reliability.png", "learning_curves.png"):
        assert (tmp_path / "rep" / name).stat().st_size > 1000
        assert f"src='{name}'" in text
    n_wrong = int((probs.argmax(1) != y).sum())
    gallery = sorted((tmp_path / "rep" / "failures").glob("*.png"))
    assert len(gallery) == min(10, n_wrong)
    assert Image.open(gallery[0]).size == (84, 84)
    assert "ECE" in text and "Most confused pairs" in text and "Least recognised" in text
    assert not list((tmp_path / "rep").glob("*.tmp"))
    assert not (tmp_path / "rep" / "confusion_top.png").exists()  # four classes need no close-up


def test_report_at_345_classes_without_images(tmp_path):
    classes = [f"category {i}" for i in range(345)]
    y, probs, _ = _case(345, 3000, seed=1)
    page = write_report(tmp_path, y, probs, classes, top_pairs=25)
    text = page.read_text(encoding="utf-8")
    assert text.count("<tr><td class='num'>") == 25  # ranked confused pairs
    img = Image.open(tmp_path / "confusion.png")
    assert min(img.size) >= 1000  # large enough that each of 345 rows has pixels
    # The labelled close-up of the classes in the worst confusions.
    assert "src='confusion_top.png'" in text and (tmp_path / "confusion_top.png").stat().st_size > 1000
    assert "No images available" in text
    assert "No training history" in text
