"""Per-layer weight figures: a constant BatchNorm channel and the fold test."""

from __future__ import annotations

import torch
from torch import nn

from convscope.analysis.quant import quant_report
from convscope.passes.quant.grid import below
from convscope.passes.quant.weights import fold_starves


def test_one_constant_channel_starves_the_others_and_zeroing_it_restores_them() -> None:
    """A BatchNorm channel with running_var 0 gets fold factor γ/√ε ≈ 316: it sets the
    per-tensor range and the other channels fall below 4 bits; with its folded weights
    zeroed the others set the range again."""
    conv, bn = nn.Conv2d(4, 16, 3, bias=False), nn.BatchNorm2d(16)
    g = torch.Generator().manual_seed(3)
    with torch.no_grad():
        conv.weight.copy_(0.5 + torch.rand(conv.weight.shape, generator=g))
        bn.running_var.fill_(1.0)
        bn.running_var[5] = 0.0
    model = nn.Sequential(conv, bn).eval()
    report = quant_report(model, (1, 4, 8, 8))
    lq = report.layer("0")
    assert lq is not None and lq.fold is not None
    assert lq.fold.constant_channels(1e-8, 1e-6) == (5,) and lq.range_setters() == (5,)
    assert len(lq.starved(4.0)) == 15 and lq.unfolded_bits is not None
    assert below(lq.unfolded_bits, 4.0) == ()
    assert fold_starves(lq, report.options)
    assert report.fold_flagged() == (lq,) and report.starved_flagged() == (lq,)
    rest = lq.bits_without((5,))
    assert rest[5] == 0.0 and min(b for i, b in enumerate(rest) if i != 5) > 6.0
    row = lq.as_dict(report.options)
    assert row["starved_channels"] == 15 and row["starved_share_unfolded"] == 0.0
