"""Reductions, scans, linear layers and attention: when the RF becomes global, and the
local geometry it keeps."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from convscope.analysis.rf import receptive_field


class Head(nn.Module):
    def __init__(self, how: str) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, 2, 1)
        self.fc = nn.Linear(8 if how != "flatten" else 8 * 8 * 8, 4)
        self.how = how

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        if self.how == "mean":
            return self.fc(y.mean((2, 3)))
        if self.how == "adaptive":
            return self.fc(torch.flatten(F.adaptive_avg_pool2d(y, 1), 1))
        return self.fc(torch.flatten(y, 1))


@pytest.mark.parametrize("how", ["mean", "adaptive", "flatten"])
def test_global_pool_and_flatten_linear(how: str) -> None:
    rf = receptive_field(Head(how), (1, 3, 16, 16))
    assert rf.per_layer["conv"].is_global is False
    assert rf.output is not None and rf.output.is_global
    assert rf.output.size == (3, 3)  # the local geometry that led there is kept
    assert rf.covers_input() and rf.coverage() == (1.0, 1.0)
    assert "global" in rf.summary_text()


class Attn(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        n, c, h, w = y.shape
        t = y.flatten(2).transpose(1, 2)
        t = F.scaled_dot_product_attention(t, t, t)
        return (
            self.conv2(t.transpose(1, 2).reshape(n, c, h, w))
            if hasattr(self, "conv2")
            else t.transpose(1, 2).reshape(n, c, h, w)
        )


def test_attention_is_global_but_keeps_layout() -> None:
    m = Attn()
    m.conv2 = nn.Conv2d(8, 8, 3, padding=1)
    rf = receptive_field(m, (1, 3, 8, 8))
    assert rf.output is not None and rf.output.is_global
    assert rf.output.size == (5, 5)  # the conv after attention still grows the local part


class Cumsum(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cumsum(x, dim=3)


def test_a_scan_is_bounded_by_its_window() -> None:
    # a scan along W (cumsum) can read the whole row: bounded by the ±(n−1) window on a
    # 6-pixel-wide map after a 3×3 conv, stride kept, flagged approximate
    rf = receptive_field(nn.Sequential(nn.Conv2d(1, 1, 3), Cumsum()), (1, 1, 8, 8))
    assert rf.output is not None and rf.output.size == (3, 3 + 2 * 5)
    assert rf.output.stride == (1, 1) and not rf.output.is_global
    assert "1" in rf.approximate
