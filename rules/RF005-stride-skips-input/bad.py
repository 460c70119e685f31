"""RF005 bad: a 1×1 stride-2 shortcut conv (reads 1 pixel in 4) and a dilated 3×3 conv
whose taps all land on even positions at stride 2."""

from torch import nn

INPUT_SHAPE = (1, 3, 32, 32)
EXPECTED = {"RF005": 2}


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 32, 3, padding=1)
        self.main = nn.Conv2d(32, 64, 3, stride=2, padding=1)
        self.shortcut = nn.Conv2d(32, 64, 1, stride=2)  # RF005: skips 3/4 of its input
        self.dilated = nn.Conv2d(64, 64, 3, stride=2, padding=2, dilation=2)  # RF005: 3/4
        self.head = nn.Conv2d(64, 10, 1)
        self.act = nn.ReLU()

    def forward(self, x):
        x = self.act(self.stem(x))
        x = self.act(self.main(x) + self.shortcut(x))
        return self.head(self.act(self.dilated(x))).mean((2, 3))


def build_model() -> nn.Module:
    return Net()
