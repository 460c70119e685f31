"""DW002 bad: a depthwise conv feeding another depthwise conv (a separable block that lost
its pointwise half), and a ConvNeXt-style stage whose blocks lost their MLPs: each block
adds a depthwise conv to the residual stream, and the channels cross one depthwise conv
after another without ever being mixed."""

from torch import nn

INPUT_SHAPE = (1, 3, 32, 32)
EXPECTED = {"DW002": 2}


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 64, 3, padding=1)
        self.dw1 = nn.Conv2d(64, 64, 3, padding=1, groups=64)  # DW002: reaches dw2 unmixed
        self.bn = nn.BatchNorm2d(64)
        self.dw2 = nn.Conv2d(64, 64, 3, padding=1, groups=64)
        self.pw = nn.Conv2d(64, 64, 1)
        # DW002 on the first: through residual adds, three depthwise convs in a row, unmixed
        self.stage = nn.ModuleList(nn.Conv2d(64, 64, 7, padding=3, groups=64) for _ in range(4))
        self.head = nn.Linear(64, 10)
        self.act = nn.ReLU()

    def forward(self, x):
        x = self.act(self.stem(x))
        x = self.act(self.pw(self.dw2(self.act(self.bn(self.dw1(x))))))
        for dw in self.stage:
            x = x + dw(x)
        return self.head(x.mean((2, 3)))


def build_model() -> nn.Module:
    return Net()
