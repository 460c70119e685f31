"""DW002 bad: a depthwise conv feeding another depthwise conv, and one feeding a residual add."""

from torch import nn

INPUT_SHAPE = (1, 3, 32, 32)
EXPECTED = {"DW002": 2}


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 64, 3, padding=1)
        self.dw1 = nn.Conv2d(64, 64, 3, padding=1, groups=64)  # DW002: reaches dw2 unmixed
        self.bn = nn.BatchNorm2d(64)
        self.dw2 = nn.Conv2d(64, 64, 3, padding=1, groups=64)  # DW002: reaches the add unmixed
        self.pw = nn.Conv2d(64, 64, 1)
        self.head = nn.Linear(64, 10)
        self.act = nn.ReLU()

    def forward(self, x):
        x = self.act(self.stem(x))
        y = self.act(self.bn(self.dw1(x)))
        x = x + self.dw2(y)
        x = self.act(self.pw(x))
        return self.head(x.mean((2, 3)))


def build_model() -> nn.Module:
    return Net()
