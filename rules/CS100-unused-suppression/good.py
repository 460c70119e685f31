"""CS100 good: the suppression names the rule that fires on its line (DW001: 8 channels)."""

from torch import nn

INPUT_SHAPE = (1, 3, 32, 32)
EXPECTED: dict[str, int] = {}


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.dw = nn.Conv2d(8, 8, 3, padding=1, groups=8)  # convscope: ignore[DW001]
        self.pw = nn.Conv2d(8, 64, 1)
        self.head = nn.Linear(64, 10)

    def forward(self, x):
        x = self.pw(self.dw(self.stem(x).relu())).relu()
        return self.head(x.mean((2, 3)))


def build_model() -> nn.Module:
    return Net()
