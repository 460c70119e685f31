"""Control: Inception blocks whose four branches keep the same pixel grid before the concat.

1×1, 1×1 → 3×3, 1×1 → 3×3 → 3×3 and 3×3 max-pool (stride 1) → 1×1 branches, all with
padding k // 2, concatenated along channels.
"""

import torch
from torch import nn

INPUT_SHAPE = (1, 3, 32, 32)


def conv_bn(cin: int, cout: int, k: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, stride, k // 2, bias=False), nn.BatchNorm2d(cout), nn.ReLU()
    )


class Inception(nn.Module):
    def __init__(self, cin: int, c: int) -> None:
        super().__init__()
        self.b1 = conv_bn(cin, c, 1)
        self.b3 = nn.Sequential(conv_bn(cin, c, 1), conv_bn(c, c, 3))
        self.b5 = nn.Sequential(conv_bn(cin, c, 1), conv_bn(c, c, 3), conv_bn(c, c, 3))
        self.pool = nn.Sequential(nn.MaxPool2d(3, 1, 1), conv_bn(cin, c, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.b1(x), self.b3(x), self.b5(x), self.pool(x)], 1)


class InceptionNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(conv_bn(3, 64, 3, 2), conv_bn(64, 64, 3))
        self.mixed1 = Inception(64, 32)
        self.down = conv_bn(128, 128, 3, 2)
        self.mixed2 = Inception(128, 64)
        self.down2 = conv_bn(256, 256, 3, 2)
        self.fc = nn.Linear(256, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.down2(self.mixed2(self.down(self.mixed1(self.stem(x)))))
        return self.fc(x.mean((2, 3)))
