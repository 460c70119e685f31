"""RF001 bad: the last conv sees 15×15 pixels of a 64×64 image before global pooling."""

from torch import nn

INPUT_SHAPE = (1, 3, 64, 64)
EXPECTED = {"RF001": 1}


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, stride=2, padding=1)  # RF 3, stride 2
        self.conv2 = nn.Conv2d(16, 32, 3, stride=2, padding=1)  # RF 7, stride 4
        self.conv3 = nn.Conv2d(32, 64, 3, padding=1)  # RF 15: 23% of the 64-pixel side
        self.head = nn.Linear(64, 10)
        self.act = nn.ReLU()

    def forward(self, x):
        x = self.act(self.conv3(self.act(self.conv2(self.act(self.conv1(x))))))
        return self.head(x.mean((2, 3)))


def build_model() -> nn.Module:
    return Net()
