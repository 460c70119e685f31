"""ConvNeXt-style stage whose depthwise convs were dropped: only channels-last MLPs remain.

After a 4×4 patchify stem, six residual blocks of LayerNorm → Linear → GELU → Linear over
the channel axis run at 16×16 (a quarter of the 64×64 input) with a 4-pixel receptive
field: a per-pixel MLP stack with no spatial op until the downsampling layer.
"""

import torch
from torch import nn

INPUT_SHAPE = (1, 3, 64, 64)


class MlpBlock(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, 4 * dim)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(4 * dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x.permute(0, 2, 3, 1)  # NCHW -> NHWC, as in ConvNeXt
        y = self.fc2(self.act(self.fc1(self.norm(y))))
        return x + y.permute(0, 3, 1, 2)


class ChannelsLastMlpNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 48, 4, stride=4)
        self.stage1 = nn.Sequential(*[MlpBlock(48) for _ in range(6)])  # no spatial op
        self.down = nn.Conv2d(48, 96, 2, stride=2)
        self.stage2 = nn.Sequential(
            nn.Conv2d(96, 96, 7, padding=3, groups=96),
            nn.Conv2d(96, 96, 1),
            nn.GELU(),
            nn.Conv2d(96, 96, 7, padding=3, groups=96),
            nn.Conv2d(96, 96, 1),
            nn.GELU(),
        )
        self.head = nn.Linear(96, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stage2(self.down(self.stage1(self.stem(x))))
        return self.head(x.mean((2, 3)))
