"""Control: PSPNet pyramid pooling, resized back with ``align_corners=True``.

The stride-8 feature map is average-pooled to 1×1, 2×2, 3×3 and 6×6 bins, each bin map is
projected by a 1×1 conv and resized bilinearly with ``align_corners=True`` to the feature
map's size, and everything is concatenated. Corner-aligned resizing maps the first and
last pixels onto pixel centres of the pooled map, so its effective stride differs from the
feature map's (4.1 vs 8 input pixels for the 2×2 bins), but its features never sit more
than half a bin from where they belong, at any input size.
"""

import torch
import torch.nn.functional as F
from torch import nn

INPUT_SHAPE = (1, 3, 128, 128)


def conv_bn(cin: int, cout: int, k: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, stride, k // 2, bias=False), nn.BatchNorm2d(cout), nn.ReLU()
    )


class PyramidPooling(nn.Module):
    def __init__(self, channels: int, sizes: tuple[int, ...] = (1, 2, 3, 6)) -> None:
        super().__init__()
        self.sizes = sizes
        self.convs = nn.ModuleList(conv_bn(channels, channels // 4, 1) for _ in sizes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = x.shape[-2:]
        levels = [
            F.interpolate(
                conv(F.adaptive_avg_pool2d(x, s)), size, mode="bilinear", align_corners=True
            )
            for s, conv in zip(self.sizes, self.convs, strict=True)
        ]
        return torch.cat([*levels, x], 1)


class PspNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.encoder = nn.Sequential(
            conv_bn(3, 32, 3, 2),
            conv_bn(32, 32, 3),
            conv_bn(32, 64, 3, 2),
            conv_bn(64, 64, 3),
            conv_bn(64, 128, 3, 2),
            conv_bn(128, 128, 3),
            conv_bn(128, 128, 3),
        )
        self.psp = PyramidPooling(128)
        self.fuse = conv_bn(256, 64, 3)
        self.head = nn.Conv2d(64, 5, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.head(self.fuse(self.psp(self.encoder(x))))
        return F.interpolate(y, scale_factor=8.0, mode="bilinear", align_corners=True)
