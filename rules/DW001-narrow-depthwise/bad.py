"""DW001 bad (edge-int8): a width multiplier of 0.25 left the separable blocks with
depthwise convs over 8 and 16 channels, far below the 32 an INT8 NPU vectorizes over."""

from torch import nn

INPUT_SHAPE = (1, 3, 32, 32)
TARGET = "edge-int8"
EXPECTED = {"DW001": 2}


def separable(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cin, 3, stride, 1, groups=cin, bias=False),  # DW001 (8 and 16)
        nn.BatchNorm2d(cin),
        nn.ReLU(),
        nn.Conv2d(cin, cout, 1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(),
    )


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1, bias=False), nn.BatchNorm2d(8),
                                  nn.ReLU())
        self.blocks = nn.Sequential(separable(8, 16), separable(16, 32, 2),
                                    separable(32, 64, 2))
        self.head = nn.Linear(64, 10)

    def forward(self, x):
        return self.head(self.blocks(self.stem(x)).mean((2, 3)))


def build_model() -> nn.Module:
    return Net()
