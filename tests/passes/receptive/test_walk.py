"""The walk over whole graphs: odd inputs, in-place writes, hand-built IR, immutability,
and the published RFs of torchvision models (Araujo et al., Distill 2019; Richter et al.
2021)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import convscope
from convscope.analysis.rf import receptive_field, with_receptive_field
from convscope.ir import graph as ir
from convscope.passes.keys import RECEPTIVE_FIELD
from convscope.passes.receptive import walk
from convscope.passes.receptive.result import ReceptiveField

Check = Callable[..., None]  # the conftest fixture


def test_odd_graphs_never_raise() -> None:
    # no spatial input
    rf = receptive_field(nn.Linear(4, 2), (2, 4))
    assert rf.output is None and rf.input_size == () and not rf.covers_input()
    assert isinstance(rf.summary_text(), str)


class Buffer(nn.Module):
    """Channel concat by writing into a preallocated buffer (in-place writes into views)."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Conv2d(3, 4, 3, padding=1)
        self.b = nn.Conv2d(8, 2, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.a(x)
        buf = y.new_zeros(1, 8, 16, 16)
        buf[:, :4].copy_(y)
        buf[:, 4:] = F.avg_pool2d(y, 5, 1, 2)
        return self.b(buf)


def test_in_place_writes_into_a_buffer_reach_its_readers(check: Check) -> None:
    rf = receptive_field(Buffer(), (1, 3, 16, 16))
    # 3 (conv a) → 3 + 4 (avg pool 5) = 7 on one half → 7 + 2 (conv b) = 9; shortest 5
    check(rf.output, (9, 9), (1, 1), (4, 4), min_size=(5, 5))  # type: ignore[arg-type]


class Spectrogram(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 2, (3, 5), padding=(1, 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x.unsqueeze(1))


def test_3d_input_of_a_2d_model_has_two_spatial_axes(check: Check) -> None:
    rf = receptive_field(Spectrogram(), (2, 40, 100))  # [N, F, T] → [N, 1, F, T]
    assert rf.input_size == (40, 100)
    check(rf.output, (3, 5), (1, 1), (1, 2))  # type: ignore[arg-type]


def test_hand_built_graph_without_torch_objects() -> None:
    t = ir.TensorSpec
    x, a, b, y = (
        t(0, (1, 1, 9, 9), "float32", 0),
        t(1, (1, 1, 9, 9), "float32", 1),
        t(2, (1, 1, 9, 9), "float32", 2),
        t(3, (1, 1, 9, 9), "float32", 3),
    )
    conv = ir.ConvAttrs(1, 1, (5, 5), (1, 1), (2, 2), (1, 1), 1, False, (0, 0), False)
    pool = ir.PoolAttrs("max", (3, 3), (1, 1), (1, 1), (1, 1), False)
    nodes = (
        ir.Node(0, "aten.convolution.default", ir.OpKind.CONV, conv, (0,), (), (a,), "c", "C"),
        ir.Node(1, "aten.max_pool2d.default", ir.OpKind.POOL, pool, (0,), (), (b,), "p", "P"),
        ir.Node(
            2, "aten.add.Tensor", ir.OpKind.ELEMENTWISE, ir.NoAttrs(), (1, 2), (), (y,), "", "M"
        ),
    )
    g = ir.Graph(
        nodes=nodes,
        inputs=(x,),
        outputs=(3,),
        tensors=(x, a, b, y),
        params=(),
        modules=(),
        mode="meta",
    )
    rf = walk.receptive_field(g)
    assert rf.per_node[2].size == (5, 5) and rf.per_node[2].min_size == (3, 3)
    assert rf.per_layer["c"].padding == (2, 2)
    assert rf.misalignments == ()


def test_result_is_immutable_and_graph_untouched() -> None:
    a = convscope.analyze(nn.Conv2d(1, 1, 3), (1, 1, 8, 8))
    before = a.graph
    b = with_receptive_field(a)
    assert a.extras == {} and b.graph is before
    rf = b.need(RECEPTIVE_FIELD)
    with pytest.raises(TypeError):
        rf.per_layer["x"] = rf.output  # type: ignore[index]


# -- torchvision anchors: published RFs -----------------------------------------------------


def _tv(name: str) -> ReceptiveField:
    import torchvision

    with torch.device("meta"):
        m = torchvision.models.get_model(name)
    return receptive_field(m, (1, 3, 224, 224))


def test_vgg16_conv5_3_and_pool5(check: Check) -> None:
    rf = _tv("vgg16")
    check(rf.per_layer["features.28"], (196, 196), (16, 16), (90, 90))  # conv5_3
    check(rf.per_layer["features.30"], (212, 212), (32, 32), (90, 90))  # pool5


def test_resnet50_stages() -> None:
    rf = _tv("resnet50")
    for stage, (size, stride) in {
        "layer1": (35, 4),
        "layer2": (91, 8),
        "layer3": (267, 16),
        "layer4": (427, 32),
    }.items():
        r = rf.per_layer[stage]
        assert r.size == (size, size) and r.stride == (stride, stride), stage
        assert r.center_offset(0) == 0
    assert rf.misalignments == ()
    assert rf.output is not None and rf.output.is_global and rf.output.size == (427, 427)


def test_resnet18_and_mobilenet_v2() -> None:
    assert _tv("resnet18").per_layer["layer4"].size == (435, 435)
    rf = _tv("mobilenet_v2")
    assert rf.per_layer["features"].size == (491, 491)
    assert rf.per_layer["features"].stride == (32, 32)
    assert rf.misalignments == ()
