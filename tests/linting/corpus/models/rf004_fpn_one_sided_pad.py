"""FPN whose stride-8 lateral conv was written with padding=0 and "fixed" by padding one side.

``lat4`` is a 3×3 conv without padding; to get the map back to size it is padded on the
right and bottom only, which shifts its features by 1.5 stride-8 pixels relative to the
upsampled top-down map they are added to (a plain FPN is off by half a pixel there).
"""

import torch
import torch.nn.functional as F
from torch import nn

INPUT_SHAPE = (1, 3, 64, 64)


def down(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, 2, 1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(),
        nn.Conv2d(cout, cout, 3, 1, 1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(),
    )


class ShiftedFpn(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.c2 = down(3, 32)  # stride 2
        self.c3 = down(32, 64)  # stride 4
        self.c4 = down(64, 128)  # stride 8
        self.c5 = down(128, 128)  # stride 16
        self.lat5 = nn.Conv2d(128, 64, 1)
        self.lat4 = nn.Conv2d(128, 64, 3, padding=0)  # the mistake: no padding ...
        self.lat3 = nn.Conv2d(64, 64, 1)
        self.smooth = nn.Conv2d(64, 64, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c3 = self.c3(self.c2(x))
        c4 = self.c4(c3)
        c5 = self.c5(c4)
        p5 = self.lat5(c5)
        lat4 = F.pad(self.lat4(c4), (0, 2, 0, 2))  # ... and a one-sided pad to fix the size
        p4 = lat4 + F.interpolate(p5, scale_factor=2.0, mode="nearest")
        p3 = self.lat3(c3) + F.interpolate(p4, scale_factor=2.0, mode="nearest")
        return self.smooth(p3)
