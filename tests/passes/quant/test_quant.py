"""Quantization fragility: BN folding, ranges, SQNR, equalization, calibration.

Numbers are checked against independent computations: torch's own fake quantizers applied
directly, ``torch.nn.utils.fusion.fuse_conv_bn_eval`` for folding, and running the model
for equalization and output SQNR.
"""

from __future__ import annotations

import copy
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from convscope.analysis import schema
from convscope.analysis.quant import calibration_batches, quant_report, with_quant
from convscope.api import analyze
from convscope.errors import InputError
from convscope.passes.keys import QUANT
from convscope.passes.quant import numeric as qn
from convscope.passes.quant import structure as quant_pass
from convscope.render.quant import text as quant_reporter

SHAPE = (1, 3, 16, 16)


def _direct_sqnr(w: torch.Tensor, q: torch.Tensor) -> float:
    w64, q64 = w.double(), q.double()
    return 10 * math.log10(float((w64**2).sum()) / float(((w64 - q64) ** 2).sum()))


def _per_tensor(w: torch.Tensor) -> torch.Tensor:
    return torch.fake_quantize_per_tensor_affine(w, float(w.abs().max()) / 127, 0, -127, 127)


def _per_channel(w: torch.Tensor) -> torch.Tensor:
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


def _lower_median(t: torch.Tensor) -> float:
    return float(t.sort().values[(t.numel() - 1) // 2])


def _conv_bn(act: nn.Module | None = None) -> ConvBN:
    torch.manual_seed(0)
    m = ConvBN(act).eval()
    with torch.no_grad():
        m.bn.weight.copy_(torch.tensor([1.0, 0.5, -2.0, 3.0]))
        m.bn.bias.copy_(torch.tensor([0.1, -0.2, 0.3, 0.0]))
        m.bn.running_mean.copy_(torch.tensor([0.5, -1.0, 0.0, 2.0]))
        m.bn.running_var.copy_(torch.tensor([4.0, 0.25, 1.0, 1e-9]))  # last: constant channel
    return m


# --------------------------------------------------------------------------- structure


def test_pass_module_does_not_import_torch() -> None:
    code = "import sys, convscope.passes.quant.structure; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_fold_factors_and_folded_weights_are_exact() -> None:
    m = _conv_bn()
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
    assert lq.spread_unfolded == pytest.approx(float(raw.max()) / _lower_median(raw))
    assert lq.accumulation == 3 * 3 * 3
    assert report.layer("conv2") is not None and report.layer("conv2").fold is None


def test_sqnr_matches_torch_fake_quantize_directly() -> None:
    m = _conv_bn()
    report = quant_report(m, SHAPE)
    lq = report.layer("conv")
    assert lq is not None
    fused = torch.nn.utils.fusion.fuse_conv_bn_eval(copy.deepcopy(m.conv), copy.deepcopy(m.bn))
    w = fused.weight.detach()
    assert lq.sqnr_per_tensor_db == pytest.approx(_direct_sqnr(w, _per_tensor(w)), abs=1e-3)
    assert lq.sqnr_per_channel_db == pytest.approx(_direct_sqnr(w, _per_channel(w)), abs=1e-3)
    # The unfolded layer too.
    lq2 = report.layer("conv2")
    assert lq2 is not None
    w2 = m.conv2.weight.detach()
    assert lq2.sqnr_per_tensor_db == pytest.approx(_direct_sqnr(w2, _per_tensor(w2)), abs=1e-3)
    assert lq2.sqnr_per_channel_db == pytest.approx(_direct_sqnr(w2, _per_channel(w2)), abs=1e-3)
    # Range spread (lower median) and effective bits follow their stated formulas; the
    # levels come from torch's own per-tensor fake quantizer.
    r = torch.tensor(lq.channel_ranges, dtype=torch.float64)
    assert lq.spread == pytest.approx(float(r.max()) / _lower_median(r))
    s = w.abs().max() / 127
    levels = (_per_tensor(w) / s).abs().reshape(w.shape[0], -1).amax(1).round()
    bits = torch.log2(2 * levels.double() + 1)
    assert lq.channel_bits == pytest.approx(bits.tolist(), abs=1e-6)
    assert lq.min_bits == pytest.approx(float(bits.min()), abs=1e-6)
    assert lq.lower_median_bits == pytest.approx(_lower_median(bits), abs=1e-6)


def test_effective_bits_of_a_tenth_of_the_range() -> None:
    ranges = torch.tensor([1.0, 0.1, 0.003, 0.0], dtype=torch.float64)
    bits = qn.effective_bits(ranges)
    # levels 127, round(12.7) = 13, round(0.381) = 0, 0
    assert bits.tolist() == pytest.approx([math.log2(255), math.log2(27), 0.0, 0.0])


def test_lower_median_is_a_real_channel() -> None:
    assert quant_pass.lower_median([4.0, 1.0, 3.0, 2.0]) == 2.0  # not 2.5
    assert quant_pass.lower_median([5.0]) == 5.0
    assert qn.median(torch.tensor([0.0, 0.0, 9.0, 9.0])) == 0.0
    assert qn.spread(torch.tensor([0.0, 0.0, 9.0, 9.0])) == math.inf


def test_starved_shares_count_real_channels() -> None:
    """Half the channels 500× smaller: 50% starved, 50% at 0 bits; the input-channel bits
    under per-output-channel scales see columns that no output scale can rescue."""
    w = torch.ones(8, 4, 1, 1)
    w[:4] /= 500.0
    bits = quant_pass.per_tensor_bits(qn.channel_ranges(w).tolist())
    assert quant_pass.below(bits, 4.0) == (0, 1, 2, 3)
    assert bits[4:] == pytest.approx((math.log2(255),) * 4)
    cols = torch.ones(8, 4, 1, 1)
    cols[:, 1] /= 500.0
    in_bits = qn.input_channel_bits(cols, groups=1)
    assert in_bits == pytest.approx((math.log2(255), 0.0, math.log2(255), math.log2(255)))
    # Grouped: input channel i = g · (C_in / groups) + j is read by its group's outputs only.
    grouped = torch.ones(4, 2, 1, 1)
    grouped[2:, 0] /= 500.0  # group 1, position 0 → input channel 2
    assert quant_pass.below(qn.input_channel_bits(grouped, groups=2), 4.0) == (2,)


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
    assert isinstance(a, quant_pass.ir.ConvAttrs)
    om = qn.out_major(w, a)
    assert om.shape == (6, 2, 3, 3)
    for o in range(6):
        g, j = divmod(o, 3)
        assert torch.equal(om[o], w[2 * g : 2 * g + 2, j])


# --------------------------------------------------------------------------- equalization


def test_equalization_scales_preserve_the_function_and_equalize_ranges() -> None:
    m = _conv_bn()
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
    after = quant_pass.per_tensor_bits(qn.channel_ranges(w1_eq).tolist())
    assert eq.starved_share_after("conv", 7.0) == quant_pass.share(
        len(quant_pass.below(after, 7.0)), len(after)
    )
    x = torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ref = m(x)
        h = torch.relu(nn.functional.conv2d(x, w1_eq, (b1 / s).float(), padding=1))
        out = nn.functional.conv2d(h, w2_eq, m.conv2.bias, padding=1)
    assert torch.allclose(out, ref, atol=1e-4)


def test_relu6_pairs_ask_for_relu_first_and_residual_adds_end_pairs() -> None:
    m = _conv_bn(nn.ReLU6())
    with torch.no_grad():
        m.bn.running_var[3] = 0.5
    # min_bits 8: every channel but the largest counts as starved, so fixes are suggested.
    report = quant_report(m, SHAPE, options=quant_pass.QuantOptions(min_bits=8.0))
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
    sites, _ = quant_pass.find_layers(a.graph)
    assert quant_pass.find_pairs(a.graph, sites) == ()


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


# --------------------------------------------------------------------------- without weights


def test_no_weights_gives_a_reason_and_no_numbers() -> None:
    with torch.device("meta"):
        m = ConvBN().eval()
    a = analyze(m, SHAPE)
    out = with_quant(a, m)
    report = out.need(QUANT)
    assert report.skipped and "meta" in (report.skipped_reason or "")
    assert report.layers == () and report.equalizations == ()
    doc = schema.to_dict(out)
    assert doc["quant"]["status"] == "skipped"
    assert set(doc["quant"]) == {"status", "skipped_reason", "options"}
    assert all("quant" not in layer for layer in doc["layers"])
    assert "skipped" in quant_reporter.to_text(report)
    assert qn.quant(a.graph, None).skipped
    with_cal = quant_report(m, SHAPE, calibration="random", analysis=a)
    assert with_cal.skipped and with_cal.activations is None


# --------------------------------------------------------------------------- calibration


def test_calibration_does_not_touch_the_model_and_output_sqnr_is_exact() -> None:
    m = _conv_bn()
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
            yq = nn.functional.conv2d(h, _per_tensor(w), m.conv2.bias, padding=1).double()
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
            yq = nn.functional.conv2d(x, _per_tensor(wf), bf, padding=1).double()
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
    report = quant_report(_conv_bn(), SHAPE, calibration=str(path))
    assert report.activations is not None and not report.activations.random
    assert report.activations.samples == 10


# --------------------------------------------------------------------------- must show


def _realistic_bn_statistics(model: nn.Module, seed: int = 0) -> nn.Module:
    """Give a randomly initialised model BatchNorm statistics with a realistic spread.

    Every BatchNorm gets γ ~ LogNormal(0, σ = 0.5) (channel scales spread by about
    e^(±2σ), i.e. 0.37–2.7 for 95% of channels) and β ~ N(0, 1). The running mean and
    variance are then *measured*, not drawn: two batches of four 32×32 N(0, 1) images run
    through the model in train mode with ``momentum=None`` (a cumulative average), so each
    BatchNorm sees what the layers before it really produce. Channels that a strongly
    negative β switches off after the ReLU/ReLU6 make the following depthwise channel
    constant (var ≈ 0), as in trained MobileNets (Nagel et al. 2019, Sheng et al. 2018);
    a dense conv sums over many input channels and is not affected. Seeded.
    """
    g = torch.Generator().manual_seed(seed)
    for mod in model.modules():
        if isinstance(mod, nn.BatchNorm2d):
            c = mod.num_features
            with torch.no_grad():
                mod.weight.copy_(torch.exp(0.5 * torch.randn(c, generator=g)))
                mod.bias.copy_(torch.randn(c, generator=g))
            mod.reset_running_stats()
            mod.momentum = None
    model.train()
    with torch.no_grad():
        for _ in range(2):
            model(torch.randn(4, 3, 32, 32, generator=g))
    return model.eval()


@pytest.fixture(scope="module")
def zoo() -> dict[str, quant_pass.QuantReport]:
    torchvision = pytest.importorskip("torchvision")
    out = {}
    for name in ("mobilenet_v2", "resnet18"):
        torch.manual_seed(0)
        model = _realistic_bn_statistics(getattr(torchvision.models, name)())
        out[name] = quant_report(model, (1, 3, 32, 32))
    return out


@pytest.mark.slow
def test_mobilenet_v2_depthwise_layers_are_flagged_and_resnet18_far_less(
    zoo: dict[str, quant_pass.QuantReport],
) -> None:
    mb, rn = zoo["mobilenet_v2"], zoo["resnet18"]
    dw = [lq for lq in mb.layers if lq.depthwise]
    assert len(dw) == 17
    flagged = mb.starved_flagged()
    flagged_dw = [lq for lq in flagged if lq.depthwise]
    assert len(flagged_dw) >= 0.8 * len(dw)
    # The damage sits in the depthwise layers: a few dense 1×1 convs are flagged too, but
    # each with fewer starved channels than the typical flagged depthwise conv.
    dense = [lq for lq in flagged if not lq.depthwise]
    assert len(dense) <= len(flagged_dw) // 3
    typical = quant_pass.lower_median(lq.starved_share(4.0) for lq in flagged_dw)
    assert all(lq.starved_share(4.0) < typical for lq in dense)
    # Per-tensor INT8 is measurably worse than per-channel on those layers.
    for lq in flagged_dw:
        if lq.starved_share(4.0) < 0.5:
            continue
        assert lq.sqnr_per_tensor_db is not None and lq.sqnr_per_channel_db is not None
        assert lq.sqnr_per_channel_db - lq.sqnr_per_tensor_db > 3
        pc, pt = lq.median_channel_sqnr_per_channel_db, lq.median_channel_sqnr_per_tensor_db
        assert pc is not None and pt is not None and pc - pt > 10
    # Same treatment, ResNet-18: far fewer layers flagged.
    assert len(flagged) >= 5 * max(1, len(rn.starved_flagged()))
    assert len(rn.starved_flagged()) <= len(rn.layers) // 5


@pytest.mark.slow
def test_report_serializes_and_renders(zoo: dict[str, quant_pass.QuantReport]) -> None:
    mb = zoo["mobilenet_v2"]
    summary = mb.summary_dict()
    text = json.dumps(summary, allow_nan=False)
    assert summary["status"] == "ok" and "features.2.conv.1.0" in text
    worst = mb.starved_flagged()[0]
    d = mb.layer_dict(worst.path)
    assert d is not None and d["starved_flagged"] and d["suggestions"]
    assert d["starved_channels"] == len(worst.starved(mb.options.min_bits)) > 0
    json.dumps(d, allow_nan=False)
    assert mb.layer_dict(worst.fold.bn if worst.fold else "") == {"folded_into": worst.path}
    assert any("cross-layer equalization" in s for s in d["suggestions"])
    rendered = quant_reporter.to_text(mb)
    assert "SQNR/T dB" in rendered and worst.path in rendered
    assert "depthwise" in mb.summary_text()


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
    assert quant_pass.below(lq.unfolded_bits, 4.0) == ()
    assert quant_pass.fold_starves(lq, report.options)
    assert report.fold_flagged() == (lq,) and report.starved_flagged() == (lq,)
    rest = lq.bits_without((5,))
    assert rest[5] == 0.0 and min(b for i, b in enumerate(rest) if i != 5) > 6.0
    row = lq.as_dict(report.options)
    assert row["starved_channels"] == 15 and row["starved_share_unfolded"] == 0.0
