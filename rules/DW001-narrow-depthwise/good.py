"""DW001 good (edge-int8): every depthwise conv runs over at least 32 channels, the first
one on the 3→32 stem's output, the next on a 6× expanded representation (MobileNetV2)."""

from torch import nn

INPUT_SHAPE = (1, 3, 32, 32)
TARGET = "edge-int8"
EXPECTED: dict[str, int] = {}


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 32, 3, padding=1)
        self.dw0 = nn.Conv2d(32, 32, 3, padding=1, groups=32)  # the stem expanded 3→32
        self.expand = nn.Conv2d(32, 192, 1)  # 6× expansion before the depthwise conv
        self.dw = nn.Conv2d(192, 192, 3, padding=1, groups=192)
        self.project = nn.Conv2d(192, 32, 1)
        self.head = nn.Conv2d(32, 10, 1)
        self.act = nn.ReLU()

    def forward(self, x):
        x = self.act(self.dw0(self.act(self.stem(x))))
        x = x + self.project(self.act(self.dw(self.act(self.expand(x)))))
        return self.head(x).mean((2, 3))


def build_model() -> nn.Module:
    return Net()
