"""QF003 bad: a BatchNorm after an activation, and one whose conv output also feeds a skip."""

from torch import nn

INPUT_SHAPE = (1, 3, 32, 32)
EXPECTED = {"QF003": 2}


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)  # fine: folds into conv1
        self.conv2 = nn.Conv2d(16, 16, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(16)  # QF003: conv2's output is also the skip input
        self.bn3 = nn.BatchNorm2d(16)  # QF003: after a ReLU (pre-activation style)
        self.head = nn.Linear(16, 10)
        self.act = nn.ReLU()

    def forward(self, x):
        x = self.act(self.bn1(self.conv1(x)))
        y = self.conv2(x)
        x = self.act(self.bn2(y)) + y
        x = self.bn3(self.act(x))
        return self.head(x.mean((2, 3)))


def build_model() -> nn.Module:
    return Net()
