"""QF005 good: every channel of ``mix`` is a dense ReLU output (max about 1.7 × P97.5)."""

import torch
from torch import nn

INPUT_SHAPE = (1, 3, 32, 32)
CALIBRATION = "random"
EXPECTED: dict[str, int] = {}


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.gate = nn.Conv2d(3, 8, 1)
        self.mix = nn.Conv2d(8, 8, 1, bias=False)
        self.head = nn.Linear(8, 10)
        self.act = nn.ReLU()

    def forward(self, x):
        x = self.mix(self.act(self.gate(x)))
        return self.head(x.mean((2, 3)))


def build_model() -> nn.Module:
    model = Net().eval()
    with torch.no_grad():
        model.gate.weight.zero_()
        model.gate.bias.zero_()
        for c in range(8):
            model.gate.weight[c, c % 3] = 1.0
        model.mix.weight.copy_(torch.eye(8).view(8, 8, 1, 1))
        model.mix.weight[0, 1] = 0.05
        model.head.weight.fill_(0.1)
        model.head.bias.zero_()
    return model
