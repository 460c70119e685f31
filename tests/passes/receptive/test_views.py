"""Views followed through the layout: channels-last permutes, channel slices, equal-sized dims."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from convscope.analysis.rf import receptive_field

Check = Callable[..., None]  # the conftest fixture


class ChannelsLast(nn.Module):
    """ConvNeXt-style: depthwise conv, permute, LayerNorm + Linear per position, permute back."""

    def __init__(self) -> None:
        super().__init__()
        self.dw = nn.Conv2d(8, 8, 7, padding=3, groups=8)
        self.norm = nn.LayerNorm(8)
        self.pw = nn.Linear(8, 16)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.dw(x).permute(0, 2, 3, 1)
        y = self.pw(self.norm(y))
        return y.permute(0, 3, 1, 2)


def test_channels_last_linear_is_per_position(check: Check) -> None:
    rf = receptive_field(ChannelsLast(), (1, 8, 14, 10))
    assert rf.output is not None and not rf.output.is_global
    check(rf.output, (7, 7), (1, 1), (3, 3))
    assert rf.layer_dims["pw"] == (1, 2)  # [N, H, W, C]
    assert rf.layer_dims[""] == (2, 3)


class ChannelSlice(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = x.chunk(2, dim=1)
        return torch.cat([F.avg_pool2d(a, 3, 1, 1), b[:, :1]], 1)


def test_channel_views_pass_through(check: Check) -> None:
    rf = receptive_field(ChannelSlice(), (1, 4, 8, 8))
    assert rf.output is not None
    check(rf.output, (3, 3), (1, 1), (1, 1), min_size=(1, 1))
    assert rf.misalignments == ()


class _SquareChannelsLast(nn.Module):
    """C == H == W: a permute's shape alone cannot say which dim went where."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.fc = nn.Linear(8, 8)
        self.out = nn.Conv2d(8, 8, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.fc(self.conv(x).permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        return self.out(y)


def test_permute_of_equal_sized_dims_follows_the_strides(check: Check) -> None:
    rf = receptive_field(_SquareChannelsLast(), (1, 3, 8, 8))
    fc = rf.per_layer["fc"]
    assert not fc.is_global  # the linear mixes channels only, per pixel
    check(fc, (3, 3), (1, 1), (1, 1))
    check(rf.per_layer["out"], (5, 5), (1, 1), (2, 2))
