"""ConvMixer (Trockman & Kolter, "Patches Are All You Need?", 2022), dim 128, depth 6.

What it illustrates
-------------------
An isotropic CNN that separates the two kinds of mixing cleanly. A patch-embedding conv
(kernel = stride = patch size 4) cuts a 64×64 image into a 16×16 grid of patches; then each of
the ``depth`` layers does

* **spatial mixing**: a residual depthwise 7×7 conv with "same" padding + GELU + BN, and
* **channel mixing**: a pointwise 1×1 conv + GELU + BN,

at constant resolution and width, followed by adaptive average pooling and a linear head.

What convscope should show on it
--------------------------------
* The spatial-vs-channel mixing profile ("Rethinking the Role of
  Spatial Mixing"): the depthwise convs carry only ~28% of the layer parameters and the
  pointwise convs the rest, while MACs and memory traffic split differently.
* Receptive-field growth without any downsampling after the stem: each depthwise 7×7 adds
  6 × 4 = 24 input pixels (RF 4 → 28 → 52 → 76 → … → 148), so from the fourth layer on the
  largest RF is larger than the 64-pixel input. The identity shortcut around each depthwise
  conv keeps the shortest-path RF local, so RF003 unproductive-layer (which judges the
  shortest path by default) stays quiet; with ``rf_path: longest`` it reports 3 layers.
* The residual branches are aligned (same stride and centre offset) — no RF004.
* A non-ReLU activation (GELU) between a conv and its BatchNorm: a BN after an activation
  cannot be folded, which the hardware targets report (QF003 unfoldable-batchnorm).

What ``convscope lint`` reports (tests/test_examples.py checks these lines)
---------------------------------------------------------------------------
* on ``generic`` (the default): nothing.
* on ``--target edge-int8``: QF003 ×13, QF004 ×3.
* on ``--target gpu-fp16``: QF003 ×13.
"""

from __future__ import annotations

import torch
from torch import nn

INPUT_SHAPE: tuple[int, int, int, int] = (1, 3, 64, 64)

DIM: int = 128
DEPTH: int = 6
KERNEL_SIZE: int = 7
PATCH_SIZE: int = 4
NUM_CLASSES: int = 10


class Residual(nn.Module):
    """``fn(x) + x``."""

    def __init__(self, fn: nn.Module) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(x) + x


class ConvMixerLayer(nn.Sequential):
    """Residual depthwise (spatial) mixing followed by pointwise (channel) mixing."""

    def __init__(self, dim: int, kernel_size: int) -> None:
        super().__init__(
            Residual(
                nn.Sequential(
                    nn.Conv2d(dim, dim, kernel_size, groups=dim, padding="same"),
                    nn.GELU(),
                    nn.BatchNorm2d(dim),
                )
            ),
            nn.Conv2d(dim, dim, kernel_size=1),
            nn.GELU(),
            nn.BatchNorm2d(dim),
        )


class ConvMixer(nn.Module):
    """Patch embedding, ``depth`` ConvMixer layers, global pool, linear head."""

    def __init__(
        self,
        dim: int = DIM,
        depth: int = DEPTH,
        kernel_size: int = KERNEL_SIZE,
        patch_size: int = PATCH_SIZE,
        num_classes: int = NUM_CLASSES,
    ) -> None:
        super().__init__()
        self.patch_embed = nn.Sequential(
            nn.Conv2d(3, dim, kernel_size=patch_size, stride=patch_size),
            nn.GELU(),
            nn.BatchNorm2d(dim),
        )
        self.blocks = nn.Sequential(*[ConvMixerLayer(dim, kernel_size) for _ in range(depth)])
        self.pool = nn.AdaptiveAvgPool2d((1, 1))
        self.head = nn.Linear(dim, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.blocks(self.patch_embed(x))
        x = torch.flatten(self.pool(x), 1)
        return self.head(x)


def build_model() -> nn.Module:
    """ConvMixer-128/6, kernel 7, patch 4, 10 classes."""
    return ConvMixer()
