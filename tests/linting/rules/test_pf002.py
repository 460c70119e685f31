"""Rule PF002 cost-hotspot: MACs without a kernel model, predicted time with one; on shared
modules, a module instance registered in many blocks is judged where each call runs, and a
module run several times under one name says it sums them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from torch import nn

import convscope
from convscope.analysis.build import Analysis
from convscope.linting.config import Settings
from convscope.linting.engine import lint

# Hand counts on a 1×16×32×32 input (1,024 positions).
CONV1_MACS = 16 * 16 * 9 * 1024  # 2,359,296: 90% of the MACs
CONV2_MACS = 16 * 16 * 1024  # 262,144
POOL_WORK = 16 * 1024 * 9  # outputs × window taps: the average-pool family's work
# The kernel model below: convs 0.01 ns per MAC, average pooling 1 ns per tap, others 1 µs.
CONV_US, POOL_US, MODULE_CALL_US = 1e-5, 1e-3, 2.0


class Net(nn.Module):
    """A dense 3×3 conv that holds most MACs, then an average pool that holds no MACs."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(16, 16, 3, padding=1, bias=False)
        self.act1 = nn.ReLU()
        self.pool = nn.AvgPool2d(3, stride=1, padding=1)
        self.conv2 = nn.Conv2d(16, 16, 1, bias=False)
        self.act2 = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act2(self.conv2(self.pool(self.act1(self.conv1(x)))))


def analysis() -> Analysis:
    return convscope.analyze(Net(), (1, 16, 32, 32), name="net")


def hand_times_us() -> dict[str, float]:
    return {
        "conv1": CONV1_MACS * CONV_US,
        "act1": 1.0,
        "pool": POOL_WORK * POOL_US,
        "conv2": CONV2_MACS * CONV_US,
        "act2": 1.0,
    }


def profile(make: Callable[..., Path]) -> Path:
    per_work = {f"conv.{k}": CONV_US for k in ("dense", "pointwise")} | {"pool.avg": POOL_US}
    return make("dev", per_work=per_work, module_call_us=MODULE_CALL_US)


def test_by_macs_without_a_kernel_model() -> None:
    a = analysis()
    [f] = lint(a, Settings(select=("PF002",))).findings
    assert f.layer == "conv1"
    assert f.values["macs_share"] == pytest.approx(CONV1_MACS / (CONV1_MACS + CONV2_MACS), abs=1e-4)
    assert "of the model's MACs" in f.message and "time_share" not in f.values


def test_by_predicted_time_with_a_kernel_model(kernel_profile: Callable[..., Path]) -> None:
    a = analysis()
    assert len(a.graph.nodes) == 5  # one kernel per layer
    [f] = lint(a, Settings(select=("PF002",), target=str(profile(kernel_profile)))).findings
    times = hand_times_us()
    total = sum(times.values()) + MODULE_CALL_US  # the model's own module call
    assert f.layer == "pool"  # no MACs, 83% of the predicted time
    assert f.values["time_share"] == pytest.approx(times["pool"] / total, abs=1e-4)
    assert f.values["predicted_ms"] == pytest.approx(times["pool"] / 1e3, abs=1e-6)
    assert f"{100 * times['pool'] / total:.1f}% of the predicted time on dev" in f.message
    assert "MACs" not in f.message
    # conv1, the MAC hotspot, is 13% of the time: below the 25% threshold.
    assert times["conv1"] / total < 0.25


def test_pf001_uses_the_predicted_time(kernel_profile: Callable[..., Path], tmp_path: Path) -> None:
    a = analysis()
    roofline_only = tmp_path / "roof.yaml"
    roofline_only.write_text(
        "description: roofline only\ndevice: cpu\nint8: false\n"
        "roofline: {peak-flops: 1.0e+11, bandwidth: 1.0e+10, source: hand-made}\n",
        encoding="utf-8",
    )
    by_roofline = lint(a, Settings(select=("PF001",), target=str(roofline_only))).findings
    # The same roofline (it says which layers are memory-bound), and a kernel model.
    path = profile(kernel_profile)
    by_time = lint(a, Settings(select=("PF001",), target=str(path))).findings
    assert {f.layer for f in by_roofline} > {"pool"}  # the relus' bounds are 13% each
    [f] = by_time
    times = hand_times_us()
    total = sum(times.values()) + MODULE_CALL_US
    assert f.layer == "pool"
    assert f.values["predicted_share"] == pytest.approx(times["pool"] / total, abs=1e-4)
    assert "of the predicted time on dev" in f.message


PF002 = Settings(select=("PF002",))


class Block(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, act: nn.Module) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.act = act  # the same instance in every block

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.bn(self.conv(x)))


class SharedActivation(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        act = nn.SiLU()
        self.stem = Block(3, 16, 2, act)
        self.b1 = Block(16, 32, 2, act)
        self.b2 = Block(32, 64, 2, act)
        self.b3 = Block(64, 64, 1, act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.b3(self.b2(self.b1(self.stem(x))))


class ReusedReLU(nn.Module):
    """One ReLU called after each of three convs from the root's forward."""

    def __init__(self) -> None:
        super().__init__()
        self.c1, self.c2, self.c3 = (nn.Conv2d(4, 4, 1) for _ in range(3))
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.c3(self.relu(self.c2(self.relu(self.c1(x))))))


def test_shared_activation_rows_are_per_block_and_no_false_hotspot() -> None:
    a = convscope.analyze(SharedActivation(), (1, 3, 64, 64))
    act = {r.path: r.activation_bytes for r in a.rows if r.type_name == "SiLU"}
    # float32 outputs: 16×32×32, 32×16×16, 64×8×8, 64×8×8 elements
    assert act == {"stem.act": 65536, "b1.act": 32768, "b2.act": 16384, "b3.act": 16384}
    assert sum(r.activation_bytes for r in a.rows) == a.totals.activation_bytes
    result = lint(a, PF002)
    # summed over the four calls stem.act held 33% of the activation memory; no call does
    assert [f.layer for f in result.findings] == ["b3.conv"]


def test_a_row_summing_calls_says_so() -> None:
    a = convscope.analyze(ReusedReLU(), (1, 4, 32, 32))
    relu = a.row("relu")
    assert relu.calls == 3
    (finding,) = [f for f in lint(a, PF002).findings if f.layer == "relu"]
    assert "summed over its 3 calls" in finding.message and finding.values["calls"] == 3
    assert all("calls" not in f.values for f in lint(a, PF002).findings if f.layer != "relu")
