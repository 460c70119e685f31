"""Fold and equalization sites on the IR: which BatchNorm folds, which pairs equalize."""

from __future__ import annotations

import torch
from quant_models import (
    SHAPE,
    conv_bn,
)
from torch import nn

from convscope.analysis.quant import quant_report
from convscope.api import analyze
from convscope.passes.quant.options import QuantOptions
from convscope.passes.quant.sites import find_layers, find_pairs


def test_relu6_pairs_ask_for_relu_first_and_residual_adds_end_pairs() -> None:
    m = conv_bn(nn.ReLU6())
    with torch.no_grad():
        m.bn.running_var[3] = 0.5
    # min_bits 8: every channel but the largest counts as starved, so fixes are suggested.
    report = quant_report(m, SHAPE, options=QuantOptions(min_bits=8.0))
    eq = report.equalization_for("conv")
    assert eq is not None and eq.needs_relu
    lq = report.layer("conv")
    assert lq is not None and any("ReLU6" in tip for tip in report.suggestions(lq))

    class Residual(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = nn.Conv2d(4, 4, 3, padding=1)
            self.b = nn.Conv2d(4, 4, 3, padding=1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.b(torch.relu(self.a(x)) + x)

    a = analyze(Residual(), (1, 4, 8, 8))
    sites, _ = find_layers(a.graph)
    assert find_pairs(a.graph, sites) == ()


def test_batchnorm_does_not_fold_when_the_conv_output_is_shared() -> None:
    class Shared(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3, padding=1)
            self.bn = nn.BatchNorm2d(4)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.conv(x)
            return self.bn(y) + y

    report = quant_report(Shared().eval(), SHAPE)
    lq = report.layer("conv")
    assert lq is not None and lq.fold is None
    assert lq.bn_note is not None and "also read" in lq.bn_note
