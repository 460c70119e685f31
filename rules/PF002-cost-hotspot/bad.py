"""PF002 bad: one wide 3×3 conv holds most of the MACs and activation memory."""

from torch import nn

INPUT_SHAPE = (1, 3, 32, 32)
EXPECTED = {"PF002": 1}


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.wide = nn.Conv2d(8, 128, 3, padding=1)  # PF002: the hotspot
        self.reduce = nn.Conv2d(128, 8, 1, stride=2)
        self.conv = nn.Conv2d(8, 8, 3, padding=1)
        self.head = nn.Linear(8, 10)

    def forward(self, x):
        x = self.conv(self.reduce(self.wide(self.stem(x))))
        return self.head(x.mean((2, 3)))


def build_model() -> nn.Module:
    return Net()
