"""2,000 nested containers around one conv."""

from torch import nn


def build_model() -> nn.Module:
    model: nn.Module = nn.Conv2d(3, 4, 3)
    for _ in range(2000):
        model = nn.Sequential(model)
    return model


INPUT_SHAPE = (1, 3, 16, 16)
