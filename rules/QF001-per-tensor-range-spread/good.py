"""QF001 good: the same block with depthwise filters of similar scale (within 1.5×), so
every channel keeps at least 7 of 8 bits under one per-tensor INT8 scale."""

import torch
from torch import nn

INPUT_SHAPE = (1, 3, 32, 32)
EXPECTED: dict[str, int] = {}


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 32, 3, padding=1, bias=False)
        self.stem_bn = nn.BatchNorm2d(32)
        self.expand = nn.Conv2d(32, 96, 1, bias=False)
        self.expand_bn = nn.BatchNorm2d(96)
        self.dw = nn.Conv2d(96, 96, 3, padding=1, groups=96, bias=False)
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
        # Channel scales within a factor of 1.5 of each other.
        scales = torch.linspace(0.8, 1.2, 96)[torch.randperm(96, generator=g)]
        model.dw.weight.mul_(scales.view(-1, 1, 1, 1))
    return model
