"""Per-axis steps of each op kind against hand counts (pure integers, no graph)."""

from __future__ import annotations

import pytest

from convscope.passes.receptive import steps
from convscope.passes.receptive.steps import Step


def test_window_is_dilated_kernel_stride_and_negative_padding() -> None:
    assert steps.window(3, 2, 1, 1) == Step(2.0, 2.0, -1.0, 0.0, None, 1)
    # k_eff = 2·(3 − 1) + 1 = 5: reads 5 positions spaced by 2
    assert steps.window(3, 1, 2, 2) == Step(4.0, 1.0, -2.0, 0.0, None, 2)


def test_pad_crop_offset_and_whole_axis() -> None:
    assert steps.pad(3) == Step(0.0, 1.0, -3.0)
    assert steps.offset(4) == Step(0.0, 1.0, 4.0)
    assert steps.crop(10, 5) == Step(0.0, 2.0, 0.0)  # ⌈10/2⌉ = 5: read as x[..., ::2]
    assert steps.crop(10, 6) == Step(0.0, 1.0, 2.0)  # centre crop: (10 − 6) // 2
    assert steps.whole_axis(7) == Step(6.0, 7.0, 0.0)
    assert steps.scan(6) == Step(10.0, 1.0, -5.0)  # [j − 5, j + 5]


def test_transposed_k4_s2_p1_reads_two_inputs_per_output() -> None:
    # output j reads i = (j + 1 − t)/2 for the taps t = 0..3 where that is an integer
    st = steps.transposed(4, 2, 1, 1, n_out=8)
    assert st.intervals == ((-1, 0), (0, 1), (0, 1), (1, 2), (1, 2), (2, 3), (2, 3), (3, 4))
    assert (st.m, st.q, st.lo0, st.jitter, st.spacing) == (1.0, 0.5, -0.75, 0.25, 1)


def test_transposed_dilation_above_stride_interleaves_taps() -> None:
    # d = 3, s = 2: consecutive taps that land on an input are 3 inputs apart
    assert steps.transposed(3, 2, 0, 3, n_out=6).spacing == 3


def test_adaptive_pooling_windows() -> None:
    # 7 → 3: [⌊7j/3⌋, ⌈7(j+1)/3⌉ − 1] = [0, 2], [2, 4], [4, 6]; fractional stride 7/3
    st = steps.adaptive(7, 3)
    assert st.intervals == ((0, 2), (2, 4), (4, 6))
    assert st.m == 2.0 and st.q == pytest.approx(7 / 3)
    assert st.lo0 == pytest.approx(-1 / 3) and st.jitter == pytest.approx(1 / 3)
    exact = steps.adaptive(8, 4)  # divides: kernel = stride = 2, no tolerance
    assert (exact.m, exact.q, exact.lo0, exact.jitter) == (1.0, 2.0, 0.0, 0.0)
    assert steps.adaptive(5, 5) == steps.IDENTITY


def test_resampling_a_single_pixel_is_a_broadcast() -> None:
    for st in (steps.adaptive(1, 4), steps.resample("bilinear", 1, 4, False, False)):
        assert st.q == 0.0 and st.intervals == ((0, 0),) * 4


def test_nearest_upsample_by_two() -> None:
    st = steps.resample("nearest", 4, 8, False, False)
    assert st.intervals == ((0, 0), (0, 0), (1, 1), (1, 1), (2, 2), (2, 2), (3, 3), (3, 3))
    assert (st.m, st.q) == (0.0, 0.5)
    assert steps.resample("nearest", 6, 6, False, False) == steps.IDENTITY


def test_pixel_shuffle_and_unshuffle() -> None:
    st = steps.pixel_shuffle(2, 6)
    assert st.intervals == ((0, 0), (0, 0), (1, 1), (1, 1), (2, 2), (2, 2))
    assert (st.m, st.q, st.lo0, st.jitter) == (0.0, 0.5, -0.25, 0.25)
    assert steps.pixel_unshuffle(3) == Step(2.0, 3.0, 0.0, 0.0)
