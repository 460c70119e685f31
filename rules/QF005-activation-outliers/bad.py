"""QF005 bad: one output channel that is almost always small and occasionally large.

``mix``'s channel 0 reads ``relu(x₀ − 2)`` (non-zero on about 2% of the pixels of N(0, 1)
input) plus 0.05 × a dense channel, so its max is about ten times its 97.5th percentile.
Weights are set in ``build_model`` (no randomness); ``CALIBRATION`` names the data the
rule's test calibrates with.
"""

import torch
from torch import nn

INPUT_SHAPE = (1, 3, 32, 32)
CALIBRATION = "random"
EXPECTED = {"QF005": 1}


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.gate = nn.Conv2d(3, 8, 1)
        self.mix = nn.Conv2d(8, 8, 1, bias=False)  # QF005: channel 0 is heavy-tailed
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
        for c in range(8):  # channel c copies input channel c % 3
            model.gate.weight[c, c % 3] = 1.0
        model.gate.bias[0] = -2.0  # rarely active
        model.mix.weight.copy_(torch.eye(8).view(8, 8, 1, 1))
        model.mix.weight[0, 1] = 0.05  # a small dense component sets the 97.5th percentile
        model.head.weight.fill_(0.1)
        model.head.bias.zero_()
    return model
