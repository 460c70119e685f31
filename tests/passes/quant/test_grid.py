"""The integer grid: lower medians that are real channels, starved shares."""

from __future__ import annotations

import math

import pytest
import torch

from convscope.passes.quant import numeric as qn
from convscope.passes.quant.grid import below, lower_median, per_tensor_bits


def test_lower_median_is_a_real_channel() -> None:
    assert lower_median([4.0, 1.0, 3.0, 2.0]) == 2.0  # not 2.5
    assert lower_median([5.0]) == 5.0
    assert qn.median(torch.tensor([0.0, 0.0, 9.0, 9.0])) == 0.0
    assert qn.spread(torch.tensor([0.0, 0.0, 9.0, 9.0])) == math.inf


def test_starved_shares_count_real_channels() -> None:
    """Half the channels 500× smaller: 50% starved, 50% at 0 bits; the input-channel bits
    under per-output-channel scales see columns that no output scale can rescue."""
    w = torch.ones(8, 4, 1, 1)
    w[:4] /= 500.0
    bits = per_tensor_bits(qn.channel_ranges(w).tolist())
    assert below(bits, 4.0) == (0, 1, 2, 3)
    assert bits[4:] == pytest.approx((math.log2(255),) * 4)
    cols = torch.ones(8, 4, 1, 1)
    cols[:, 1] /= 500.0
    in_bits = qn.input_channel_bits(cols, groups=1)
    assert in_bits == pytest.approx((math.log2(255), 0.0, math.log2(255), math.log2(255)))
    # Grouped: input channel i = g · (C_in / groups) + j is read by its group's outputs only.
    grouped = torch.ones(4, 2, 1, 1)
    grouped[2:, 0] /= 500.0  # group 1, position 0 → input channel 2
    assert below(qn.input_channel_bits(grouped, groups=2), 4.0) == (2,)
