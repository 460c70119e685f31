"""PF001 good (target gpu-fp16): wide 3×3 convs are compute-bound and hold most of the
predicted latency; the memory-bound activations and head each stay below 10%."""

from torch import nn

INPUT_SHAPE = (1, 3, 32, 32)
TARGET = "gpu-fp16"
EXPECTED: dict[str, int] = {}


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 256, 3, padding=1)
        self.body = nn.Sequential(*[nn.Sequential(nn.Conv2d(256, 256, 3, padding=1),
                                                  nn.ReLU()) for _ in range(4)])
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(256, 10)

    def forward(self, x):
        return self.fc(self.flatten(self.pool(self.body(self.stem(x)))))


def build_model() -> nn.Module:
    return Net()
