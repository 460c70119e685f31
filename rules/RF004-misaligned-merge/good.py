"""RF004 good: the shortcut pools with a 3×3 window (stride 2, padding 1), centred on the
same pixels as the main branch's 3×3 stride-2 conv; PSPNet-style pyramid pooling resized
back with ``align_corners=True``."""

import torch
import torch.nn.functional as F
from torch import nn

INPUT_SHAPE = (1, 3, 64, 64)
EXPECTED: dict[str, int] = {}


class DownBlock(nn.Module):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=2, padding=1)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.shortcut = nn.Sequential(
            nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False),
            nn.Conv2d(cin, cout, 1))
        self.act = nn.ReLU()

    def forward(self, x):
        return self.act(self.conv2(self.act(self.conv1(x))) + self.shortcut(x))


class PyramidPool(nn.Module):
    """2×2 and 4×4 bins resized back corner-aligned: their effective strides differ from the
    map's, yet no feature drifts half a bin from where it belongs, at any input size."""

    def forward(self, x):
        size = x.shape[-2:]
        bins = [F.interpolate(F.adaptive_avg_pool2d(x, s), size, mode="bilinear",
                              align_corners=True) for s in (2, 4)]
        return torch.cat([x, *bins], 1)


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 32, 3, stride=2, padding=1), nn.ReLU(),
                                  nn.MaxPool2d(3, stride=2, padding=1))
        self.block = DownBlock(32, 64)
        self.head = nn.Linear(64, 10)
        self.pyramid = PyramidPool()

    def forward(self, x):
        y = self.block(self.stem(x))
        return self.head(y.mean((2, 3))), self.pyramid(y)


def build_model() -> nn.Module:
    return Net()
