"""stroke-rnn: classify the pen's path rather than its picture.

The design of TensorFlow's drawing-classification tutorial: 1-D convolutions over the (dx, dy, pen_lift)
point sequence, then stacked bidirectional LSTMs, then the LSTM outputs pooled over the valid time
steps (padding masked out) and a linear layer. Sequences are packed by length, so padding costs nothing
and changes nothing; the same graph exports to ONNX (LSTM with sequence_lens) with `dynamo=False`.
We average over time instead of summing (the tutorial sums), so logits do not grow with drawing length.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from inkrec.models.registry import register_model


class StrokeRNN(nn.Module):
    input_kind = "strokes"

    def __init__(
        self,
        num_classes: int,
        conv_channels: Sequence[int] = (48, 64, 96),
        conv_kernels: Sequence[int] = (5, 5, 3),
        hidden: int = 128,
        layers: int = 3,
        dropout: float = 0.3,
    ):
        super().__init__()
        if len(conv_channels) != len(conv_kernels):
            raise ValueError("conv_channels and conv_kernels must have the same length")
        convs: list[nn.Module] = []
        c = 3
        for ch, k in zip(conv_channels, conv_kernels):
            convs.append(nn.Sequential(nn.Conv1d(c, ch, k, padding=k // 2), nn.BatchNorm1d(ch), nn.ReLU(inplace=True),
                                       nn.Dropout(dropout)))
            c = ch
        self.convs = nn.ModuleList(convs)
        self.lstm = nn.LSTM(c, hidden, num_layers=layers, batch_first=True, bidirectional=True,
                            dropout=dropout if layers > 1 else 0.0)
        self.fc = nn.Linear(2 * hidden, num_classes)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        t = x.shape[1]
        valid = torch.arange(t, device=x.device)[None, :] < lengths[:, None]  # (N, T)
        # Padding is zeroed before every convolution, so a drawing's output does not depend on how much
        # padding its batch needed (the convolutions would otherwise read past the end of the drawing).
        keep = valid[:, None, :].to(x.dtype)
        h = x.transpose(1, 2) * keep
        for block in self.convs:
            h = block(h) * keep
        h = h.transpose(1, 2)
        packed = pack_padded_sequence(h, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, _ = self.lstm(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=t)
        mask = valid[..., None].to(out.dtype)
        pooled = (out * mask).sum(1) / lengths[:, None].to(out.dtype).clamp(min=1)
        return self.fc(pooled)


@register_model("stroke-rnn", input_kind="strokes",
                description="1-D convs + bidirectional LSTM over (dx, dy, pen_lift) stroke points")
def stroke_rnn(
    num_classes: int,
    conv_channels: Sequence[int] = (48, 64, 96),
    conv_kernels: Sequence[int] = (5, 5, 3),
    hidden: int = 128,
    layers: int = 3,
    dropout: float = 0.3,
) -> nn.Module:
    return StrokeRNN(num_classes, tuple(conv_channels), tuple(conv_kernels), hidden, layers, dropout)
