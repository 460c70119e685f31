"""INPUT_SHAPE with a zero dimension."""

from torch import nn

model = nn.Conv2d(3, 4, 3)
INPUT_SHAPE = (1, 3, 0, 16)
