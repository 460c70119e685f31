"""A decoder that resizes a border-cropped deep map back to the skip's size.

The deep path uses unpadded 3×3 convs, so its 8×8 map shrinks to 4×4 and covers only the
centre of the image; the decoder then stretches it to the skip's 16×16 with
``F.interpolate(size=...)`` and adds it. The stretched map's effective stride differs from
the skip's, and its border features land more than a whole coarse pixel from the image
locations the skip's features describe.
"""

import torch
import torch.nn.functional as F
from torch import nn

INPUT_SHAPE = (1, 3, 64, 64)


def conv_bn(cin: int, cout: int, k: int, stride: int = 1, padding: int | None = None):
    pad = k // 2 if padding is None else padding
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, stride, pad, bias=False), nn.BatchNorm2d(cout), nn.ReLU()
    )


class CroppedDecoderNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.enc = nn.Sequential(conv_bn(3, 32, 3, 2), conv_bn(32, 32, 3), conv_bn(32, 64, 3, 2))
        self.down = conv_bn(64, 64, 3, 2)
        self.deep = nn.Sequential(conv_bn(64, 64, 3, padding=0), conv_bn(64, 64, 3, padding=0))
        self.lateral = nn.Conv2d(64, 64, 1)
        self.head = nn.Sequential(conv_bn(64, 64, 3), nn.Conv2d(64, 5, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skip = self.enc(x)
        deep = self.deep(self.down(skip))
        up = F.interpolate(deep, size=skip.shape[-2:], mode="bilinear", align_corners=False)
        return self.head(self.lateral(skip) + up)
