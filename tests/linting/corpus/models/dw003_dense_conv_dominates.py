"""Mobile detector neck whose one dense 3×3 conv 128→128 at 32×32 holds most of the MACs.

Everything else is depthwise-separable; the leftover dense conv costs ten times as much as
the rest of the network together, where a depthwise + pointwise pair would cost ~12% of it.
"""

import torch
from torch import nn

INPUT_SHAPE = (1, 3, 64, 64)


def separable(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cin, 3, stride, 1, groups=cin, bias=False),
        nn.BatchNorm2d(cin),
        nn.ReLU(),
        nn.Conv2d(cin, cout, 1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(),
    )


class DenseNeckNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, 64, 3, 2, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU()
        )
        self.stage = nn.Sequential(separable(64, 128))
        self.neck = nn.Sequential(  # the leftover dense conv
            nn.Conv2d(128, 128, 3, 1, 1, bias=False), nn.BatchNorm2d(128), nn.ReLU()
        )
        self.tail = nn.Sequential(
            separable(128, 128, 2),
            separable(128, 256, 2),
            separable(256, 256, 2),
            separable(256, 256),
        )
        self.fc = nn.Linear(256, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.tail(self.neck(self.stage(self.stem(x)))).mean((2, 3)))
