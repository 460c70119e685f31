"""How ops are named in messages, on a traced model whose layers are known by hand."""

from __future__ import annotations

import torch
from torch import nn

import convscope
from convscope.ir.graph import OpKind as K
from convscope.ir.text import describe, kernel, op_name, packet


class _Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 16, 3, padding=1)
        self.dw = nn.Conv2d(16, 16, (3, 5), padding=(1, 2), groups=16)
        self.grouped = nn.Conv2d(16, 32, 1, groups=4)
        self.up = nn.ConvTranspose2d(32, 8, 2, stride=2)
        self.pool = nn.MaxPool2d(2)
        self.bn = nn.BatchNorm2d(8)
        self.act = nn.ReLU6(inplace=True)
        self.fc = nn.Linear(8, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.act(self.bn(self.pool(self.up(self.grouped(self.dw(self.conv(x)))))))
        return self.fc(x.mean((2, 3)))


def test_packet_drops_namespace_and_overload() -> None:
    assert packet("aten.addmm.default") == "addmm"
    assert packet("torchvision.nms.default") == "nms"
    assert packet("custom") == "custom"
    assert kernel((3, 5)) == "3×5" and kernel((7,)) == "7"


def test_every_kind_of_layer_reads_as_a_phrase() -> None:
    graph = convscope.analyze(_Net(), (1, 3, 8, 8)).graph
    by_module = {}
    layers = {K.CONV, K.POOL, K.NORM, K.LINEAR, K.ACTIVATION}
    for n in graph.nodes:
        if n.kind in layers:  # BatchNorm also records the allocation of its saved stats
            by_module.setdefault(n.module, n)
    assert describe(by_module["conv"]) == "3×3 conv 3→16"
    assert describe(by_module["dw"]) == "depthwise 3×5 conv (16 ch)"
    assert describe(by_module["grouped"]) == "1×1 conv 16→32, 4 groups"
    assert describe(by_module["up"]) == "2×2 transposed conv 32→8"
    assert describe(by_module["pool"]) == "2×2 max-pool"
    assert describe(by_module["bn"]) == "batch norm"
    assert describe(by_module["fc"]) == "linear 8→10"
    act = by_module["act"]
    assert op_name(act) == "hardtanh_" and describe(act) == "hardtanh"
