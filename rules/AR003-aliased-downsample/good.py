"""AR003 good: anti-aliased downsampling (Zhang 2019): stride-1 op, then a fixed blur with
stride 2 (BlurPool)."""

import torch
import torch.nn.functional as F
from torch import nn

INPUT_SHAPE = (1, 3, 64, 64)
EXPECTED: dict[str, int] = {}


class BlurPool(nn.Module):
    """A fixed 3×3 binomial low-pass filter applied per channel with stride 2."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        k = torch.tensor([1.0, 2.0, 1.0])
        kernel = (k[:, None] * k[None, :]) / 16.0
        self.register_buffer("kernel", kernel.expand(channels, 1, 3, 3).clone())
        self.channels = channels

    def forward(self, x):
        return F.conv2d(x, self.kernel, stride=2, padding=1, groups=self.channels)


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, stride=2, padding=1)  # the stem is exempt
        self.conv1 = nn.Conv2d(16, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)  # stride 1 ...
        self.blur1 = BlurPool(32)  # ... then blur + subsample
        self.pool = nn.MaxPool2d(2, stride=1)  # max with stride 1 ...
        self.blur2 = BlurPool(32)  # ... then blur + subsample
        self.head = nn.Linear(32, 10)
        self.act = nn.ReLU()

    def forward(self, x):
        x = self.act(self.conv1(self.act(self.stem(x))))
        x = self.blur1(self.act(self.conv2(x)))
        x = self.blur2(self.pool(x))
        return self.head(x.mean((2, 3)))


def build_model() -> nn.Module:
    return Net()
