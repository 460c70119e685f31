"""PF002 good: the cost is spread over six similar layers."""

from torch import nn

INPUT_SHAPE = (1, 3, 32, 32)
EXPECTED: dict[str, int] = {}


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, stride=2, padding=1)
        self.body = nn.Sequential(*[nn.Conv2d(16, 16, 3, padding=1) for _ in range(6)])
        self.head = nn.Linear(16, 10)

    def forward(self, x):
        x = self.body(self.stem(x))
        return self.head(x.mean((2, 3)))


def build_model() -> nn.Module:
    return Net()
