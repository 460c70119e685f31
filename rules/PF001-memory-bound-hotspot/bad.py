"""PF001 bad (target gpu-fp16): a flatten + linear head whose 8.4M weights are read once
per image, at 0.5 FLOP/byte, take most of the predicted latency."""

from torch import nn

INPUT_SHAPE = (1, 3, 32, 32)
TARGET = "gpu-fp16"
EXPECTED = {"PF001": 1}


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 32, 3, padding=1)
        self.act1 = nn.ReLU()
        self.conv2 = nn.Conv2d(32, 32, 3, padding=1)
        self.act2 = nn.ReLU()
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(32 * 32 * 32, 256)  # PF001: memory-bound, most of the time

    def forward(self, x):
        return self.fc(self.flatten(self.act2(self.conv2(self.act1(self.conv1(x))))))


def build_model() -> nn.Module:
    return Net()
