"""Control: MobileNetV2 inverted residuals: 1×1 expand (6×), depthwise 3×3, linear projection.

Every depthwise conv runs over an expanded tensor (≥ 192 channels), the projection ends in
BatchNorm without an activation, and the residual add follows it directly.
"""

import torch
from torch import nn

INPUT_SHAPE = (1, 3, 32, 32)


class InvertedResidual(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, t: int = 6) -> None:
        super().__init__()
        mid = cin * t
        self.use_res = stride == 1 and cin == cout
        self.block = nn.Sequential(
            nn.Conv2d(cin, mid, 1, bias=False),
            nn.BatchNorm2d(mid),
            nn.ReLU6(),
            nn.Conv2d(mid, mid, 3, stride, 1, groups=mid, bias=False),
            nn.BatchNorm2d(mid),
            nn.ReLU6(),
            nn.Conv2d(mid, cout, 1, bias=False),
            nn.BatchNorm2d(cout),  # linear bottleneck
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.block(x)
        return x + y if self.use_res else y


class MobileNetV2Small(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, 32, 3, 2, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU6()
        )
        self.blocks = nn.Sequential(
            InvertedResidual(32, 32, 1),
            InvertedResidual(32, 64, 2),
            InvertedResidual(64, 64, 1),
            InvertedResidual(64, 96, 2),
            InvertedResidual(96, 96, 1),
        )
        self.head = nn.Sequential(
            nn.Conv2d(96, 256, 1, bias=False), nn.BatchNorm2d(256), nn.ReLU6()
        )
        self.fc = nn.Linear(256, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.head(self.blocks(self.stem(x))).mean((2, 3)))
