"""Keyword spotter on one second of raw 16 kHz audio whose receptive field is 13 ms.

A stride-4 80-tap conv, two stride-2 9-tap convs and a 3-tap conv see 208 samples of the
16000-sample clip; global average pooling then votes over 13 ms windows, too short for a word.
"""

import torch
from torch import nn

INPUT_SHAPE = (1, 1, 16000)


class RawAudioKws(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv1d(1, 32, 80, stride=4, padding=38, bias=False),
            nn.BatchNorm1d(32),
            nn.ReLU(),
            nn.Conv1d(32, 64, 9, stride=2, padding=4, bias=False),
            nn.BatchNorm1d(64),
            nn.ReLU(),
            nn.Conv1d(64, 64, 9, stride=2, padding=4, bias=False),
            nn.BatchNorm1d(64),
            nn.ReLU(),
            nn.Conv1d(64, 128, 3, padding=1, bias=False),
            nn.BatchNorm1d(128),
            nn.ReLU(),
        )
        self.fc = nn.Linear(128, 12)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x).mean(-1))
