"""CS100 bad: suppression comments that silence nothing."""

from torch import nn

INPUT_SHAPE = (1, 3, 32, 32)
EXPECTED = {"CS100": 2}


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 32, 3, padding=1)  # convscope: ignore
        self.pw = nn.Conv2d(32, 64, 1)  # convscope: ignore[XY123]
        self.head = nn.Linear(64, 10)

    def forward(self, x):
        x = self.pw(self.stem(x).relu()).relu()
        return self.head(x.mean((2, 3)))


def build_model() -> nn.Module:
    return Net()
