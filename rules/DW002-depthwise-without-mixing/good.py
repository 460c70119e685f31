"""DW002 good: every depthwise conv is followed by a pointwise conv before anything else."""

from torch import nn

INPUT_SHAPE = (1, 3, 32, 32)
EXPECTED: dict[str, int] = {}


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 64, 3, padding=1)
        self.dw1 = nn.Conv2d(64, 64, 3, padding=1, groups=64)
        self.bn = nn.BatchNorm2d(64)
        self.pw1 = nn.Conv2d(64, 64, 1)  # mixes channels before the next spatial op
        self.dw2 = nn.Conv2d(64, 64, 3, padding=1, groups=64)
        self.pw2 = nn.Conv2d(64, 64, 1)  # mixes channels before the residual add
        self.head = nn.Linear(64, 10)
        self.act = nn.ReLU()

    def forward(self, x):
        x = self.act(self.stem(x))
        y = self.act(self.pw1(self.act(self.bn(self.dw1(x)))))
        x = x + self.pw2(self.dw2(y))
        return self.head(x.mean((2, 3)))


def build_model() -> nn.Module:
    return Net()
