"""RF002 bad: a stem of three 1×1 convs and a residual block of 1×1 convs at full size."""

from torch import nn

INPUT_SHAPE = (1, 3, 64, 64)
EXPECTED = {"RF002": 2}


class PointwiseResidual(nn.Module):
    """x + 1×1(ReLU(1×1(x))): a whole block without a spatial op."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.reduce = nn.Conv2d(channels, channels // 2, 1)
        self.expand = nn.Conv2d(channels // 2, channels, 1)
        self.act = nn.ReLU()

    def forward(self, x):
        return x + self.expand(self.act(self.reduce(x)))


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.pw1 = nn.Conv2d(3, 16, 1)  # RF002: three 1×1 convs in a row, RF 1 pixel
        self.pw2 = nn.Conv2d(16, 16, 1)
        self.pw3 = nn.Conv2d(16, 32, 1)
        self.spatial = nn.Conv2d(32, 32, 3, padding=1)
        self.mixer = PointwiseResidual(32)  # RF002: no spatial op, RF 3 pixels
        self.down = nn.Conv2d(32, 64, 3, stride=2, padding=1)
        self.head = nn.Conv2d(64, 10, 1)
        self.act = nn.ReLU()

    def forward(self, x):
        x = self.act(self.pw3(self.act(self.pw2(self.act(self.pw1(x))))))
        x = self.mixer(self.act(self.spatial(x)))
        return self.head(self.act(self.down(x))).mean((2, 3))


def build_model() -> nn.Module:
    return Net()
