"""A conv → BatchNorm → activation → conv model with hand-set BatchNorm statistics, and
torch's own fake quantizers and SQNR, the independent oracles of the quantization tests."""

from __future__ import annotations

import math

import torch
from torch import nn

SHAPE = (1, 3, 16, 16)


def direct_sqnr(w: torch.Tensor, q: torch.Tensor) -> float:
    w64, q64 = w.double(), q.double()
    return 10 * math.log10(float((w64**2).sum()) / float(((w64 - q64) ** 2).sum()))


def per_tensor(w: torch.Tensor) -> torch.Tensor:
    return torch.fake_quantize_per_tensor_affine(w, float(w.abs().max()) / 127, 0, -127, 127)


def per_channel(w: torch.Tensor) -> torch.Tensor:
    scale = w.abs().reshape(w.shape[0], -1).amax(1) / 127
    return torch.fake_quantize_per_channel_affine(
        w, scale, torch.zeros(w.shape[0], dtype=torch.int32), 0, -127, 127
    )


class ConvBN(nn.Module):
    def __init__(self, act: nn.Module | None = None) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1, bias=True)
        self.bn = nn.BatchNorm2d(4, eps=1e-3)
        self.act = act if act is not None else nn.ReLU()
        self.conv2 = nn.Conv2d(4, 5, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2(self.act(self.bn(self.conv(x))))


def lower_median_of(t: torch.Tensor) -> float:
    return float(t.sort().values[(t.numel() - 1) // 2])


def conv_bn(act: nn.Module | None = None) -> ConvBN:
    torch.manual_seed(0)
    m = ConvBN(act).eval()
    with torch.no_grad():
        m.bn.weight.copy_(torch.tensor([1.0, 0.5, -2.0, 3.0]))
        m.bn.bias.copy_(torch.tensor([0.1, -0.2, 0.3, 0.0]))
        m.bn.running_mean.copy_(torch.tensor([0.5, -1.0, 0.0, 2.0]))
        m.bn.running_var.copy_(torch.tensor([4.0, 0.25, 1.0, 1e-9]))  # last: constant channel
    return m
