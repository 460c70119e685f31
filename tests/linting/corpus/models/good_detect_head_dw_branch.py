"""Control: a YOLO-style detection head whose classification branch is depthwise-separable.

The neck ends in a 1×1 conv that fuses a concatenation down to 256 channels; the class
branch then runs a depthwise 3×3 and a 1×1 conv 256→80 with BN and SiLU, twice, before the
class logits. The 1×1 narrows after a depthwise conv, but there is no expansion in front of
the depthwise conv and no residual after the 1×1: a separable conv, not an inverted
residual's linear bottleneck, so its activation is no mistake. Like many detectors, every
conv shares one activation module instance.
"""

import torch
from torch import nn

INPUT_SHAPE = (1, 3, 128, 128)
ACT = nn.SiLU()  # one instance for every conv


class Conv(nn.Module):
    def __init__(self, cin: int, cout: int, k: int, stride: int = 1, groups: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.act = ACT

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.bn(self.conv(x)))


class CspFuse(nn.Module):
    """Two 3×3 paths concatenated with the input, fused by a narrowing 1×1 (384 → 256)."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.a = Conv(c, c // 2, 3)
        self.b = Conv(c // 2, c // 2, 3)
        self.fuse = Conv(c + c, 256, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.a(x)
        return self.fuse(torch.cat([x, a, self.b(a)], 1))


class Head(nn.Module):
    def __init__(self, c: int = 256, classes: int = 80) -> None:
        super().__init__()
        self.box = nn.Sequential(Conv(c, 64, 3), Conv(64, 64, 3), nn.Conv2d(64, 64, 1))
        self.cls = nn.Sequential(
            nn.Sequential(Conv(c, c, 3, groups=c), Conv(c, classes, 1)),
            nn.Sequential(Conv(classes, classes, 3, groups=classes), Conv(classes, classes, 1)),
            nn.Conv2d(classes, classes, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.box(x), self.cls(x)], 1)


class Detector(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.backbone = nn.Sequential(
            Conv(3, 32, 3, 2),
            Conv(32, 64, 3, 2),
            Conv(64, 64, 3),
            Conv(64, 128, 3, 2),
            Conv(128, 128, 3),
            Conv(128, 192, 3, 2),
            Conv(192, 192, 3),
        )
        self.neck = CspFuse(192)
        self.head = Head()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.neck(self.backbone(x)))
