"""The ``QUANT`` section: torch-free, skipped without weights, and what it must show on
MobileNetV2 and ResNet-18 with realistic BatchNorm statistics.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch
from quant_models import (
    SHAPE,
    ConvBN,
)
from torch import nn

from convscope.analysis import schema
from convscope.analysis.quant import quant_report, with_quant
from convscope.api import analyze
from convscope.passes.keys import QUANT
from convscope.passes.quant import numeric as qn
from convscope.passes.quant.grid import lower_median
from convscope.passes.quant.report import QuantReport
from convscope.render.quant import text as quant_reporter


def test_pass_module_does_not_import_torch() -> None:
    torch_free = ", ".join(
        f"convscope.passes.quant.{m}"
        for m in ("options", "sites", "grid", "weights", "activations", "report")
    )
    code = f"import sys, {torch_free}; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


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
def zoo() -> dict[str, QuantReport]:
    torchvision = pytest.importorskip("torchvision")
    out = {}
    for name in ("mobilenet_v2", "resnet18"):
        torch.manual_seed(0)
        model = _realistic_bn_statistics(getattr(torchvision.models, name)())
        out[name] = quant_report(model, (1, 3, 32, 32))
    return out


@pytest.mark.slow
def test_mobilenet_v2_depthwise_layers_are_flagged_and_resnet18_far_less(
    zoo: dict[str, QuantReport],
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
    typical = lower_median(lq.starved_share(4.0) for lq in flagged_dw)
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
def test_report_serializes_and_renders(zoo: dict[str, QuantReport]) -> None:
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
