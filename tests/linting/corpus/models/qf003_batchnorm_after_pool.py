"""VGG-style stages written conv → ReLU → max-pool → BatchNorm.

Moving the BatchNorm behind the pool (to normalise a 4× smaller map) leaves it with no
conv directly in front: it cannot be folded and stays a separate op at inference.
"""

import torch
from torch import nn

INPUT_SHAPE = (1, 3, 32, 32)


def stage(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(cout, cout, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.BatchNorm2d(cout),  # the mistake: BN after the pool
    )


class PoolThenNormNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(stage(3, 32), stage(32, 64), stage(64, 128))
        self.fc = nn.Linear(128, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x).mean((2, 3)))
