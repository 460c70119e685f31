"""Spatial vs channel mixing classes and profile (after "Rethinking the Role of Spatial
Mixing", arXiv 2503.16760)."""

from __future__ import annotations

import pytest
from torch import nn

import convscope
from convscope.ir import graph as ir


@pytest.mark.parametrize(
    ("layer", "expected"),
    [
        (nn.Conv2d(8, 8, 3, padding=1, groups=8), ir.MixingClass.SPATIAL),
        (nn.Conv2d(8, 16, 1), ir.MixingClass.CHANNEL),
        (nn.Conv2d(8, 16, 1, groups=2), ir.MixingClass.CHANNEL),
        (nn.Conv2d(8, 16, 3, padding=1), ir.MixingClass.BOTH),
        (nn.Conv2d(8, 16, 3, padding=1, groups=2), ir.MixingClass.BOTH),
        (nn.MaxPool2d(2), ir.MixingClass.SPATIAL),
        (nn.BatchNorm2d(8), ir.MixingClass.OTHER),
        (nn.ReLU(), ir.MixingClass.OTHER),
    ],
)
def test_layer_classes(layer: nn.Module, expected: ir.MixingClass) -> None:
    a = convscope.analyze(layer, (1, 8, 8, 8))
    assert a.rows[0].mixing is expected


def test_separable_block_profile() -> None:
    m = nn.Sequential(
        nn.Conv2d(16, 16, 3, padding=1, groups=16, bias=False), nn.Conv2d(16, 32, 1, bias=False)
    )
    a = convscope.analyze(m, (1, 16, 8, 8))
    assert a.mixing.params == {"spatial": 144, "channel": 512, "both": 0, "other": 0}
    assert a.mixing.share("params", ir.MixingClass.CHANNEL) == pytest.approx(512 / 656)
    assert a.mixing.macs["spatial"] == 144 * 64 and a.mixing.macs["channel"] == 512 * 64


def test_attention_is_token_mixing() -> None:
    m = nn.MultiheadAttention(16, 2, batch_first=True)

    class Self(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.attn = m

        def forward(self, x):  # type: ignore[no-untyped-def]
            return self.attn(x, x, x, need_weights=False)[0]

    a = convscope.analyze(Self(), (1, 10, 16))
    classes = {a.graph.nodes[i].kind: None for r in a.rows for i in r.nodes}
    assert ir.OpKind.LINEAR in classes
    assert a.mixing.macs["spatial"] > 0 and a.mixing.macs["channel"] > 0
