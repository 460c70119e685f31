"""U-Net whose decoder 3×3 convs were replaced by 1×1 convs to save compute.

The full-resolution decoder stage concatenates the upsampled deep features with the
encoder skip (RF 5 px) and then runs three 1×1 convs: along the skip path the output
pixels never see more than 5×5 input pixels, exactly where the fine detail is decided.
"""

import torch
import torch.nn.functional as F
from torch import nn

INPUT_SHAPE = (1, 3, 64, 64)


def conv_bn(cin: int, cout: int, k: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, padding=k // 2, bias=False), nn.BatchNorm2d(cout), nn.ReLU()
    )


class PointwiseDecoderUNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.enc1 = nn.Sequential(conv_bn(3, 32, 3), conv_bn(32, 32, 3))
        self.enc2 = nn.Sequential(conv_bn(32, 64, 3), conv_bn(64, 64, 3))
        self.enc3 = nn.Sequential(conv_bn(64, 128, 3), conv_bn(128, 128, 3))
        self.bottom = nn.Sequential(conv_bn(128, 128, 3), conv_bn(128, 128, 3))
        self.dec3 = nn.Sequential(conv_bn(256, 64, 3), conv_bn(64, 64, 3))
        self.dec2 = nn.Sequential(conv_bn(128, 32, 3), conv_bn(32, 32, 3))
        # The mistake: the full-resolution stage is 1×1 only.
        self.dec1 = nn.Sequential(conv_bn(64, 32, 1), conv_bn(32, 32, 1), conv_bn(32, 32, 1))
        self.out = nn.Conv2d(32, 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e1 = self.enc1(x)
        e2 = self.enc2(F.max_pool2d(e1, 2))
        e3 = self.enc3(F.max_pool2d(e2, 2))
        b = self.bottom(F.max_pool2d(e3, 2))
        d3 = self.dec3(torch.cat([F.interpolate(b, scale_factor=2.0), e3], 1))
        d2 = self.dec2(torch.cat([F.interpolate(d3, scale_factor=2.0), e2], 1))
        d1 = self.dec1(torch.cat([F.interpolate(d2, scale_factor=2.0), e1], 1))
        return self.out(d1)
