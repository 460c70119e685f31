"""RF001 good: five stride-2 stages give the last conv a 95×95 receptive field on 64×64."""

from torch import nn

INPUT_SHAPE = (1, 3, 64, 64)
EXPECTED: dict[str, int] = {}


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        widths = [3, 16, 32, 64, 64]
        self.down = nn.Sequential(*[  # RF 3, 7, 15, 31 at strides 2, 4, 8, 16
            nn.Sequential(nn.Conv2d(cin, cout, 3, stride=2, padding=1), nn.ReLU())
            for cin, cout in zip(widths, widths[1:])])
        self.conv = nn.Sequential(nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(),  # RF 63
                                  nn.Conv2d(64, 64, 3, padding=1), nn.ReLU())  # RF 95
        self.head = nn.Linear(64, 10)

    def forward(self, x):
        return self.head(self.conv(self.down(x)).mean((2, 3)))


def build_model() -> nn.Module:
    return Net()
