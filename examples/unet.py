"""A small U-Net (Ronneberger et al., 2015) for 2-class segmentation at 128×128.

What it illustrates
-------------------
An encoder-decoder with skip connections. Three encoder levels (two 3×3 conv + BN + ReLU
each, then 2×2 max-pool), a bottleneck at 1/8 resolution, and three decoder levels that
upsample, concatenate the encoder feature map of the same resolution (``torch.cat``) and
apply two 3×3 conv + BN + ReLU. The decoder deliberately uses both kinds of upsampling:

* the deepest level uses a learned ``ConvTranspose2d(kernel_size=2, stride=2)``;
* the other two use ``F.interpolate(scale_factor=2, mode="bilinear")`` followed by a 3×3 conv.

A 1×1 conv head maps to per-pixel class logits at full resolution.

What convscope should show on it
--------------------------------
* Correct MACs for the transposed conv (counted once per *input* pixel and kernel tap, not
  4× too high) and a separate "other ops" entry for bilinear interpolation.
* Receptive fields through upsampling (effective stride shrinking back to 1) and at the
  ``cat`` merges, where the skip branch and the decoder branch have very different RFs; the
  merge report states both, and the smallest RF (the skip path) is tracked.
* Peak activation memory from the liveness walk: the encoder outputs (skip tensors) stay
  alive until the decoder level that concatenates them, so the peak depends on the graph's
  long-lived edges, not only on the largest single layer.

What ``convscope lint`` reports (tests/test_examples.py checks these lines)
---------------------------------------------------------------------------
* on ``generic`` (the default): DW003 ×12.
* on ``--target edge-int8``: DW003 ×12, HW001 ×1.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

INPUT_SHAPE: tuple[int, int, int, int] = (1, 3, 128, 128)

BASE_WIDTH: int = 16
NUM_CLASSES: int = 2


class DoubleConv(nn.Sequential):
    """Two 3×3 conv (no bias) + BN + ReLU layers."""

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__(
            nn.Conv2d(in_ch, out_ch, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(out_ch),
            nn.ReLU(inplace=True),
            nn.Conv2d(out_ch, out_ch, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(out_ch),
            nn.ReLU(inplace=True),
        )


class UpTransposed(nn.Module):
    """Learned 2× upsampling (transposed conv k=2 s=2), concat skip, DoubleConv."""

    def __init__(self, in_ch: int, skip_ch: int, out_ch: int) -> None:
        super().__init__()
        self.up = nn.ConvTranspose2d(in_ch, out_ch, kernel_size=2, stride=2)
        self.conv = DoubleConv(out_ch + skip_ch, out_ch)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = self.up(x)
        return self.conv(torch.cat([x, skip], dim=1))


class UpBilinear(nn.Module):
    """Bilinear 2× upsampling + 3×3 conv to reduce width, concat skip, DoubleConv."""

    def __init__(self, in_ch: int, skip_ch: int, out_ch: int) -> None:
        super().__init__()
        self.reduce = nn.Sequential(
            nn.Conv2d(in_ch, out_ch, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(out_ch),
            nn.ReLU(inplace=True),
        )
        self.conv = DoubleConv(out_ch + skip_ch, out_ch)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        x = self.reduce(x)
        return self.conv(torch.cat([x, skip], dim=1))


class UNet(nn.Module):
    """Three-level U-Net with a bottleneck and a 1×1 segmentation head."""

    def __init__(self, base: int = BASE_WIDTH, num_classes: int = NUM_CLASSES) -> None:
        super().__init__()
        c1, c2, c3, c4 = base, 2 * base, 4 * base, 8 * base
        self.enc1 = DoubleConv(3, c1)  # 128×128
        self.enc2 = DoubleConv(c1, c2)  # 64×64
        self.enc3 = DoubleConv(c2, c3)  # 32×32
        self.pool = nn.MaxPool2d(kernel_size=2, stride=2)
        self.bottleneck = DoubleConv(c3, c4)  # 16×16
        self.up3 = UpTransposed(c4, c3, c3)  # → 32×32
        self.up2 = UpBilinear(c3, c2, c2)  # → 64×64
        self.up1 = UpBilinear(c2, c1, c1)  # → 128×128
        self.head = nn.Conv2d(c1, num_classes, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s1 = self.enc1(x)
        s2 = self.enc2(self.pool(s1))
        s3 = self.enc3(self.pool(s2))
        x = self.bottleneck(self.pool(s3))
        x = self.up3(x, s3)
        x = self.up2(x, s2)
        x = self.up1(x, s1)
        return self.head(x)


def build_model() -> nn.Module:
    """U-Net with base width 16 and 2 output classes."""
    return UNet()
