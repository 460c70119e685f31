"""AR001 good: no bias before BatchNorm; a bias before a 4-group GroupNorm is not cancelled."""

from torch import nn

INPUT_SHAPE = (1, 3, 32, 32)
EXPECTED: dict[str, int] = {}


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.conv2 = nn.Conv2d(16, 16, 3, padding=1)  # 4 channels per group: bias still matters
        self.gn2 = nn.GroupNorm(4, 16)
        self.head = nn.Linear(16, 10)
        self.act = nn.ReLU()

    def forward(self, x):
        x = self.act(self.bn1(self.conv1(x)))
        x = self.act(self.gn2(self.conv2(x)))
        return self.head(x.mean((2, 3)))


def build_model() -> nn.Module:
    return Net()
