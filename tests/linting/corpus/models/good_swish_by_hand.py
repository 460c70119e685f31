"""Control: MixNet / EfficientNet-style blocks whose activations are written by hand.

Every conv is wrapped as conv + BN + an activation written out in ``forward``: Swish
``x * sigmoid(x)``, hard-swish ``x * relu6(x + 3) / 6``, the tanh approximation of GELU
and Mish ``x * tanh(softplus(x))``. Each multiplies (or adds) operands computed from the
same tensor, element by element: an activation, not a merge of two branches, so the 1×1
expansion wrapper is one conv layer and no "block without a spatial op".
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

INPUT_SHAPE = (1, 3, 128, 128)


def swish(x: torch.Tensor) -> torch.Tensor:
    return x * torch.sigmoid(x)


def hard_swish(x: torch.Tensor) -> torch.Tensor:
    return x * F.relu6(x + 3.0) / 6.0


def gelu_tanh(x: torch.Tensor) -> torch.Tensor:
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))


def mish(x: torch.Tensor) -> torch.Tensor:
    return x * torch.tanh(F.softplus(x))


class ConvBlock(nn.Module):
    """conv + BN + a hand-written activation (the wrapper many code bases use)."""

    def __init__(self, cin: int, cout: int, k: int, act, stride: int = 1, groups: int = 1):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.act = act

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.bn(self.conv(x)))


class InvertedResidual(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, act) -> None:
        super().__init__()
        mid = 6 * cin
        self.use_res = stride == 1 and cin == cout
        self.exp_conv = ConvBlock(cin, mid, 1, act)
        self.dw_conv = ConvBlock(mid, mid, 3, act, stride, groups=mid)
        self.proj = nn.Sequential(nn.Conv2d(mid, cout, 1, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.proj(self.dw_conv(self.exp_conv(x)))
        return x + y if self.use_res else y


class HandActivationNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = ConvBlock(3, 16, 3, swish, stride=2)
        self.features = nn.Sequential(
            InvertedResidual(16, 24, 2, swish),
            InvertedResidual(24, 24, 1, hard_swish),
            InvertedResidual(24, 40, 2, gelu_tanh),
            InvertedResidual(40, 40, 1, mish),
            InvertedResidual(40, 80, 2, swish),
            InvertedResidual(80, 80, 1, swish),
            InvertedResidual(80, 160, 2, swish),
        )
        self.head = ConvBlock(160, 320, 1, swish)
        self.fc = nn.Linear(320, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.head(self.features(self.stem(x))).mean((2, 3)))
