"""Small CNN with a flatten + Linear(32·16·16 → 512) head, run at batch 1 on a GPU (fp16).

The fully connected layer reads 4.2M weights to do 8.4M FLOPs: it is memory-bound and
dominates the predicted latency, although it holds a modest share of the MACs.
"""

import torch
from torch import nn

INPUT_SHAPE = (1, 3, 32, 32)


class FatHeadNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 32, 3, 1, 1, bias=False),
            nn.BatchNorm2d(32),
            nn.ReLU(),
            nn.Conv2d(32, 32, 3, 2, 1, bias=False),
            nn.BatchNorm2d(32),
            nn.ReLU(),
        )
        self.fc = nn.Linear(32 * 16 * 16, 512)  # the mistake
        self.out = nn.Linear(512, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.fc(self.features(x).flatten(1)).relu())
