"""RF004 bad: a ResNet-D downsampling block. The shortcut's 2×2 average pool (stride 2)
centres output pixel 0 half a block pixel (2 input pixels at stride 4) away from the
3×3 stride-2 conv of the main branch."""

from torch import nn

INPUT_SHAPE = (1, 3, 64, 64)
EXPECTED = {"RF004": 1}


class DownBlock(nn.Module):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=2, padding=1)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.shortcut = nn.Sequential(nn.AvgPool2d(2, stride=2), nn.Conv2d(cin, cout, 1))
        self.act = nn.ReLU()

    def forward(self, x):
        return self.act(self.conv2(self.act(self.conv1(x))) + self.shortcut(x))  # RF004


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 32, 3, stride=2, padding=1), nn.ReLU(),
                                  nn.MaxPool2d(3, stride=2, padding=1))  # stride 4
        self.block = DownBlock(32, 64)
        self.head = nn.Linear(64, 10)

    def forward(self, x):
        return self.head(self.block(self.stem(x)).mean((2, 3)))


def build_model() -> nn.Module:
    return Net()
