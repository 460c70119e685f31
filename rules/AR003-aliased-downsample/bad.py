"""AR003 bad: a strided 3×3 conv and a strided max-pool after the stem, without blurring."""

from torch import nn

INPUT_SHAPE = (1, 3, 64, 64)
EXPECTED = {"AR003": 2}


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, stride=2, padding=1)  # spatial op 1: stem, exempt
        self.conv1 = nn.Conv2d(16, 16, 3, padding=1)  # spatial op 2
        self.down1 = nn.Conv2d(16, 32, 3, stride=2, padding=1)  # AR003: strided, no blur
        self.pool = nn.MaxPool2d(2)  # AR003: strided max-pool, no blur
        self.head = nn.Linear(32, 10)
        self.act = nn.ReLU()

    def forward(self, x):
        x = self.act(self.conv1(self.act(self.stem(x))))
        x = self.pool(self.act(self.down1(x)))
        return self.head(x.mean((2, 3)))


def build_model() -> nn.Module:
    return Net()
