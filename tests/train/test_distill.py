"""Knowledge distillation and pen-width augmentation, on real digits."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from inkrec.errors import ConfigError
from inkrec.train.augment import vary_pen
from inkrec.train.config import make_config
from inkrec.train.distill import Teachers, distillation_loss
from inkrec.train.loop import train


def test_the_loss_mixes_labels_and_teachers():
    torch.manual_seed(0)
    logits = torch.randn(16, 10)
    y = torch.randint(0, 10, (16,))
    teacher = F.softmax(torch.randn(16, 10), dim=1)
    ce = F.cross_entropy(logits, y, label_smoothing=0.1)
    assert torch.allclose(distillation_loss(logits, y, teacher, weight=0.0, temperature=3.0, label_smoothing=0.1), ce)
    # a teacher that says exactly what the student says adds nothing: the soft term is zero
    own = F.softmax(logits / 2.0, dim=1)
    both = distillation_loss(logits, y, own, weight=0.5, temperature=2.0, label_smoothing=0.1)
    assert torch.allclose(both, 0.5 * ce, atol=1e-6)
    # and one that disagrees costs more
    assert distillation_loss(logits, y, teacher, weight=0.5, temperature=2.0, label_smoothing=0.1) > both


def test_pen_variation_thickens_and_thins_only_the_share_asked_for():
    x = torch.zeros(64, 1, 28, 28)
    x[:, :, 10:18, 13:15] = 1.0  # a 2-pixel stroke
    same = vary_pen(x, 0.0, torch.Generator().manual_seed(0))
    assert same is x
    varied = vary_pen(x, 1.0, torch.Generator().manual_seed(0))
    ink = varied.sum(dim=(1, 2, 3))
    assert (ink > x[0].sum() + 1).any() and (ink < x[0].sum() - 1).any()  # thicker and thinner pens
    assert (varied <= 1).all() and (varied >= 0).all()
    half = vary_pen(x, 0.25, torch.Generator().manual_seed(1))
    changed = (half != x).flatten(1).any(dim=1).float().mean()
    assert 0.1 < changed < 0.45


@pytest.fixture(scope="module")
def teacher_run(tmp_path_factory, datasets: Path) -> Path:
    out = tmp_path_factory.mktemp("teacher") / "run"
    train(make_config(data=str(datasets / "mnist"), model="inknet", model_kwargs={"width": 8}, out=str(out),
                      epochs=2, max_per_class=60, val_fraction=0.0, track=False, evaluate_test=False,
                      progress=False, verbose=False, threads=1))
    return out


def test_a_student_learns_from_a_teacher_run(teacher_run: Path, tmp_path: Path, datasets: Path):
    cfg = make_config(data=str(datasets / "mnist"), model="inknet", model_kwargs={"width": 4},
                      out=str(tmp_path / "student"), epochs=2, max_per_class=60, val_fraction=0.0, track=False,
                      evaluate_test=False, progress=False, verbose=False, threads=1, teacher=[str(teacher_run)],
                      distill_weight=0.5, pen=0.3)
    result = train(cfg)
    assert len(result.history) == 2 and all(h["train_loss"] > 0 for h in result.history)
    saved = json.loads((tmp_path / "student" / "config.json").read_text())
    assert saved["teacher"] == [str(teacher_run)] and saved["pen"] == 0.3


def test_a_teacher_of_other_classes_is_refused(teacher_run: Path, datasets: Path):
    with pytest.raises(ConfigError, match="other classes"):
        Teachers([str(teacher_run)], [str(i) for i in range(9)], torch.device("cpu"))
    with pytest.raises(ConfigError):
        make_config(data="x", distill_weight=1.5)
