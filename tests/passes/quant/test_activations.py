"""Calibration: output SQNR computed directly, the outlier ratio, calibration files."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import pytest
import torch
from quant_models import (
    SHAPE,
    conv_bn,
    per_tensor,
)
from torch import nn

from convscope.analysis import schema
from convscope.analysis.quant import calibration_batches, quant_report, with_quant
from convscope.api import analyze
from convscope.errors import InputError
from convscope.passes.quant import numeric as qn


def test_calibration_does_not_touch_the_model_and_output_sqnr_is_exact() -> None:
    m = conv_bn()
    before = {k: v.clone() for k, v in m.state_dict().items()}
    report = quant_report(m, SHAPE, calibration="random")
    assert all(torch.equal(before[k], v) for k, v in m.state_dict().items())
    assert all(not mod._forward_hooks for mod in m.modules())
    acts = report.activations
    assert acts is not None and acts.random and acts.note and acts.batches == 2
    la = acts.layer("conv2")
    assert la is not None and la.observed_at == "conv2" and la.channels == 5
    # Direct computation of conv2's output SQNR with only its weight quantized per tensor.
    batches, _, _ = calibration_batches("random", SHAPE)
    w = m.conv2.weight.detach()
    sig = noise = 0.0
    with torch.no_grad():
        for x in batches:
            h = m.act(m.bn(m.conv(x)))
            y = nn.functional.conv2d(h, w, m.conv2.bias, padding=1).double()
            yq = nn.functional.conv2d(h, per_tensor(w), m.conv2.bias, padding=1).double()
            sig += float((y**2).sum())
            noise += float(((y - yq) ** 2).sum())
    assert la.output_sqnr_db == pytest.approx(10 * math.log10(sig / noise), abs=1e-3)
    # A folded layer: its folded weight is what gets quantized, seen after the BatchNorm.
    first = acts.layer("conv")
    assert first is not None and first.observed_at == "bn"
    fused = torch.nn.utils.fusion.fuse_conv_bn_eval(copy.deepcopy(m.conv), copy.deepcopy(m.bn))
    wf, bf = fused.weight.detach(), fused.bias.detach()
    sig = noise = 0.0
    with torch.no_grad():
        for x in batches:
            y = nn.functional.conv2d(x, wf, bf, padding=1).double()
            yq = nn.functional.conv2d(x, per_tensor(wf), bf, padding=1).double()
            sig += float((y**2).sum())
            noise += float(((y - yq) ** 2).sum())
    assert first.output_sqnr_db == pytest.approx(10 * math.log10(sig / noise), abs=1e-2)
    doc = schema.to_dict(with_quant(analyze(m, SHAPE), m, "random"))
    text = json.dumps(doc, allow_nan=False)
    assert doc["quant"]["calibration"]["random"] and "only tests the mechanics" in text
    assert doc["layers"][0]["quant"]["activation"]["observed_at"] == "bn"


def test_outlier_ratio_is_max_over_the_975th_percentile() -> None:
    class One(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(1, 1, 1, bias=False)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.conv(x)

    m = One()
    with torch.no_grad():
        m.conv.weight.fill_(1.0)
    x = torch.ones(1, 1, 20, 20)
    x[0, 0, 0, 0] = 10.0  # one value of 400: P97.5 of |x| is 1, max is 10
    stats = qn.calibrate(m, [x])
    la = stats.layer("conv")
    assert la is not None and la.outlier_ratios == (pytest.approx(10.0),)
    assert la.outlier_channels(3.5) == (0,)


def test_calibration_files_and_their_errors(tmp_path: Path) -> None:
    path = tmp_path / "cal.pt"
    torch.save(torch.randn(10, 3, 16, 16), path)
    batches, source, is_random = calibration_batches(str(path), SHAPE)
    assert not is_random and [b.shape[0] for b in batches] == [8, 2]
    assert "10 samples" in source
    listed = tmp_path / "list.pt"
    torch.save([torch.randn(2, 3, 16, 16)] * 3, listed)
    assert len(calibration_batches(str(listed), SHAPE)[0]) == 3
    bad = tmp_path / "bad.pt"
    torch.save(torch.randn(4, 1, 16, 16), bad)
    with pytest.raises(InputError, match="expected N×3×16×16"):
        calibration_batches(str(bad), SHAPE)
    with pytest.raises(InputError, match="does not exist"):
        calibration_batches(str(tmp_path / "missing.pt"), SHAPE)
    report = quant_report(conv_bn(), SHAPE, calibration=str(path))
    assert report.activations is not None and not report.activations.random
    assert report.activations.samples == 10
