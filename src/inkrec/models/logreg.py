"""Multinomial logistic regression on pixels: the floor every real model must clear."""

from __future__ import annotations

import torch
from torch import nn

from inkrec.models.registry import register_model


class LogReg(nn.Module):
    input_kind = "bitmap"

    def __init__(self, num_classes: int, image_size: int = 28):
        super().__init__()
        self.linear = nn.Linear(image_size * image_size, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(torch.flatten(x, 1))


@register_model("logreg", description="multinomial logistic regression on pixels (baseline)")
def logreg(num_classes: int, image_size: int = 28) -> nn.Module:
    return LogReg(num_classes, image_size)
