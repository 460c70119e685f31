"""Dense adapters: the layout a conv runs in, read from its operands' strides."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from convscope.ir import graph as ir
from convscope.trace.classify import classify
from convscope.trace.recorder import trace


def _tokens(n: int, c: int, side: int) -> torch.Tensor:
    """``[n, side², c]`` tokens seen as an ``[n, c, side, side]`` map (a transposed view)."""
    return torch.randn(n, side * side, c).transpose(1, 2).view(n, c, side, side)


def _inputs() -> dict[str, torch.Tensor]:
    x = torch.randn(2, 8, 6, 6)
    # A Linear's batch-1 output keeps a size-1 batch dim with the row stride: its
    # transposed view reads as neither layout.
    rows = nn.Linear(4, 8)(torch.randn(1, 36, 4)).detach()
    return {
        "contiguous": x,
        "channels_last": x.contiguous(memory_format=torch.channels_last),
        "tokens, batch 2": _tokens(2, 8, 6),
        "tokens, batch 1": _tokens(1, 8, 6),
        "linear tokens, batch 1": rows.transpose(1, 2).view(1, 8, 6, 6),
        "1×1 map": torch.randn(2, 8, 1, 1),
        "sliced": torch.randn(2, 8, 6, 12)[..., ::2],
        "permuted H/W": torch.randn(2, 8, 6, 6).transpose(2, 3),
    }


@pytest.mark.parametrize("name", list(_inputs()))
def test_the_layout_is_the_one_pytorch_runs_the_conv_in(name: str) -> None:
    x = _inputs()[name]
    conv = nn.Conv2d(8, 8, 3, padding=1, groups=8)
    kind, attrs = classify(
        torch.ops.aten.convolution.default,
        (x, conv.weight, conv.bias, [1, 1], [1, 1], [1, 1], False, [0, 0], 8),
        {},
        [],
    )
    assert kind is ir.OpKind.CONV and isinstance(attrs, ir.ConvAttrs)
    # The oracle: the layout of the output PyTorch's CPU conv writes.
    with torch.no_grad():
        out = conv(x)
    ran_channels_last = not out.is_contiguous() and out.is_contiguous(
        memory_format=torch.channels_last
    )
    if x.shape[-1] > 1:  # a 1×1 map is dense in both layouts: nothing to tell apart
        assert attrs.channels_last == ran_channels_last
    layout = torch.channels_last if attrs.channels_last else torch.contiguous_format
    assert attrs.input_copy == (not x.is_contiguous(memory_format=layout))


def test_a_trace_sees_the_layouts_a_model_leaves() -> None:
    class Block(nn.Module):
        """A token MLP's depthwise conv (PVTv2, SegFormer), then a ConvNeXt-style
        permute round trip into another depthwise conv."""

        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(4, 16)
            self.dw1 = nn.Conv2d(16, 16, 3, padding=1, groups=16)
            self.norm = nn.LayerNorm(16)
            self.dw2 = nn.Conv2d(16, 16, 3, padding=1, groups=16)

        def forward(self, tokens: torch.Tensor) -> torch.Tensor:
            x = self.fc(tokens).transpose(1, 2).reshape(1, 16, 8, 8)
            x = self.dw1(x)
            y = self.norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
            return self.dw2(y * 2.0 + x)

    graph = trace(Block(), [torch.randn(1, 64, 4)])
    convs = {n.module: n.attrs for n in graph.nodes if isinstance(n.attrs, ir.ConvAttrs)}
    assert convs["dw1"].input_copy and not convs["dw1"].channels_last
    assert convs["dw2"].channels_last and not convs["dw2"].input_copy


def test_a_model_converted_to_channels_last_is_traced_so() -> None:
    model = nn.Conv2d(8, 16, 3, padding=1).to(memory_format=torch.channels_last)
    x = torch.randn(1, 8, 6, 6)
    with torch.no_grad():
        out = model(x)
    # The oracle: PyTorch runs it in channels-last (its weight reads so), input contiguous.
    assert not out.is_contiguous() and out.is_contiguous(memory_format=torch.channels_last)
    (conv,) = [n.attrs for n in trace(model, [x]).nodes if isinstance(n.attrs, ir.ConvAttrs)]
    assert conv.channels_last and conv.input_copy  # the input is copied into channels-last
