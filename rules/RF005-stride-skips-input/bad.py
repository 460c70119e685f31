"""RF005 bad: a stage transition that downsamples with a 1×1 stride-2 conv and nothing
beside it (reads 1 pixel in 4), a dilated 3×3 conv whose taps all land on even positions
at stride 2, and a head that subsamples by slicing every second pixel."""

from torch import nn

INPUT_SHAPE = (1, 3, 32, 32)
EXPECTED = {"RF005": 3}


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 32, 3, padding=1)
        self.transition = nn.Conv2d(32, 64, 1, stride=2)  # RF005: skips 3/4 of its input
        self.body = nn.Conv2d(64, 64, 3, padding=1)
        self.dilated = nn.Conv2d(64, 64, 3, stride=2, padding=2, dilation=2)  # RF005: 3/4
        self.head = nn.Conv2d(64, 10, 1)
        self.act = nn.ReLU()

    def forward(self, x):
        x = self.act(self.transition(self.act(self.stem(x))))
        x = self.act(x + self.body(x))  # the merge comes after the stride: nothing reads it
        x = self.act(self.dilated(x))
        return self.head(x[:, :, ::2, ::2]).mean((2, 3))  # RF005: a strided slice


def build_model() -> nn.Module:
    return Net()
