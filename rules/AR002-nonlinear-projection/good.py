"""AR002 good: linear bottlenecks (projection conv + BatchNorm, no activation)."""

from torch import nn

INPUT_SHAPE = (1, 3, 32, 32)
EXPECTED: dict[str, int] = {}


class Block(nn.Module):
    def __init__(self, channels: int, expand: int = 6) -> None:
        super().__init__()
        hidden = channels * expand
        self.expand = nn.Sequential(nn.Conv2d(channels, hidden, 1, bias=False),
                                    nn.BatchNorm2d(hidden), nn.ReLU6())
        self.dw = nn.Sequential(nn.Conv2d(hidden, hidden, 3, padding=1, groups=hidden,
                                          bias=False), nn.BatchNorm2d(hidden), nn.ReLU6())
        self.project = nn.Conv2d(hidden, channels, 1, bias=False)
        self.bn = nn.BatchNorm2d(channels)  # linear bottleneck: no activation after it

    def forward(self, x):
        return x + self.bn(self.project(self.dw(self.expand(x))))


class ClassBranch(nn.Module):
    """No inverted residual: a depthwise-separable branch (1×1 16 → 24, depthwise 3×3, then
    1×1 24 → 8 with BN and ReLU) whose output is not added to a shortcut, as in a detection
    head's class branch."""

    def __init__(self) -> None:
        super().__init__()
        self.neck = nn.Sequential(nn.Conv2d(16, 24, 1, bias=False), nn.BatchNorm2d(24),
                                  nn.ReLU())
        self.dw = nn.Sequential(nn.Conv2d(24, 24, 3, padding=1, groups=24, bias=False),
                                nn.BatchNorm2d(24), nn.ReLU())
        self.cls = nn.Sequential(nn.Conv2d(24, 8, 1, bias=False), nn.BatchNorm2d(8), nn.ReLU())

    def forward(self, x):
        return self.cls(self.dw(self.neck(x)))


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, padding=1)
        self.block1 = Block(16)
        self.block2 = Block(16)
        self.head = nn.Linear(16, 10)
        self.classes = ClassBranch()

    def forward(self, x):
        x = self.block2(self.block1(self.stem(x)))
        return self.head(x.mean((2, 3))), self.classes(x)


def build_model() -> nn.Module:
    return Net()
