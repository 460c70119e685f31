"""Torch numerics on real weights, checked against torch's own fake quantizers and
``torch.nn.utils.fusion.fuse_conv_bn_eval``, and against running the model for equalization.
"""

from __future__ import annotations

import copy
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from quant_models import (
    SHAPE,
    conv_bn,
    direct_sqnr,
    lower_median_of,
    per_channel,
    per_tensor,
)
from torch import nn

from convscope.analysis.quant import quant_report
from convscope.api import analyze
from convscope.ir import graph as ir
from convscope.passes.quant import numeric as qn
from convscope.passes.quant.grid import below, per_tensor_bits, share


def test_fold_factors_and_folded_weights_are_exact() -> None:
    m = conv_bn()
    report = quant_report(m, SHAPE)
    lq = report.layer("conv")
    assert lq is not None and lq.fold is not None and lq.fold.bn == "bn"
    gamma = torch.tensor([1.0, 0.5, -2.0, 3.0], dtype=torch.float64)
    var = torch.tensor([4.0, 0.25, 1.0, 1e-9], dtype=torch.float64)
    f = gamma / torch.sqrt(var + 1e-3)
    assert lq.fold.eps == 1e-3 and lq.fold.eps_source == "module"
    assert lq.fold.factors == pytest.approx(f.tolist(), rel=1e-12)
    assert lq.fold.factor_max == pytest.approx(float(f.abs().max()))
    assert lq.fold.constant_channels(1e-8, 1e-6) == (3,)
    assert lq.fold.dead_channels(1e-6) == ()
    # Independent oracle: torch's own conv+BN fusion.
    fused = torch.nn.utils.fusion.fuse_conv_bn_eval(copy.deepcopy(m.conv), copy.deepcopy(m.bn))
    expected = fused.weight.detach().abs().reshape(4, -1).amax(1)
    assert lq.channel_ranges == pytest.approx(expected.tolist(), rel=1e-6)
    w_fold, b_fold = qn.fold(
        m.conv.weight,
        m.conv.bias,
        m.bn.weight,
        m.bn.bias,
        m.bn.running_mean,
        m.bn.running_var,
        1e-3,
    )
    assert torch.allclose(w_fold, fused.weight.detach(), rtol=1e-6, atol=1e-7)
    assert torch.allclose(b_fold.float(), fused.bias.detach(), rtol=1e-5, atol=1e-6)
    raw = m.conv.weight.detach().abs().reshape(4, -1).amax(1)
    assert lq.spread_unfolded == pytest.approx(float(raw.max()) / lower_median_of(raw))
    assert lq.accumulation == 3 * 3 * 3
    assert report.layer("conv2") is not None and report.layer("conv2").fold is None


def test_sqnr_matches_torch_fake_quantize_directly() -> None:
    m = conv_bn()
    report = quant_report(m, SHAPE)
    lq = report.layer("conv")
    assert lq is not None
    fused = torch.nn.utils.fusion.fuse_conv_bn_eval(copy.deepcopy(m.conv), copy.deepcopy(m.bn))
    w = fused.weight.detach()
    assert lq.sqnr_per_tensor_db == pytest.approx(direct_sqnr(w, per_tensor(w)), abs=1e-3)
    assert lq.sqnr_per_channel_db == pytest.approx(direct_sqnr(w, per_channel(w)), abs=1e-3)
    # The unfolded layer too.
    lq2 = report.layer("conv2")
    assert lq2 is not None
    w2 = m.conv2.weight.detach()
    assert lq2.sqnr_per_tensor_db == pytest.approx(direct_sqnr(w2, per_tensor(w2)), abs=1e-3)
    assert lq2.sqnr_per_channel_db == pytest.approx(direct_sqnr(w2, per_channel(w2)), abs=1e-3)
    # Range spread (lower median) and effective bits follow their stated formulas; the
    # levels come from torch's own per-tensor fake quantizer.
    r = torch.tensor(lq.channel_ranges, dtype=torch.float64)
    assert lq.spread == pytest.approx(float(r.max()) / lower_median_of(r))
    s = w.abs().max() / 127
    levels = (per_tensor(w) / s).abs().reshape(w.shape[0], -1).amax(1).round()
    bits = torch.log2(2 * levels.double() + 1)
    assert lq.channel_bits == pytest.approx(bits.tolist(), abs=1e-6)
    assert lq.min_bits == pytest.approx(float(bits.min()), abs=1e-6)
    assert lq.lower_median_bits == pytest.approx(lower_median_of(bits), abs=1e-6)


def test_effective_bits_of_a_tenth_of_the_range() -> None:
    ranges = torch.tensor([1.0, 0.1, 0.003, 0.0], dtype=torch.float64)
    bits = qn.effective_bits(ranges)
    # levels 127, round(12.7) = 13, round(0.381) = 0, 0
    assert bits.tolist() == pytest.approx([math.log2(255), math.log2(27), 0.0, 0.0])


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), log_spread=st.floats(0.0, 3.0))
def test_per_tensor_never_beats_per_channel(seed: int, log_spread: float) -> None:
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(32, 8, 3, 3, generator=g)
    w *= torch.logspace(0, -log_spread, 32).view(-1, 1, 1, 1)
    pt = qn.sqnr_db(w, qn.fake_quant_per_tensor(w))
    pc = qn.sqnr_db(w, qn.fake_quant_per_channel(w))
    assert pt is not None and pc is not None
    assert pt <= pc + 0.3  # equal grids up to rounding luck; per-channel wins with spread
    if log_spread > 1:
        assert pc - pt > 3


def test_equal_channel_ranges_make_both_schemes_identical() -> None:
    w = torch.randn(8, 4, 3, 3, generator=torch.Generator().manual_seed(1))
    w = w / w.abs().reshape(8, -1).amax(1).view(-1, 1, 1, 1)  # every channel range is 1
    assert qn.sqnr_db(w, qn.fake_quant_per_tensor(w)) == pytest.approx(
        qn.sqnr_db(w, qn.fake_quant_per_channel(w))
    )


def test_transposed_and_grouped_weights_are_regrouped_by_output_channel() -> None:
    conv = nn.ConvTranspose2d(4, 6, 3, groups=2)
    w = conv.weight.detach()  # [C_in=4, C_out/g=3, 3, 3]
    a = analyze(nn.Sequential(conv), (1, 4, 5, 5)).graph.nodes[0].attrs
    assert isinstance(a, ir.ConvAttrs)
    om = qn.out_major(w, a)
    assert om.shape == (6, 2, 3, 3)
    for o in range(6):
        g, j = divmod(o, 3)
        assert torch.equal(om[o], w[2 * g : 2 * g + 2, j])


def test_equalization_scales_preserve_the_function_and_equalize_ranges() -> None:
    m = conv_bn()
    with torch.no_grad():
        m.bn.running_var[3] = 0.5  # no constant channel here
    report = quant_report(m, SHAPE)
    eq = report.equalization_for("conv")
    assert eq is not None and eq.second == "conv2" and eq.activation == "relu"
    w1, b1 = qn.fold(
        m.conv.weight,
        m.conv.bias,
        m.bn.weight,
        m.bn.bias,
        m.bn.running_mean,
        m.bn.running_var,
        m.bn.eps,
    )
    w2 = m.conv2.weight.detach()
    r1, r2 = qn.channel_ranges(w1), qn.input_channel_ranges(w2, 1)
    s = qn.equalization_scales(r1, r2)
    assert torch.allclose(s, torch.sqrt(r1 * r2) / r2)  # s_i = (1/r2_i) sqrt(r1_i r2_i)
    assert (eq.scale_min, eq.scale_max) == pytest.approx((float(s.min()), float(s.max())))
    w1_eq = w1 / s.float().view(-1, 1, 1, 1)
    w2_eq = w2 * s.float().view(1, -1, 1, 1)
    both = torch.sqrt(r1 * r2)
    assert torch.allclose(qn.channel_ranges(w1_eq), both, rtol=1e-5)
    assert torch.allclose(qn.input_channel_ranges(w2_eq, 1), both, rtol=1e-5)
    assert eq.first_spread_after == pytest.approx(qn.spread(both), rel=1e-5)
    after = per_tensor_bits(qn.channel_ranges(w1_eq).tolist())
    assert eq.starved_share_after("conv", 7.0) == share(len(below(after, 7.0)), len(after))
    x = torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ref = m(x)
        h = torch.relu(nn.functional.conv2d(x, w1_eq, (b1 / s).float(), padding=1))
        out = nn.functional.conv2d(h, w2_eq, m.conv2.bias, padding=1)
    assert torch.allclose(out, ref, atol=1e-4)
