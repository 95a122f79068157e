"""The course CNN, layer for layer: the yardstick every other model is compared with.

Keras original: Rescaling(1/255), Conv2D(16, 3, padding="same", relu), MaxPool2D, Conv2D(32, ...),
MaxPool2D, Conv2D(64, ...), MaxPool2D, Flatten, Dense(128, relu), Dense(n). The rescaling happens in our
input pipeline (models take [0, 1] floats), so the parameter count matches exactly: 110,052 at 100
classes on 28x28 input.
"""

from __future__ import annotations

import torch
from torch import nn

from inkrec.models.registry import register_model


class SeedCNN(nn.Module):
    input_kind = "bitmap"

    def __init__(self, num_classes: int, image_size: int = 28):
        super().__init__()
        layers: list[nn.Module] = []
        c_in = 1
        for c_out in (16, 32, 64):
            # Keras order is Conv(relu) -> MaxPool; ReLU and max-pooling commute exactly, so pooling first
            # computes the same function and gradients with a quarter of the ReLU work.
            layers += [nn.Conv2d(c_in, c_out, 3, padding=1), nn.MaxPool2d(2), nn.ReLU(inplace=True)]
            c_in = c_out
        self.features = nn.Sequential(*layers)
        side = image_size // 2 // 2 // 2
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(64 * side * side, 128), nn.ReLU(inplace=True), nn.Linear(128, num_classes)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


@register_model("seed-cnn", description="the course CNN (3 conv + 2 dense), the yardstick")
def seed_cnn(num_classes: int, image_size: int = 28) -> nn.Module:
    return SeedCNN(num_classes, image_size)
