"""RF004 bad: a residual block whose main branch uses an unpadded 3×3 conv and then pads
two pixels on one side only to restore the size ("same" padding done by hand). Its
features sit one block pixel (4 input pixels at stride 4) away from the shortcut's."""

import torch.nn.functional as F
from torch import nn

INPUT_SHAPE = (1, 3, 64, 64)
EXPECTED = {"RF004": 1}


class Block(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, 3)  # no padding: output pixel 0 centred on input 1
        self.conv2 = nn.Conv2d(c, c, 3, padding=1)
        self.act = nn.ReLU()

    def forward(self, x):
        y = F.pad(self.act(self.conv1(x)), (2, 0, 2, 0))  # both missing pixels on one side
        return self.act(x + self.conv2(y))  # RF004


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 32, 3, stride=2, padding=1), nn.ReLU(),
                                  nn.MaxPool2d(3, stride=2, padding=1))  # stride 4
        self.block = Block(32)
        self.head = nn.Linear(32, 10)

    def forward(self, x):
        return self.head(self.block(self.stem(x)).mean((2, 3)))


def build_model() -> nn.Module:
    return Net()
