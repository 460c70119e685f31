"""INPUT_SHAPE given as a string instead of a tuple."""

from torch import nn

model = nn.Conv2d(3, 4, 3)
INPUT_SHAPE = "1,3,16,16"
