"""RF005 good: the ResNet-D shortcut (2×2 average pool, then a stride-1 1×1 conv), the
ResNet-B shortcut (a 1×1 stride-2 conv beside a 3×3 stride-2 branch that reads every
pixel), and an undilated 3×3 stride-2 conv."""

from torch import nn

INPUT_SHAPE = (1, 3, 32, 32)
EXPECTED: dict[str, int] = {}


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 32, 3, padding=1)
        self.main = nn.Conv2d(32, 64, 3, stride=2, padding=1)
        self.shortcut = nn.Sequential(nn.AvgPool2d(2, stride=2), nn.Conv2d(32, 64, 1))
        self.main_b = nn.Conv2d(64, 64, 3, stride=2, padding=1)
        self.shortcut_b = nn.Conv2d(64, 64, 1, stride=2)  # the parallel branch reads the rest
        self.down = nn.Conv2d(64, 64, 3, stride=2, padding=1)
        self.head = nn.Conv2d(64, 10, 1)
        self.act = nn.ReLU()

    def forward(self, x):
        x = self.act(self.stem(x))
        x = self.act(self.main(x) + self.shortcut(x))
        x = self.act(self.main_b(x) + self.shortcut_b(x))
        return self.head(self.act(self.down(x))).mean((2, 3))


def build_model() -> nn.Module:
    return Net()
