"""Bytes read/written, liveness peak, fused traffic and dtype re-pricing."""

from __future__ import annotations

import torch
from torch import nn

import convscope
from convscope.ir import graph as ir


def test_conv_traffic_hand_computed() -> None:
    # Read input 1·3·8·8 + weights 4·3·9 + bias 4; write 1·4·6·6. float32 = 4 bytes.
    a = convscope.analyze(nn.Conv2d(3, 4, 3), (1, 3, 8, 8))
    row = a.rows[0]
    assert row.bytes_read == 4 * (192 + 108 + 4)
    assert row.bytes_written == 4 * 144
    assert row.activation_bytes == 4 * 144
    assert row.intensity == (2 * 4 * 36 * 27) / (4 * (192 + 112 + 144))


def test_dtype_repricing() -> None:
    a32 = convscope.analyze(nn.Conv2d(3, 4, 3), (1, 3, 8, 8))
    a16 = convscope.analyze(nn.Conv2d(3, 4, 3), (1, 3, 8, 8), dtype="float16")
    a8 = convscope.analyze(nn.Conv2d(3, 4, 3), (1, 3, 8, 8), dtype="int8")
    assert a16.totals.traffic * 2 == a32.totals.traffic
    assert a8.totals.traffic * 4 == a32.totals.traffic
    assert a16.totals.macs == a32.totals.macs
    assert a16.totals.param_bytes == 2 * (108 + 4)


def test_views_are_free() -> None:
    a = convscope.analyze(nn.Flatten(), (1, 3, 8, 8))
    assert a.totals.traffic == 0


def test_peak_of_a_chain_is_two_adjacent_tensors() -> None:
    # x (3·16·16) → conv (8·16·16) → conv (8·16·16): the peak holds x plus one output while
    # conv1 runs, then conv1's and conv2's outputs together. Inputs stay live (pinned).
    m = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.Conv2d(8, 8, 3, padding=1))
    a = convscope.analyze(m, (1, 3, 16, 16))
    x, y = 3 * 256 * 4, 8 * 256 * 4
    assert a.totals.peak_activation_bytes == x + y + y


def test_residual_keeps_skip_alive() -> None:
    class Res(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = nn.Conv2d(4, 4, 1)
            self.b = nn.Conv2d(4, 4, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.b(self.a(x)) + x

    a = convscope.analyze(Res(), (1, 4, 8, 8))
    t = 4 * 64 * 4
    # while b runs: x (skip, pinned input), a's output, b's output; then the sum.
    assert a.totals.peak_activation_bytes == 3 * t


def test_inplace_relu_allocates_nothing() -> None:
    m = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(inplace=True))
    a = convscope.analyze(m, (1, 3, 8, 8))
    relu = a.row("1")
    assert relu.activation_bytes == 0  # writes into conv's buffer
    assert relu.bytes_written == 4 * 36 * 4  # ...but still moves the bytes
    out = 4 * 36 * 4
    assert a.totals.peak_activation_bytes == 3 * 64 * 4 + out


def test_fused_traffic_removes_single_consumer_intermediates() -> None:
    m = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU())
    a = convscope.analyze(m, (1, 3, 8, 8))
    inter = 4 * 36 * 4
    # conv→bn and bn→relu edges each save one write and one read.
    assert a.totals.fused_traffic_bytes == a.totals.traffic - 2 * 2 * inter


def test_peak_never_below_largest_single_tensor_on_real_model() -> None:
    torchvision = __import__("torchvision")
    with torch.device("meta"):
        m = torchvision.models.resnet18()
    a = convscope.analyze(m, (1, 3, 224, 224))
    largest = max(
        o.nbytes for n in a.graph.nodes for o in n.outputs if n.kind is not ir.OpKind.VIEW
    )
    assert a.totals.peak_activation_bytes >= largest
    assert a.totals.peak_activation_bytes <= a.totals.activation_bytes + 3 * 224 * 224 * 4
