"""Control: dilated segmentation backbone with an ASPP head at rates 1, 2 and 3.

Stride-1 dilated 3×3 convs keep the 8×8 map of a 64×64 input; the ASPP branches use padding
equal to their dilation, so the concatenated maps are aligned, and the dilated kernels (up to
7×7) fit inside the map.
"""

import torch
import torch.nn.functional as F
from torch import nn

INPUT_SHAPE = (1, 3, 64, 64)


def conv_bn(cin: int, cout: int, k: int = 3, stride: int = 1, dilation: int = 1) -> nn.Sequential:
    pad = dilation * (k // 2)
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, stride, pad, dilation, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(),
    )


class Aspp(nn.Module):
    def __init__(self, cin: int, c: int) -> None:
        super().__init__()
        self.branches = nn.ModuleList(
            [conv_bn(cin, c, 1), conv_bn(cin, c, dilation=2), conv_bn(cin, c, dilation=3)]
        )
        self.merge = conv_bn(3 * c, c, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.merge(torch.cat([b(x) for b in self.branches], 1))


class DilatedSegNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.backbone = nn.Sequential(
            conv_bn(3, 32, stride=2),
            conv_bn(32, 64, stride=2),
            conv_bn(64, 128, stride=2),
            conv_bn(128, 128, dilation=2),
            conv_bn(128, 128, dilation=2),
        )
        self.aspp = Aspp(128, 64)
        self.classifier = nn.Conv2d(64, 5, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.classifier(self.aspp(self.backbone(x)))
        return F.interpolate(y, scale_factor=8.0, mode="nearest")
