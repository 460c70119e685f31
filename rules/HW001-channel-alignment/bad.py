"""HW001 bad (target gpu-fp16): a 20-channel tensor breaks the multiple-of-8 rule in two
layers; one finding for the one width."""

from torch import nn

INPUT_SHAPE = (1, 3, 32, 32)
TARGET = "gpu-fp16"
EXPECTED = {"HW001": 1}


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 20, 3, padding=1)  # HW001: out 20 (in 3 is the RGB input)
        self.conv2 = nn.Conv2d(20, 32, 3, padding=1)  # HW001: in 20
        self.head = nn.Linear(32, 10)  # 10 classes: the model output, skipped
        self.act = nn.ReLU()

    def forward(self, x):
        x = self.act(self.conv2(self.act(self.conv1(x))))
        return self.head(x.mean((2, 3)))


def build_model() -> nn.Module:
    return Net()
