"""The effective receptive field (``--erf``): the gradient mass around the centre of a
feature map, no wider than the theoretical receptive field."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import convscope
from convscope.analysis.rf import with_receptive_field
from convscope.checks.erf import effective_rf


def analyze_rf(model: nn.Module, shape: tuple[int, ...]) -> convscope.Analysis:
    return with_receptive_field(convscope.analyze(model, shape))


def test_erf_resnet18_monotone() -> None:
    import torchvision

    torch.manual_seed(0)
    model = torchvision.models.resnet18()
    a = analyze_rf(model, (1, 3, 64, 64))
    erf = effective_rf(model, (1, 3, 64, 64), samples=4, analysis=a)
    s50, s90, s99 = erf.sides
    assert 1 <= s50 <= s90 <= s99 <= 64
    assert erf.side(0.9) == s90
    assert erf.layer == "layer4" and erf.position == (1, 1)
    assert erf.analytic_size == (435, 435)
    assert len(erf.map) <= 64 and all(len(row) <= 64 for row in erf.map)
    assert max(max(row) for row in erf.map) == pytest.approx(1.0)
    assert "50% within" in erf.render()
    assert erf.summary_dict()["sides"]["0.99"] == s99


def test_erf_is_smaller_than_theoretical_rf_and_downsamples_map() -> None:
    model = nn.Sequential(*[nn.Conv2d(1, 1, 3, padding=1) for _ in range(6)])
    erf = effective_rf(model, (1, 1, 96, 80), samples=2)
    assert erf.map_stride == 2 and len(erf.map) == 48 and len(erf.map[0]) == 40
    assert erf.sides[-1] <= 13  # theoretical RF of 6 stacked 3x3 convs
    assert abs(erf.center[0] - 48) <= 2 and abs(erf.center[1] - 40) <= 2  # centre of mass
