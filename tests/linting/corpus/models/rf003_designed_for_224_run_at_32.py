"""A five-stage classifier designed for 224×224 inputs, trained on 32×32 thumbnails.

Stage 4 and 5 run on 2×2 and 1×1 maps: their 3×3 convs mostly multiply padding, and their
inputs already see the whole 32×32 image, so they add parameters but no context.
"""

import torch
from torch import nn

INPUT_SHAPE = (1, 3, 32, 32)


def stage(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, 2, 1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(),
        nn.Conv2d(cout, cout, 3, 1, 1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(),
    )


class OversizedNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stages = nn.Sequential(
            stage(3, 32), stage(32, 64), stage(64, 128), stage(128, 256), stage(256, 256)
        )
        self.fc = nn.Linear(256, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.stages(x).mean((2, 3)))
