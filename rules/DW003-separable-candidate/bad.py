"""DW003 bad: a dense 3×3 conv 64→64 that holds most of the model's MACs."""

from torch import nn

INPUT_SHAPE = (1, 3, 32, 32)
EXPECTED = {"DW003": 1}


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 64, 3, padding=1)  # 3 input channels: below min_in_channels
        self.conv = nn.Conv2d(64, 64, 3, padding=1)  # DW003: separable saves ~87% of MACs
        self.head = nn.Linear(64, 10)
        self.act = nn.ReLU()

    def forward(self, x):
        x = self.act(self.conv(self.act(self.stem(x))))
        return self.head(x.mean((2, 3)))


def build_model() -> nn.Module:
    return Net()
