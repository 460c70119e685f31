"""Ops → kernel families, and the per-layer / end-to-end prediction on a hand-made model."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from types import MappingProxyType

import pytest
import torch
from torch import nn

import convscope
from convscope.ir import graph as ir
from convscope.targets.kernel_families import FAMILIES
from convscope.targets.latency import (
    KernelCall,
    call_us,
    kernel_call,
    predict,
    separable_calls,
    spatialize_calls,
)
from convscope.targets.profiles import read_profile

CONSTANT = Path(__file__).resolve().parents[1] / "fixtures" / "kernels" / "constant.yaml"


def _constant_us(node: ir.Node) -> float:
    """The hand-made model's time of one op: conv 100 µs, view / create 1 µs, else 10 µs."""
    if node.kind is ir.OpKind.CONV:
        return 100.0
    if node.kind in (ir.OpKind.VIEW, ir.OpKind.CREATE):
        return 1.0
    return 10.0


class Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(8, 8, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(8)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.bn(self.conv(x))) + x


def test_hand_count_of_a_small_block() -> None:
    a = convscope.analyze(Block(), (1, 8, 16, 16))
    pred = predict(a.graph, read_profile(str(CONSTANT)).kernels)  # type: ignore[arg-type]
    ops = {n.op: _constant_us(n) for n in a.graph.nodes}
    want_us = sum(_constant_us(n) for n in a.graph.nodes)
    assert "aten.convolution.default" in ops and "aten.relu_.default" in ops
    assert pred.kernel_ms == pytest.approx(want_us / 1e3, rel=1e-9)
    # conv, bn and act are calibrated through their modules (their calls are in the
    # samples): the overhead is the block's own call, 2 µs, stated apart.
    assert pred.module_calls == 1
    assert pred.overhead_ms == pytest.approx(0.002)
    assert pred.predicted_ms == pytest.approx(want_us / 1e3 + 0.002, rel=1e-9)
    assert pred.layer_ms["conv"] == pytest.approx(0.1, rel=1e-9)


def test_in_place_and_broadcast_columns() -> None:
    a = convscope.analyze(Block(), (2, 8, 16, 16))
    calls = {n.op: kernel_call(a.graph, n) for n in a.graph.nodes}
    assert calls["aten.relu_.default"] == KernelCall("act.relu", (2 * 8 * 256, 1))
    assert calls["aten.add.Tensor"] == KernelCall("ew.add", (2 * 8 * 256, 2 * 8 * 256, 0))
    conv = calls["aten.convolution.default"]
    assert conv == KernelCall("conv.dense", (2, 8, 8, 1, 9, 1, 256, 256, 0))


# Together these use every op kind torchvision's classification models run (views, copies,
# pads, cats, softmax, attention-style matmuls, gathers, depthwise / grouped convs...).
MODELS = (
    "resnet18",
    "densenet121",
    "mobilenet_v3_small",
    "efficientnet_b0",
    "regnet_y_400mf",
    "convnext_tiny",
    "swin_t",
)


@pytest.mark.parametrize("name", MODELS)
def test_every_op_is_priced_and_stand_ins_are_listed(name: str) -> None:
    a = convscope.analyze_spec(f"torchvision:{name}")
    model = read_profile(str(CONSTANT)).kernels
    assert model is not None
    pred = predict(a.graph, model)
    calls = [kernel_call(a.graph, n) for n in a.graph.nodes]
    assert all(c.family in FAMILIES for c in calls)
    assert len(pred.node_us) == len(a.graph.nodes)  # nothing dropped
    # Every stand-in is listed with its count; nothing else is.
    approximate = sum(c.approximate for c in calls)
    assert sum(x.count for x in pred.approximated) == approximate
    # Layers add up to the end-to-end prediction minus the module call overhead.
    assert sum(pred.layer_ms.values()) == pytest.approx(pred.predicted_ms - pred.overhead_ms)
    containers = sum(m.calls for m in a.graph.modules if not m.is_leaf)
    assert containers <= pred.module_calls <= sum(m.calls for m in a.graph.modules)
    # The hand-made model's constants, op by op: the classification is by op kind.
    want = sum(_constant_us(n) for n in a.graph.nodes) / 1e3
    assert pred.kernel_ms == pytest.approx(want, rel=1e-6)


def test_families_missing_from_a_profile_fall_back_and_are_listed() -> None:
    model = read_profile(str(CONSTANT)).kernels
    assert model is not None
    samples = {k: v for k, v in model.samples.items() if k != "act.relu"}
    partial = replace(model, samples=MappingProxyType(samples))
    a = convscope.analyze(Block(), (1, 8, 16, 16))
    pred = predict(a.graph, partial)
    listed = {(x.op, x.family, x.count) for x in pred.approximated}
    assert listed == {("aten.relu_.default", "copy", 1)}


def test_a_hypothetical_call_is_priced_by_its_family() -> None:
    model = read_profile(str(CONSTANT)).kernels
    assert model is not None
    depthwise = KernelCall("conv.depthwise", (1, 32, 32, 32, 9, 1, 3136, 3136, 0))
    assert call_us(model, depthwise) == pytest.approx(100.0, rel=1e-9)
    assert call_us(model, KernelCall("act.silu", (50_000, 1))) == pytest.approx(10.0, rel=1e-9)


class StdConv(nn.Conv2d):
    """Weight standardization: the weight viewed as [1, cout, cin·k²], batch-normalized
    with its own statistics on every call (the norm's first operand is a parameter view)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = nn.functional.batch_norm(
            self.weight.reshape(1, self.out_channels, -1), None, None, training=True, eps=1e-5
        ).reshape_as(self.weight)
        return self._conv_forward(x, w, self.bias)


def test_batch_statistics_are_their_own_family_with_the_normalized_shape() -> None:
    a = convscope.analyze(StdConv(16, 32, 3, padding=1), (1, 16, 8, 8))
    calls = [kernel_call(a.graph, n) for n in a.graph.nodes if n.kind is ir.OpKind.NORM]
    assert calls == [KernelCall("norm.batch_stats", (1, 32, 16 * 9))]
    # An eval batch norm of a map stays the one-pass family, on its input's shape.
    b = convscope.analyze(Block().eval(), (2, 8, 16, 16))
    norms = [kernel_call(b.graph, n) for n in b.graph.nodes if n.kind is ir.OpKind.NORM]
    assert norms == [KernelCall("norm.batch", (2, 8, 256))]


class TokenConv(nn.Module):
    """A depthwise conv over a transposed view of a Linear's batch-1 tokens (PVTv2's and
    SegFormer's token MLP): PyTorch copies the input into a dense layout first."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 8)
        self.dw = nn.Conv2d(8, 8, 3, padding=1, groups=8)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.dw(self.fc(tokens).transpose(1, 2).reshape(1, 8, 6, 6))


def test_a_conv_that_copies_its_input_first_pays_the_copy() -> None:
    a = convscope.analyze(TokenConv(), (1, 36, 4))
    pred = predict(a.graph, read_profile(str(CONSTANT)).kernels)  # type: ignore[arg-type]
    # The fixture prices a conv 100 µs and a copy 10 µs: the layer pays both, two kernels.
    assert pred.layer_ms["dw"] == pytest.approx(0.11, rel=1e-9)
    assert pred.layer_ops["dw"] == 2
    assert pred.family_ms["copy"] == pytest.approx(0.01, rel=1e-9)
    conv = next(n for n in a.graph.nodes if n.kind is ir.OpKind.CONV)
    assert kernel_call(a.graph, conv).columns[-1] == 0  # run contiguous, after the copy
    # The op's own time holds its copy, as its layer's does (the table's rows read it).
    assert pred.node_us[conv.id] == pytest.approx(110.0, rel=1e-9)
    assert pred.nodes_ms([conv.id]) == pytest.approx(pred.layer_ms["dw"], rel=1e-9)


def test_a_rewrite_of_a_conv_that_copies_its_input_copies_it_too() -> None:
    """Before and after a rewrite are priced alike: the new depthwise conv reads the input
    the old conv read, so it copies it first as well (a saving is not the copy's time)."""
    a = convscope.analyze(TokenConv(), (1, 36, 4))
    conv = next(n for n in a.graph.nodes if n.kind is ir.OpKind.CONV)
    copy = KernelCall("copy", (8 * 36, 1))
    sep = separable_calls(a.graph, conv)
    spatial = spatialize_calls(a.graph, conv, 3)
    assert sep[0] == copy and [c.family for c in sep[1:]] == ["conv.depthwise", "conv.pointwise"]
    assert spatial[0] == copy and len(spatial) == 3
    plain = convscope.analyze(Block(), (1, 8, 16, 16))
    dense = next(n for n in plain.graph.nodes if n.kind is ir.OpKind.CONV)
    assert [c.family for c in separable_calls(plain.graph, dense)] == [
        "conv.depthwise",
        "conv.pointwise",
    ]


class ChannelsLast(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.dw = nn.Conv2d(8, 8, 3, padding=1, groups=8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dw(x.contiguous(memory_format=torch.channels_last))


def test_a_channels_last_input_selects_the_channels_last_samples() -> None:
    a = convscope.analyze(ChannelsLast(), (1, 8, 6, 6))
    conv = next(n for n in a.graph.nodes if n.kind is ir.OpKind.CONV)
    assert kernel_call(a.graph, conv) == KernelCall("conv.depthwise", (1, 8, 8, 8, 9, 1, 36, 36, 1))
