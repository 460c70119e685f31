"""QF001 bad: an inverted-residual block whose depthwise filters differ in scale by 1000×.

The weights are set on purpose in ``build_model`` (seeded, no global RNG): each of the
depthwise conv's 96 channels gets a scale log-uniform in [0.001, 1], while every BatchNorm
holds neutral statistics (γ = 1, β = 0, mean 0, var 1), so only the weights themselves
starve channels: under one per-tensor INT8 scale 58 of the 96 keep fewer than 4 bits and
19 round to all zeros.
"""

import torch
from torch import nn

INPUT_SHAPE = (1, 3, 32, 32)
EXPECTED = {"QF001": 1}


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 32, 3, padding=1, bias=False)
        self.stem_bn = nn.BatchNorm2d(32)
        self.expand = nn.Conv2d(32, 96, 1, bias=False)
        self.expand_bn = nn.BatchNorm2d(96)
        self.dw = nn.Conv2d(96, 96, 3, padding=1, groups=96, bias=False)  # QF001: 60% of channels starved
        self.dw_bn = nn.BatchNorm2d(96)
        self.project = nn.Conv2d(96, 32, 1, bias=False)
        self.project_bn = nn.BatchNorm2d(32)
        self.head = nn.Linear(32, 10)
        self.act = nn.ReLU()

    def forward(self, x):
        x = self.act(self.stem_bn(self.stem(x)))
        y = self.act(self.expand_bn(self.expand(x)))
        y = self.act(self.dw_bn(self.dw(y)))
        x = x + self.project_bn(self.project(y))
        return self.head(x.mean((2, 3)))


def build_model() -> nn.Module:
    g = torch.Generator().manual_seed(0)
    model = Net().eval()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                fan_in = m.weight[0].numel()
                m.weight.copy_((torch.rand(m.weight.shape, generator=g) * 2 - 1) / fan_in**0.5)
                if m.bias is not None:
                    m.bias.zero_()
        scales = torch.logspace(-3, 0, 96)[torch.randperm(96, generator=g)]
        model.dw.weight.mul_(scales.view(-1, 1, 1, 1))
    return model
