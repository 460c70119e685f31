"""Dataflow helpers over the frozen graph: classification by op kind and the walks the
rules build on, checked on small traced models whose structure is known by hand."""

from __future__ import annotations

import torch
from torch import nn

import convscope
from convscope.ir import graph as ir
from convscope.ir.flow import Flow


class Block(nn.Module):
    """stem 3×3 → depthwise 3×3 → BN → ReLU → 1×1, plus a residual add and an SE gate."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.dw = nn.Conv2d(8, 8, 3, padding=1, groups=8)
        self.bn = nn.BatchNorm2d(8)
        self.pw = nn.Conv2d(8, 8, 1)
        self.fc = nn.Linear(8, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        y = self.pw(torch.relu(self.bn(self.dw(x))))
        gate = torch.sigmoid(y.mean((2, 3), keepdim=True))
        z = x + y * gate
        return self.fc(z.mean((2, 3)))


def flow() -> tuple[Flow, dict[str, ir.Node]]:
    a = convscope.analyze(Block(), (1, 3, 8, 8))
    f = Flow(a.graph)
    first: dict[str, ir.Node] = {}
    for n in a.graph.nodes:
        first.setdefault(n.module or n.op, n)
    return f, first


def test_classification_by_kind_and_attrs() -> None:
    f, by = flow()
    assert f.is_depthwise(by["dw"]) and not f.is_channel_mixing(by["dw"])
    assert f.is_spatial(by["dw"]) and f.is_spatial(by["stem"])
    assert f.is_channel_mixing(by["pw"]) and not f.is_spatial(by["pw"])
    assert f.is_channel_mixing(by["fc"]) and f.linear(by["fc"]) is not None
    merges = [n for n in f.graph.nodes if f.is_merge(n)]
    gates = [n for n in f.graph.nodes if n.kind is ir.OpKind.ELEMENTWISE and f.is_gate(n)]
    assert [n.op for n in merges] == ["aten.add.Tensor"]  # x + y·gate: two full-size inputs
    assert any(n.op == "aten.mul.Tensor" for n in gates)  # y · gate broadcasts: a gate


def test_walks_back_and_forward() -> None:
    f, by = flow()
    # back from the 1×1 through ReLU and BN (transparent) to the depthwise conv
    assert f.source_through_transparent(by["pw"]) is by["dw"]
    # the stem reads the model input: no producer
    assert f.source(by["stem"]) is None
    # the stem's output feeds the depthwise conv and the residual add
    consumers = f.consumers(by["stem"])
    assert by["dw"] in consumers and any(f.is_merge(c) for c in consumers)
    # forward from the depthwise conv through per-pixel ops stops at the 1×1
    assert list(f.forward(by["dw"], f.is_transparent)) == [by["pw"]]
    assert f.reaches_output(by["fc"])


def test_convs_lists_every_conv_once_in_order() -> None:
    f, _ = flow()
    assert [n.module for n, _ in f.convs()] == ["stem", "dw", "pw"]
