"""The positive copy: weights ``1/fan_in``, identity norms and nonlinearities, max pooling
as a mean over the same windows; the user's model untouched."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from convscope.checks.positive import PositiveMode, positive_copy


def test_positive_copy_by_hand() -> None:
    model = nn.Sequential(
        nn.Conv2d(3, 4, 3),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True),
        nn.GroupNorm(2, 4),
    )
    before = {k: v.clone() for k, v in model.state_dict().items()}
    net = positive_copy(model)
    conv: nn.Conv2d = net[0]  # type: ignore[assignment]
    assert torch.all(conv.weight == 1 / 27)  # fan-in 3 channels × 3 × 3
    assert conv.bias is not None and torch.all(conv.bias == 0)
    x = torch.rand(1, 4, 7, 7) + 0.5
    torch.testing.assert_close(net[1](x), x)  # BatchNorm: the identity
    assert isinstance(net[2], nn.Identity) and isinstance(net[4], nn.Identity)
    pooled = net[3](torch.ones(1, 4, 7, 7))
    assert pooled.shape == model[3](x).shape == (1, 4, 4, 4)
    # the top-left window holds 2 × 2 pixels of 9 (the rest is padding): mean 4/9
    torch.testing.assert_close(pooled[0, 0, 0, 0], torch.tensor(4 / 9))
    torch.testing.assert_close(pooled[0, 0, 1, 1], torch.tensor(1.0))
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert isinstance(model[2], nn.ReLU)


def test_positive_mode_replaces_functional_ops() -> None:
    x = torch.tensor([[[[-1.0, 2.0], [3.0, -4.0]]]])
    mode = PositiveMode()
    with mode:
        relu = F.relu(x)
        pooled = F.max_pool2d(x, 2)
    torch.testing.assert_close(relu, x)
    torch.testing.assert_close(pooled, torch.tensor([[[[0.0]]]]))  # the mean, not the max
    assert mode.replaced == {"relu", "max_pool2d"}
