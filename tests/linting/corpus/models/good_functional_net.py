"""Control: a plain CNN written entirely with ``torch.nn.functional`` calls in ``forward``.

Weights, BatchNorm affine parameters and running statistics are registered on the root
module; convs are 3×3 without bias, each followed by an inference ``F.batch_norm``.
"""

import itertools

import torch
import torch.nn.functional as F
from torch import nn

INPUT_SHAPE = (1, 3, 32, 32)
WIDTHS = (3, 32, 64, 128, 128, 128)
STRIDES = (2, 2, 2, 1, 1)


class FunctionalNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.weights = nn.ParameterList()
        self.gammas = nn.ParameterList()
        self.betas = nn.ParameterList()
        for i, (cin, cout) in enumerate(itertools.pairwise(WIDTHS)):
            w = torch.randn(cout, cin, 3, 3, generator=g) * (9 * cin) ** -0.5
            self.weights.append(nn.Parameter(w))
            self.gammas.append(nn.Parameter(torch.ones(cout)))
            self.betas.append(nn.Parameter(torch.zeros(cout)))
            self.register_buffer(f"mean{i}", torch.zeros(cout))
            self.register_buffer(f"var{i}", torch.ones(cout))
        self.fc_weight = nn.Parameter(torch.randn(10, WIDTHS[-1], generator=g) * 0.1)
        self.fc_bias = nn.Parameter(torch.zeros(10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i, stride in enumerate(STRIDES):
            x = F.conv2d(x, self.weights[i], stride=stride, padding=1)
            x = F.batch_norm(
                x,
                getattr(self, f"mean{i}"),
                getattr(self, f"var{i}"),
                self.gammas[i],
                self.betas[i],
                training=False,
            )
            x = F.relu(x)
        return F.linear(x.mean((2, 3)), self.fc_weight, self.fc_bias)
