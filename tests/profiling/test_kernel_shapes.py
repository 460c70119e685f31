"""The shapes a kernel calibration times: a sampler per family, the CNN stage prior."""

from __future__ import annotations

import statistics

import numpy as np

from convscope.profiling.kernel_shapes import _RESOLUTIONS, PLAN, _stage
from convscope.targets.kernels import FAMILIES


def test_every_family_has_a_sampler() -> None:
    assert set(PLAN) == set(FAMILIES)


def test_the_stage_prior_pairs_large_maps_with_few_channels() -> None:
    rng = np.random.default_rng(0)
    draws = [_stage(rng) for _ in range(2_000)]
    for side, channels in draws:
        # Some stage s of some input resolution: side = ⌈res / 2^s⌉, and channels in
        # [4·2^s, 128·2^s] (at most 2560) for that stage.
        assert any(
            side == -(-res // 2**s) and 4 * 2**s <= channels <= min(128 * 2**s, 2560)
            for res in _RESOLUTIONS
            for s in range(1, 6)
        ), (side, channels)
    early = [c for side, c in draws if side >= 112]
    late = [c for side, c in draws if side <= 16]
    assert max(early) <= 512 and min(late) >= 64
    assert statistics.median(early) * 8 < statistics.median(late)
