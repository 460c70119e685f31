"""QF004 bad: SiLU and PReLU activations (both on the default list)."""

from torch import nn

INPUT_SHAPE = (1, 3, 32, 32)
EXPECTED = {"QF004": 2}


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, padding=1)
        self.act1 = nn.SiLU()  # QF004
        self.conv2 = nn.Conv2d(16, 16, 3, padding=1)
        self.act2 = nn.PReLU(16)  # QF004
        self.head = nn.Linear(16, 10)

    def forward(self, x):
        x = self.act2(self.conv2(self.act1(self.conv1(x))))
        return self.head(x.mean((2, 3)))


def build_model() -> nn.Module:
    return Net()
