"""DW001 bad: a narrow depthwise conv and a depthwise conv without an expansion before it."""

from torch import nn

INPUT_SHAPE = (1, 3, 32, 32)
EXPECTED = {"DW001": 2}


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, padding=1)
        self.dw1 = nn.Conv2d(16, 16, 3, padding=1, groups=16)  # DW001: 16 < 32 channels
        self.pw1 = nn.Conv2d(16, 48, 1)
        self.pw2 = nn.Conv2d(48, 48, 1)  # keeps the width: no expansion
        self.dw2 = nn.Conv2d(48, 48, 3, padding=1, groups=48)  # DW001: 48 < 64, no expansion
        self.head = nn.Conv2d(48, 10, 1)
        self.act = nn.ReLU()

    def forward(self, x):
        x = self.act(self.stem(x))
        x = self.act(self.pw1(self.dw1(x)))
        x = self.act(self.dw2(self.act(self.pw2(x))))
        return self.head(x).mean((2, 3))


def build_model() -> nn.Module:
    return Net()
