"""Defect-segmentation net with no downsampling: three 3×3 convs and a 1×1 classifier.

The dense output at 128×128 has a 7×7 receptive field, so each pixel's label is decided
from a 7-pixel window of a 128-pixel image; nothing (pooling, dilation, a deeper encoder)
brings in the context that a scratch or a missing part needs.
"""

import torch
from torch import nn

INPUT_SHAPE = (1, 3, 128, 128)


class ShallowSegNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 32, 3, padding=1, bias=False),
            nn.BatchNorm2d(32),
            nn.ReLU(),
            nn.Conv2d(32, 32, 3, padding=1, bias=False),
            nn.BatchNorm2d(32),
            nn.ReLU(),
            nn.Conv2d(32, 32, 3, padding=1, bias=False),
            nn.BatchNorm2d(32),
            nn.ReLU(),
        )
        self.classifier = nn.Conv2d(32, 4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))
