"""PF002 cost-hotspot on shared modules: a module instance registered in many blocks is
judged where each call runs; a module run several times under one name says it sums them."""

from __future__ import annotations

import torch
from torch import nn

import convscope
from convscope.linting.config import Settings
from convscope.linting.engine import lint

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
