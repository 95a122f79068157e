"""Example inputs of the right shape for a model: for ONNX export, smoke tests and speed checks."""

from __future__ import annotations

import torch
from torch import nn


def dummy_input(model: nn.Module, batch: int = 2, image_size: int = 28, seq_len: int = 32) -> tuple:
    """Positional inputs for `model(*inputs)`: one bitmap batch, or (sequences, lengths) for stroke models."""
    if getattr(model, "input_kind", "bitmap") == "strokes":
        x = torch.zeros(batch, seq_len, 3)
        lengths = torch.full((batch,), seq_len, dtype=torch.int64)
        lengths[1:] = max(1, seq_len // 2)
        return x, lengths
    return (torch.rand(batch, 1, image_size, image_size),)
