"""Control: a DeepLabV3+ head: separable ASPP and a corner-aligned ×4 decoder upsampling.

The ASPP branches are depthwise-separable convs (dilated depthwise 3×3, then a 1×1 conv
256→128 with BN and ReLU) on the encoder's output: they narrow after a depthwise conv, but
nothing in front widened the channels and no residual follows, so they are no inverted
residual. The ASPP output (stride 16) is upsampled ×4 with ``align_corners=True`` and
concatenated with stride-4 features: the coarse grid's last pixel centre lands on the fine
grid's last one, a stretch of three quarters of a coarse pixel across the map, inherent to
corner-aligned resizing and the same at every input size.
"""

import torch
import torch.nn.functional as F
from torch import nn

INPUT_SHAPE = (1, 3, 128, 128)


def conv_bn(cin: int, cout: int, k: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, stride, k // 2, bias=False), nn.BatchNorm2d(cout), nn.ReLU()
    )


def separable(cin: int, cout: int, dilation: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cin, 3, padding=dilation, dilation=dilation, groups=cin, bias=False),
        nn.Conv2d(cin, cout, 1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(),
    )


class Aspp(nn.Module):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.branches = nn.ModuleList(
            [conv_bn(cin, cout, 1), separable(cin, cout, 2), separable(cin, cout, 4)]
        )
        self.pool = conv_bn(cin, cout, 1)
        self.project = conv_bn(4 * cout, cout, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = self.pool(F.adaptive_avg_pool2d(x, 1)).expand(-1, -1, *x.shape[-2:])
        return self.project(torch.cat([*(b(x) for b in self.branches), pooled], 1))


class DeepLabV3Plus(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.low = nn.Sequential(conv_bn(3, 32, 3, 2), conv_bn(32, 64, 3, 2), conv_bn(64, 64, 3))
        self.high = nn.Sequential(
            conv_bn(64, 128, 3, 2), conv_bn(128, 128, 3), conv_bn(128, 256, 3, 2),
            conv_bn(256, 256, 3),
        )  # fmt: skip
        self.aspp = Aspp(256, 128)
        self.reduce = conv_bn(64, 48, 1)
        self.fuse = nn.Sequential(conv_bn(176, 128, 3), conv_bn(128, 128, 3))
        self.head = nn.Conv2d(128, 5, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        low = self.low(x)
        up = F.interpolate(
            self.aspp(self.high(low)), scale_factor=4.0, mode="bilinear", align_corners=True
        )
        y = self.head(self.fuse(torch.cat([up, self.reduce(low)], 1)))
        return F.interpolate(y, scale_factor=4.0, mode="bilinear", align_corners=True)
