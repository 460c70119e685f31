"""The shapes a kernel calibration times: a sampler per family, the CNN stage prior."""

from __future__ import annotations

import statistics
from itertools import islice

import numpy as np
import torch

from convscope.profiling.kernel_shapes import _RESOLUTIONS, PLAN, Ctx, _stage, draws
from convscope.targets.kernel_families import FAMILIES


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


def _columns(family: str, count: int) -> list[dict[str, int]]:
    ctx = Ctx(torch.device("cpu"), torch.float32, 1.0)
    names = FAMILIES[family].columns
    return [dict(zip(names, cols, strict=True)) for cols, _ in islice(draws(family, ctx, 0), count)]


def test_dense_convs_include_patchify_convs_and_grouped_convs_wide_groups() -> None:
    dense = _columns("conv.dense", 200)
    # kernel = stride > 2 (patch embeddings; kk = stride²), with no padding: hw_out · k² = hw_in.
    patch = [c for c in dense if c["stride"] > 2 and c["kk"] == c["stride"] ** 2]
    assert patch and all(c["hwout"] * c["kk"] <= c["hwin"] for c in patch)
    grouped = _columns("conv.grouped", 200)
    assert all(1 < c["groups"] < c["cin"] <= 8192 for c in grouped)
    assert max(c["cin"] // c["groups"] for c in grouped) >= 256


def test_batch_statistics_draws_include_standardized_weights() -> None:
    got = _columns("norm.batch_stats", 100)
    # A conv weight [1, cout, cin·k²] (k² = 9 makes the last column a multiple of 9 often).
    assert any(c["n"] == 1 and c["hw"] % 9 == 0 and c["hw"] > 9 for c in got)
    assert any(c["n"] > 1 for c in got)


def test_grouped_and_depthwise_draws_cover_the_slow_and_odd_cases() -> None:
    grouped = _columns("conv.grouped", 300)
    # Group counts that are not powers of two (RegNet: 3, 7, 17...) leave channel counts
    # the vector units do not divide; grouped 1×1 convs too.
    assert any(c["groups"] & (c["groups"] - 1) for c in grouped)
    assert any(c["cin"] % 16 for c in grouped)
    assert {1, 9} <= {c["kk"] for c in grouped}
    depthwise = _columns("conv.depthwise", 300)
    pointwise = [c for c in depthwise if c["kk"] == 1]
    # Depthwise 1×1 (re-parameterizable blocks' scale branch) runs a slow path: drawn, and
    # capped in width and work (MAX_MACS / 100) so that one sample stays short.
    assert pointwise and all(c["cin"] <= 1024 for c in pointwise)
    assert all(c["n"] * c["cout"] * c["hwout"] <= 3e6 for c in pointwise)
    # Some inputs are channels-last (PyTorch runs another kernel for them).
    assert {0, 1} == {c["cl"] for c in depthwise} == {c["cl"] for c in grouped}
