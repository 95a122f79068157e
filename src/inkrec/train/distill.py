"""Knowledge distillation: a small model learns from a wide teacher's answers as well as from the labels.

The bundled models must be small enough to guess in a fraction of a millisecond in the page; trained on labels
alone, such a net stops short of what a wider one reaches on the same data. A teacher's full probability
vector says which wrong classes a drawing resembles, which is more to learn from than one label (Hinton,
Vinyals and Dean, "Distilling the Knowledge in a Neural Network", 2015). The teacher sees the very batch
the student sees, augmentation included, so its answers always describe the student's input. Several
teachers are averaged: an ensemble's answers are better than any one's.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from inkrec.errors import ConfigError
from inkrec.train.runs import load_run


class Teachers:
    """Trained models (run directories) whose averaged, softened answers the student learns from."""

    def __init__(self, run_dirs: Sequence[str], classes: Sequence[str], device: torch.device, *,
                 channels_last: bool = False):
        self.models = []
        for run_dir in run_dirs:
            model, meta = load_run(run_dir)
            if [str(c) for c in meta["classes"]] != [str(c) for c in classes]:
                raise ConfigError(f"teacher {run_dir} was trained on other classes than this data set's")
            model = model.to(device).eval()
            if channels_last:
                model = model.to(memory_format=torch.channels_last)
            for p in model.parameters():
                p.requires_grad_(False)
            self.models.append(model)
        if not self.models:
            raise ConfigError("distillation needs at least one teacher run directory")

    @torch.no_grad()
    def probabilities(self, inputs: tuple[torch.Tensor, ...], temperature: float) -> torch.Tensor:
        """The teachers' mean class probabilities at `temperature`, float32 (N, classes)."""
        probs = [F.softmax(m(*inputs).float() / temperature, dim=1) for m in self.models]
        return torch.stack(probs).mean(dim=0)


def distillation_loss(logits: torch.Tensor, labels: torch.Tensor, teacher_probs: torch.Tensor, *, weight: float,
                      temperature: float, label_smoothing: float) -> torch.Tensor:
    """(1 - weight) * cross-entropy with the labels + weight * T^2 * KL(teachers || student) at temperature T.

    The T^2 factor keeps the soft term's gradients on the scale of the hard one's whatever T is.
    """
    hard = F.cross_entropy(logits, labels, label_smoothing=label_smoothing)
    log_student = F.log_softmax(logits / temperature, dim=1)
    soft = F.kl_div(log_student, teacher_probs, reduction="batchmean") * temperature**2
    return (1 - weight) * hard + weight * soft
