"""A MobileNetV2-style classifier (Sandler et al., 2018) at width multiplier 0.5.

What it illustrates
-------------------
Inverted residual blocks: a 1×1 *expansion* conv + BN + ReLU6, a 3×3 *depthwise* conv + BN +
ReLU6, and a *linear* 1×1 projection conv + BN (no activation: the linear bottleneck), with a
residual ``add`` when the block keeps stride 1 and its width. The first block has expansion
factor 1 and therefore no expansion conv.

What convscope should show on it
--------------------------------
* The depthwise / pointwise split of cost: depthwise layers hold few MACs but much memory
  traffic (low arithmetic intensity), pointwise layers hold most MACs — the spatial-vs-channel
  mixing profile.
* On an NPU target (``--target edge-int8``): DW001 narrow-depthwise on the depthwise conv
  with fewer than 32 channels at this small width multiplier (the 16-channel depthwise of
  the first block, with no expansion before it), QF004 quant-unfriendly-activation for
  ReLU6 after depthwise + BN, and HW001 channel-alignment for the widths that are not
  multiples of 32. Without a target all three stay quiet: 16 channels is above generic's
  minimum of 8, and there is no INT8 pipeline or alignment to serve.
* AR002 nonlinear-projection must stay quiet: every projection is linear.
* The largest receptive field of a mobile classifier (MobileNetV2's features: 491 at 1.0×;
  the width multiplier does not change it).

What ``convscope lint`` reports (tests/test_examples.py checks these lines)
---------------------------------------------------------------------------
* on ``generic`` (the default): nothing.
* on ``--target edge-int8``: DW001 ×1, HW001 ×4, QF004 ×1.
"""

from __future__ import annotations

import torch
from torch import nn

INPUT_SHAPE: tuple[int, int, int, int] = (1, 3, 224, 224)

WIDTH_MULT: float = 0.5
NUM_CLASSES: int = 10

# (expansion t, output channels c, repeats n, first stride s) — the MobileNetV2 table.
SETTINGS: tuple[tuple[int, int, int, int], ...] = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)


def make_divisible(value: float, divisor: int = 8) -> int:
    """Round ``value`` to the nearest multiple of ``divisor``, never dropping below 90% of it."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


class ConvBNReLU6(nn.Sequential):
    """Conv (no bias) + BatchNorm + ReLU6; ``groups=channels`` makes it depthwise."""

    def __init__(
        self, in_ch: int, out_ch: int, kernel_size: int = 3, stride: int = 1, groups: int = 1
    ) -> None:
        super().__init__(
            nn.Conv2d(
                in_ch,
                out_ch,
                kernel_size,
                stride=stride,
                padding=(kernel_size - 1) // 2,
                groups=groups,
                bias=False,
            ),
            nn.BatchNorm2d(out_ch),
            nn.ReLU6(inplace=True),
        )


class InvertedResidual(nn.Module):
    """1×1 expand → 3×3 depthwise → linear 1×1 project, residual when shapes allow."""

    def __init__(self, in_ch: int, out_ch: int, stride: int, expand_ratio: int) -> None:
        super().__init__()
        hidden = in_ch * expand_ratio
        self.use_residual = stride == 1 and in_ch == out_ch
        layers: list[nn.Module] = []
        if expand_ratio != 1:
            layers.append(ConvBNReLU6(in_ch, hidden, kernel_size=1))
        layers += [
            ConvBNReLU6(hidden, hidden, kernel_size=3, stride=stride, groups=hidden),
            # Linear bottleneck: projection conv + BN, deliberately without an activation.
            nn.Conv2d(hidden, out_ch, kernel_size=1, bias=False),
            nn.BatchNorm2d(out_ch),
        ]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.use_residual:
            return x + self.conv(x)
        return self.conv(x)


class MobileNetV2(nn.Module):
    """MobileNetV2 feature extractor + global average pool + linear classifier."""

    def __init__(self, width_mult: float = WIDTH_MULT, num_classes: int = NUM_CLASSES) -> None:
        super().__init__()
        in_ch = make_divisible(32 * width_mult)
        self.last_channel = make_divisible(1280 * max(1.0, width_mult))
        features: list[nn.Module] = [ConvBNReLU6(3, in_ch, kernel_size=3, stride=2)]
        for t, c, n, s in SETTINGS:
            out_ch = make_divisible(c * width_mult)
            for i in range(n):
                features.append(InvertedResidual(in_ch, out_ch, s if i == 0 else 1, t))
                in_ch = out_ch
        features.append(ConvBNReLU6(in_ch, self.last_channel, kernel_size=1))
        self.features = nn.Sequential(*features)
        self.pool = nn.AdaptiveAvgPool2d((1, 1))
        self.classifier = nn.Linear(self.last_channel, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        x = torch.flatten(self.pool(x), 1)
        return self.classifier(x)


def build_model() -> nn.Module:
    """MobileNetV2 at width multiplier 0.5 with a 10-class head."""
    return MobileNetV2()
