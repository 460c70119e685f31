"""RF003 bad: a 5×5 conv on a 4×4 map, and a 3×3 conv whose input already sees the whole
32×32 image."""

from torch import nn

INPUT_SHAPE = (1, 3, 32, 32)
EXPECTED = {"RF003": 2}


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.down = nn.Sequential(  # RF 3, 7, 15 at strides 2, 4, 8; map 4×4
            nn.Conv2d(3, 16, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(32, 64, 3, stride=2, padding=1), nn.ReLU())
        self.wide = nn.Conv2d(64, 64, 5, padding=2)  # RF003: 5×5 kernel on a 4×4 map; RF 47
        self.late = nn.Conv2d(64, 64, 3, padding=1)  # RF003: input RF 47 ≥ 32
        self.head = nn.Linear(64, 10)
        self.act = nn.ReLU()

    def forward(self, x):
        x = self.act(self.late(self.act(self.wide(self.down(x)))))
        return self.head(x.mean((2, 3)))


def build_model() -> nn.Module:
    return Net()
