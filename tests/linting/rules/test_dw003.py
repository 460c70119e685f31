"""Rule DW003 separable-candidate on a target with a hand-made kernel model."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from torch import nn

import convscope
from convscope.linting.config import Settings
from convscope.linting.engine import lint
from convscope.linting.finding import Finding

# A dense 3×3 conv 32→32 on a 16×16 map: 32·32·9·256 = 2,359,296 MACs; the pair's depthwise
# 32·9·256 = 73,728 and pointwise 32·32·256 = 262,144 MACs.
DENSE, DW, PW = 2_359_296, 73_728, 262_144
MODULE_CALL_US = 2.0  # the Sequential that holds the pair


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(32, 32, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(32)
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.bn(self.conv(x)))


def _lint(target: str) -> list[Finding]:
    a = convscope.analyze(Net(), (1, 32, 16, 16), name="net")
    return list(lint(a, Settings(select=("DW003",), target=target)).findings)


def test_without_a_kernel_model_the_finding_states_macs_only() -> None:
    [f] = _lint("generic")
    assert f.values["macs_before"] == DENSE and f.values["macs_after"] == DW + PW
    assert "predicted" not in f.message and "predicted_us_before" not in f.values


def test_a_pair_predicted_faster_is_suggested_with_both_times(
    kernel_profile: Callable[..., Path],
) -> None:
    # Every conv 1 ns per MAC, every other kernel 1 µs.
    path = kernel_profile(
        "fast", per_work={f"conv.{k}": 1e-3 for k in ("dense", "depthwise", "pointwise")}
    )
    [f] = _lint(str(path))
    before, after = DENSE * 1e-3, (DW + PW) * 1e-3 + MODULE_CALL_US
    assert f.values["predicted_us_before"] == pytest.approx(before, abs=1e-3)
    assert f.values["predicted_us_after"] == pytest.approx(after, abs=1e-3)
    assert f.values["time_savings"] == pytest.approx(1 - after / before, abs=1e-4)
    # The model: the conv, three 1 µs kernels (the batch norm's aten.empty, the batch norm,
    # the relu) and the model's own module call.
    model_before = (before + 3 * 1.0 + MODULE_CALL_US) / 1e3
    assert f.values["predicted_model_ms_before"] == pytest.approx(model_before, abs=1e-4)
    assert f.values["predicted_model_ms_after"] == pytest.approx(
        model_before + (after - before) / 1e3, abs=1e-4
    )
    assert "predicted on fast: 2.36 ms → 0.338 ms (-85.7%)" in f.message


def test_a_pair_predicted_slower_is_not_suggested(kernel_profile: Callable[..., Path]) -> None:
    # Depthwise convs 100× slower per MAC than dense ones: 7.37 ms against 2.36 ms.
    path = kernel_profile(
        "slowdw",
        per_work={"conv.dense": 1e-3, "conv.pointwise": 1e-3, "conv.depthwise": 1e-1},
    )
    assert _lint(str(path)) == []
    assert len(_lint("generic")) == 1  # the MACs alone would suggest it


def test_min_time_savings(kernel_profile: Callable[..., Path]) -> None:
    path = kernel_profile(
        "fast", per_work={f"conv.{k}": 1e-3 for k in ("dense", "depthwise", "pointwise")}
    )
    a = convscope.analyze(Net(), (1, 32, 16, 16), name="net")
    saved = 1 - ((DW + PW) * 1e-3 + MODULE_CALL_US) / (DENSE * 1e-3)  # 0.8568...
    for limit, found in ((saved - 0.001, 1), (saved + 0.001, 0)):
        s = Settings(
            select=("DW003",), target=str(path), rules={"DW003": {"min_time_savings": limit}}
        )
        assert len(lint(a, s).findings) == found
