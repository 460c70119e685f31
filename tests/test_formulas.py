"""Hand-computed values: worked examples of the textbook formulas (output size, parameter
counts, separable savings) checked against the cost formulas."""

from __future__ import annotations

import pytest

from convscope import formulas as fm


def test_conv_params_article_example() -> None:
    # Article 002: Conv2d(64 → 128, 3×3) with bias: 128 · (64·9 + 1) = 73,856.
    assert fm.conv_params(64, 128, (3, 3)) == 73_856


def test_separable_vs_dense_article_example() -> None:
    # Article 001: 3×3, 256 → 256: dense 589,824 weights, separable 3²·256 + 256·256 = 67,840.
    assert fm.conv_params(256, 256, (3, 3), bias=False) == 589_824
    assert fm.separable_params(256, 256, (3, 3)) == 67_840
    # MobileNets' cost ratio 1/C_out + 1/k².
    ratio = fm.separable_params(256, 256, (3, 3)) / fm.conv_params(256, 256, (3, 3), bias=False)
    assert ratio == pytest.approx(1 / 256 + 1 / 9)


@pytest.mark.parametrize(
    ("size", "kernel", "stride", "padding", "dilation", "expected"),
    [
        (7, 3, 2, 0, 1, 3),  # article 002's worked example: ⌊(7 − 3 + 0)/2⌋ + 1 = 3
        (224, 7, 2, 3, 1, 112),  # ResNet stem
        (56, 3, 1, 1, 1, 56),  # "same" 3×3
        (32, 3, 1, 2, 2, 32),  # dilated "same"
        (5, 5, 1, 0, 1, 1),
    ],
)
def test_conv_output_size(
    size: int, kernel: int, stride: int, padding: int, dilation: int, expected: int
) -> None:
    assert fm.conv_output_size(size, kernel, stride, padding, dilation) == expected


def test_pool_output_size_and_ceil_mode() -> None:
    # Article 002: 2×2 max-pool stride 2 on 4×4 → 2×2.
    assert fm.pool_output_size(4, 2, 2) == 2
    # ceil_mode: 112 → 56 with 3×3/2 pad 0 (GoogLeNet): ⌈(112 − 3)/2⌉ + 1 = 56.
    assert fm.pool_output_size(112, 3, 2, ceil_mode=True) == 56
    assert fm.pool_output_size(112, 3, 2, ceil_mode=False) == 55
    # The last window may not start in the right padding.
    assert fm.pool_output_size(5, 2, 2, padding=1, ceil_mode=True) == 3


def test_conv_transpose_output_size() -> None:
    assert fm.conv_transpose_output_size(16, 2, 2) == 32
    assert fm.conv_transpose_output_size(16, 3, 2, padding=1, output_padding=1) == 32


def test_conv_macs_and_groups() -> None:
    # 1×64×56×56 → 64 channels, 3×3: 64·56·56·64·9 MACs.
    assert fm.conv_macs(1, 64, 64, (3, 3), (56, 56)) == 64 * 56 * 56 * 64 * 9
    # Depthwise: one input channel per output channel.
    assert fm.conv_macs(1, 32, 32, (3, 3), (10, 10), groups=32) == 32 * 100 * 9


def test_conv_transpose_macs_scale_with_input_not_output() -> None:
    # 8 → 4 channels, 2×2 kernel, stride 2, 4×4 input → 8×8 output.
    # Each of the 8·16 input values is scattered through 4·4 weights.
    assert fm.conv_transpose_macs(1, 8, 4, (2, 2), (4, 4)) == 8 * 16 * 4 * 4
    # Counting it as a forward conv over the 8×8 output would be 4× too high.
    assert fm.conv_macs(1, 8, 4, (2, 2), (8, 8)) == 4 * fm.conv_transpose_macs(
        1, 8, 4, (2, 2), (4, 4)
    )


def test_matmul_and_attention_macs() -> None:
    assert fm.matmul_macs(2, 3, 4, 5) == 120
    # Q·Kᵀ (B·H·L·S·E) plus A·V (B·H·L·S·Ev).
    assert fm.attention_macs(1, 12, 197, 197, 64, 64) == 12 * 197 * 197 * 128


def test_intensity_zero_bytes() -> None:
    assert fm.intensity(10, 0) == 0.0
    assert fm.intensity(10, 5) == 2.0
