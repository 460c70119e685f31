"""Speech model whose front end is a stack of 1×1 Conv1d layers over 80-bin mel frames.

Four pointwise layers run on all 400 frames before the first temporal conv: each output
frame sees one input frame, i.e. a per-frame MLP where a 3-tap (or 5-tap) conv is expected.
"""

import torch
from torch import nn

INPUT_SHAPE = (1, 80, 400)


def conv_bn(cin: int, cout: int, k: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv1d(cin, cout, k, stride, k // 2, bias=False), nn.BatchNorm1d(cout), nn.ReLU()
    )


class FramewiseFrontEnd(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.frontend = nn.Sequential(
            conv_bn(80, 128, 1), conv_bn(128, 128, 1), conv_bn(128, 128, 1), conv_bn(128, 128, 1)
        )
        self.encoder = nn.Sequential(*[conv_bn(128, 128, 11, 2) for _ in range(6)])
        self.classifier = nn.Linear(128, 35)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.encoder(self.frontend(x)).mean(-1))
