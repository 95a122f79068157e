"""inknet: our small residual CNN for 28x28 and 64x64 ink.

Why this shape: ink images are sparse strokes on black, so most of the information survives early
down-sampling. The net spends almost no compute at full resolution (one thin stem convolution), does its
work at 1/2, 1/4 and 1/8 resolution with batch-normalised residual blocks, and ends in global average
pooling, which keeps the parameter count small, makes the net independent of the input size, and exports
to plain ONNX ops (Conv, BatchNormalization folded into Conv, Relu, MaxPool, GlobalAveragePool, Gemm).
64x64 input (Chinese MNIST) gets a strided stem so the cost stays close to the 28x28 case.

`head="cosine"` makes the classifier a cosine one (`CosineClassifier`): every class scores `scale` times the
cosine between the features and its weight. Its logits are then on the very scale of a class taught later
from a few drawings (`scale * cos(embedding, prototype)`), so taught and own classes compete fairly, and
the features learn to separate classes by angle, which is what prototypes compare. The pooled features
are centred first (a batch norm without scale and shift): after the last ReLU they all lie in the positive
orthant, where any two drawings have a cosine near 0.5 and a prototype of anything resembles everything.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from inkrec.errors import ConfigError
from inkrec.models.registry import register_model


def conv_bn_relu(c_in: int, c_out: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


def pool_relu() -> nn.Sequential:
    """2x2 max-pooling, then ReLU.

    ReLU and max-pooling commute exactly (both are monotonic), so a layer's ReLU can move past the pool
    that follows it: the same function and gradients, with a quarter of the activation work. The layer
    before a pool is therefore built without its own ReLU.
    """
    return nn.Sequential(nn.MaxPool2d(2), nn.ReLU(inplace=True))


class ResidualBlock(nn.Module):
    """Two 3x3 conv-BN layers with an identity shortcut (ResNet basic block)."""

    def __init__(self, channels: int):
        super().__init__()
        self.act = True  # False when a pool_relu follows, which applies the ReLU after pooling
        self.conv1 = conv_bn_relu(channels, channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        # Zero-initialised last BN: each block starts as the identity, which trains faster and steadier.
        nn.init.zeros_(self.bn2.weight)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = x + self.bn2(self.conv2(self.conv1(x)))
        return self.relu(out) if self.act else out


class CosineClassifier(nn.Linear):
    """`scale * cos(features, weight_c)` for every class c.

    A `nn.Linear` (no bias) to everything that looks for the classifier (`inkrec train --init`, `--freeze`).
    It is computed as a linear layer on the normalised features, with the normalised, scaled weight, so the
    exported graph ends in the one Gemm that the embedding output and teaching expect: its input is the
    normalised features, whose own normalisation (the embedding) changes nothing.
    """

    def __init__(self, in_features: int, out_features: int, scale: float = 16.0):
        super().__init__(in_features, out_features, bias=False)
        self.scale = float(scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight = F.normalize(self.weight, dim=1) * self.scale
        return F.linear(F.normalize(x, dim=1), weight, torch.zeros_like(weight[:, 0]))


HEADS = ("linear", "cosine")


class InkNet(nn.Module):
    input_kind = "bitmap"

    def __init__(
        self,
        num_classes: int,
        image_size: int = 28,
        width: int = 32,
        blocks: Sequence[int] = (0, 1, 1),
        dropout: float = 0.2,
        head: str = "linear",
        scale: float = 16.0,
    ):
        super().__init__()
        if head not in HEADS:
            raise ConfigError(f"inknet head must be one of {', '.join(HEADS)}, not {head!r}")
        stride = 2 if image_size >= 48 else 1
        stem = max(8, width // 2)
        layers: list[nn.Module] = [conv_bn_relu(1, stem, stride=stride)]
        c = stem
        for i, n_blocks in enumerate(blocks):
            w = width * 2**i
            _defer_relu(layers[-1])
            layers += [pool_relu(), conv_bn_relu(c, w)]
            layers += [ResidualBlock(w) for _ in range(n_blocks)]
            c = w
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.neck = nn.BatchNorm1d(c, affine=False) if head == "cosine" else nn.Identity()
        self.dropout = nn.Dropout(dropout)
        self.fc = CosineClassifier(c, num_classes, scale) if head == "cosine" else nn.Linear(c, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.neck(self.pool(self.features(x)).flatten(1))
        return self.fc(self.dropout(x))


def _defer_relu(layer: nn.Module) -> None:
    """Drop the trailing ReLU of the layer before a `pool_relu` (the pool applies it)."""
    if isinstance(layer, ResidualBlock):
        layer.act = False
    elif isinstance(layer, nn.Sequential) and isinstance(layer[-1], nn.ReLU):
        del layer[-1]


@register_model("inknet", description="our small residual CNN for 28x28 and 64x64 ink (BN, dropout)")
def inknet(
    num_classes: int,
    image_size: int = 28,
    width: int = 32,
    blocks: Sequence[int] = (0, 1, 1),
    dropout: float = 0.2,
    head: str = "linear",
    scale: float = 16.0,
) -> nn.Module:
    """`width` channels after the first down-sampling, doubled at each further stage; `blocks` residual
    blocks per stage; `head` "linear" or "cosine" (`scale` times the cosine to each class's weight)."""
    return InkNet(num_classes, image_size, int(width), tuple(int(b) for b in blocks), float(dropout), str(head),
                  float(scale))
