"""Self-gating activations written by hand: recognised by dataflow (every operand a
per-element function of one tensor), never by names; squeeze-excitation and spatial
attention gates, whose gate path has a reduction or a conv, stay what they were."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import convscope
from convscope.ir import graph as ir
from convscope.ir.flow import Flow

Act = Callable[[torch.Tensor], torch.Tensor]


def swish(x: torch.Tensor) -> torch.Tensor:
    return x * torch.sigmoid(x)


def swish_reversed(x: torch.Tensor) -> torch.Tensor:
    return torch.sigmoid(x) * x


def hard_swish(x: torch.Tensor) -> torch.Tensor:
    return x * F.relu6(x + 3.0) / 6.0


def gelu_tanh(x: torch.Tensor) -> torch.Tensor:
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))


def mish(x: torch.Tensor) -> torch.Tensor:
    return x * torch.tanh(F.softplus(x))


class ConvAct(nn.Module):
    """3×3 conv → BN → ``act`` → 1×1 conv."""

    def __init__(self, act: Act) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.act = act
        self.pw = nn.Conv2d(8, 8, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pw(self.act(self.bn(self.conv(x))))


def traced(model: nn.Module) -> tuple[Flow, dict[str, ir.Node]]:
    graph = convscope.analyze(model, (1, 3, 8, 8)).graph
    first: dict[str, ir.Node] = {}
    for n in graph.nodes:
        first.setdefault(n.module or n.op, n)
    return Flow(graph), first


@pytest.mark.parametrize("act", [swish, swish_reversed, hard_swish, gelu_tanh, mish])
def test_hand_written_self_gates_are_activations_not_merges(act: Act) -> None:
    f, by = traced(ConvAct(act))
    elementwise = [n for n in f.graph.nodes if n.kind is ir.OpKind.ELEMENTWISE]
    assert elementwise, "the activation is written with elementwise ops"
    assert not any(f.is_merge(n) for n in elementwise)
    assert any(f.is_self_gate(n) for n in elementwise)  # the mul (or add) of two operands
    assert all(f.is_gate(n) and f.is_transparent(n) for n in elementwise)
    bn_out = next(n for n in f.graph.nodes if n.kind is ir.OpKind.NORM).outputs[0].id
    # every tensor the activation computes is a per-element function of the BN output
    assert all(f.root(t.id) == bn_out for n in elementwise for t in n.outputs)
    # so walks pass through it: the 1×1 conv's nearest non-transparent producer is the conv
    assert f.source_through_transparent(by["pw"]) is by["conv"]


class Gated(nn.Module):
    """3×3 conv, then a gate ``how``, then a 1×1 conv."""

    def __init__(self, how: str) -> None:
        super().__init__()
        self.how = how
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.fc = nn.Conv2d(8, 8, 1)
        self.attn = nn.Conv2d(8, 8, 7, padding=3)
        self.pw = nn.Conv2d(8, 8, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        if self.how == "se":  # squeeze-excitation: pooled, broadcast over the map
            y = x * torch.sigmoid(self.fc(x.mean((2, 3), keepdim=True)))
        elif self.how == "se_plus":  # x + x·s: a merge of x and its SE-gated copy
            y = x + x * torch.sigmoid(self.fc(x.mean((2, 3), keepdim=True)))
        elif self.how == "se_expanded":  # the gate expanded to full size before the mul
            y = x * torch.sigmoid(self.fc(x.mean((2, 3), keepdim=True))).expand_as(x)
        elif self.how == "spatial":  # a per-pixel gate computed by a 7×7 conv
            y = x * torch.sigmoid(self.attn(x))
        else:  # a residual add
            y = x + self.fc(x)
        return self.pw(y)


def test_squeeze_excitation_is_a_gate_not_a_self_gate() -> None:
    # the gate path reduces (mean) and broadcasts: ``x * s`` is a gate, as it always was
    f, _ = traced(Gated("se"))
    muls = [n for n in f.graph.nodes if n.op.startswith("aten.mul")]
    assert len(muls) == 1
    assert f.is_gate(muls[0]) and not f.is_merge(muls[0]) and not f.is_self_gate(muls[0])
    # the broadcast operand ends the per-element derivation: x·s is no function of x alone
    assert f.root(muls[0].outputs[0].id) == muls[0].outputs[0].id


@pytest.mark.parametrize("how", ["se_plus", "se_expanded", "spatial", "residual"])
def test_gates_computed_through_a_reduction_or_a_conv_stay_merges(how: str) -> None:
    f, _ = traced(Gated(how))
    last = [n for n in f.graph.nodes if n.kind is ir.OpKind.ELEMENTWISE][-1]
    assert f.is_merge(last) and not f.is_self_gate(last) and not f.is_gate(last)


def test_a_long_chain_of_hand_written_activations_needs_no_recursion() -> None:
    class Chain(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            for _ in range(1500):  # deeper than Python's default recursion limit
                x = x * torch.sigmoid(x)
            return x

    graph = convscope.analyze(Chain(), (1, 2, 4, 4)).graph
    f = Flow(graph)
    assert f.root(graph.outputs[0]) == graph.inputs[0].id
    assert not any(f.is_merge(n) for n in graph.nodes)


def test_every_op_of_a_hand_written_activation_is_an_activation() -> None:
    # hard-swish written out: add 3, relu6 (hardtanh), mul by x, divide by 6
    f, _ = traced(ConvAct(hard_swish))
    ops = [n for n in f.graph.nodes if n.kind in (ir.OpKind.ELEMENTWISE, ir.OpKind.ACTIVATION)]
    assert [n.op.split(".")[1] for n in ops] == ["add", "hardtanh", "mul", "div"]
    assert all(f.is_activation(n) for n in ops)
    # neither a squeeze-excitation gate nor a residual add is one
    for how in ("se", "residual"):
        g, _ = traced(Gated(how))
        last = [n for n in g.graph.nodes if n.kind is ir.OpKind.ELEMENTWISE][-1]
        assert not g.is_activation(last)
