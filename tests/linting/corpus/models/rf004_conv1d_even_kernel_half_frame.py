"""Audio residual block with an even 4-tap kernel padded as if it were odd.

``Conv1d(k=4, padding=2)`` yields one extra frame, which is cropped off the end: the branch's
output t is centred on input t + 0.5 (stride 1) while the identity is centred on t. Stacked
blocks accumulate the shift between the residual stream and the branches.
"""

import torch
from torch import nn

INPUT_SHAPE = (1, 64, 256)


class EvenKernelBlock(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(c, c, 4, padding=2, bias=False)
        self.bn = nn.BatchNorm1d(c)
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.bn(self.conv(x))[..., :-1]  # crop the extra frame at the end
        return self.act(x + y)


class EvenKernelTcn(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.blocks = nn.Sequential(*[EvenKernelBlock(64) for _ in range(4)])
        self.down = nn.Sequential(
            *[nn.Sequential(nn.Conv1d(64, 64, 9, 2, 4), nn.ReLU()) for _ in range(5)]
        )
        self.fc = nn.Linear(64, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.down(self.blocks(x)).mean(-1))
