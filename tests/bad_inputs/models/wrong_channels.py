"""Two layers that do not fit together (8 channels into a conv expecting 16)."""

from torch import nn

model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Conv2d(16, 4, 3))
INPUT_SHAPE = (1, 3, 16, 16)
