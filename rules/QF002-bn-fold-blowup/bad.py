"""QF002 bad: BatchNorm statistics that blow up the folded weights.

Set on purpose in ``build_model`` (seeded): ``dw_bn`` has 6 channels whose running
variance is 0 (their input channel was dead when the statistics were collected), so their
fold factor is γ/√ε ≈ 316 and they set the per-tensor range (90 of 96 channels end below
4 bits); ``expand_bn`` has γ spread log-uniformly over three decades, so folding starves 58
of 96 channels the raw weights kept healthy. The other BatchNorms hold ordinary statistics.
"""

import torch
from torch import nn

INPUT_SHAPE = (1, 3, 32, 32)
EXPECTED = {"QF002": 2}


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 32, 3, padding=1, bias=False)
        self.stem_bn = nn.BatchNorm2d(32)
        self.expand = nn.Conv2d(32, 96, 1, bias=False)
        self.expand_bn = nn.BatchNorm2d(96)  # QF002: folding starves 60% of channels
        self.dw = nn.Conv2d(96, 96, 3, padding=1, groups=96, bias=False)
        self.dw_bn = nn.BatchNorm2d(96)  # QF002: 6 constant channels (running_var = 0)
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
            elif isinstance(m, nn.BatchNorm2d):
                c = m.num_features
                m.weight.copy_(0.8 + 0.4 * torch.rand(c, generator=g))
                m.bias.copy_(0.1 * torch.randn(c, generator=g))
                m.running_mean.copy_(0.1 * torch.randn(c, generator=g))
                m.running_var.copy_(0.5 + 1.5 * torch.rand(c, generator=g))
        model.expand_bn.weight.copy_(torch.logspace(-2, 1, 96)[torch.randperm(96, generator=g)])
        model.dw_bn.running_var[torch.randperm(96, generator=g)[:6]] = 0.0
    return model
