"""Pure integer formulas: output sizes, parameter counts, MACs, bytes.

Conventions (DESIGN.md §3):

* **MAC** = one multiply-accumulate. Convolution, linear layers, matmuls and attention are
  counted in MACs; ``flops = 2 × macs`` for them. Bias additions are *not* counted in
  MACs (torchvision's ``_ops`` and torch's ``FlopCounterMode`` leave them out too).
* Norms, pooling, activations and elementwise arithmetic are "other ops", counted in
  FLOPs per output element and never mixed into MACs.
* BatchNorm in inference is a per-channel scale and shift: 2 FLOPs per element, and it
  folds into a preceding conv for free.

No function here imports torch.
"""

from __future__ import annotations

from collections.abc import Sequence


def prod(values: Sequence[int]) -> int:
    out = 1
    for v in values:
        out *= v
    return out


def conv_output_size(
    size: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1
) -> int:
    """``O = ⌊(I + 2P − D·(K − 1) − 1) / S⌋ + 1`` (with D = 1: ``⌊(I − K + 2P)/S⌋ + 1``)."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def conv_transpose_output_size(
    size: int,
    kernel: int,
    stride: int = 1,
    padding: int = 0,
    dilation: int = 1,
    output_padding: int = 0,
) -> int:
    """``O = (I − 1)·S − 2P + D·(K − 1) + output_padding + 1``."""
    return (size - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1


def pool_output_size(
    size: int,
    kernel: int,
    stride: int,
    padding: int = 0,
    dilation: int = 1,
    ceil_mode: bool = False,
) -> int:
    """Pooling output size; with ``ceil_mode`` the last window may start in the padding
    but never past it (PyTorch's rule)."""
    span = size + 2 * padding - dilation * (kernel - 1) - 1
    if not ceil_mode:
        return span // stride + 1
    out = -(-span // stride) + 1
    if (out - 1) * stride >= size + padding:
        out -= 1
    return out


def conv_params(
    in_channels: int, out_channels: int, kernel: Sequence[int], groups: int = 1, bias: bool = True
) -> int:
    """Weights ``C_out · (C_in / groups) · ∏K`` plus ``C_out`` biases.

    Example: Conv2d(64 → 128, 3×3) with bias has 128·(64·9 + 1) = 73,856 parameters.
    """
    return out_channels * (in_channels // groups) * prod(kernel) + (out_channels if bias else 0)


def conv_macs(
    batch: int,
    in_channels: int,
    out_channels: int,
    kernel: Sequence[int],
    out_spatial: Sequence[int],
    groups: int = 1,
) -> int:
    """MACs of a forward convolution: every output element takes ``(C_in/groups)·∏K`` MACs."""
    return batch * out_channels * prod(out_spatial) * (in_channels // groups) * prod(kernel)


def conv_transpose_macs(
    batch: int,
    in_channels: int,
    out_channels: int,
    kernel: Sequence[int],
    in_spatial: Sequence[int],
    groups: int = 1,
) -> int:
    """MACs of a transposed convolution.

    Every *input* element is scattered through a ``(C_out/groups)·∏K`` kernel, so the count
    scales with the input, not the (stride^d times larger) output. Counting it like a
    forward conv over the output is the classic "4× too high" bug for stride 2 in 2-d.
    """
    return batch * in_channels * prod(in_spatial) * (out_channels // groups) * prod(kernel)


def separable_params(
    in_channels: int,
    out_channels: int,
    kernel: Sequence[int],
    multiplier: int = 1,
    bias: bool = False,
) -> int:
    """Depthwise (``m`` filters per input channel) + pointwise weights, without biases by default.

    ``k²·C_in + C_in·C_out`` for m = 1: 3×3, 256 → 256 gives 2,304 + 65,536 = 67,840
    against 589,824 for the dense conv.
    """
    mid = in_channels * multiplier
    extra = (mid + out_channels) if bias else 0
    return mid * prod(kernel) + mid * out_channels + extra


def matmul_macs(batch: int, m: int, k: int, n: int) -> int:
    """``[batch, m, k] @ [batch, k, n]``: ``batch·m·k·n`` MACs."""
    return batch * m * k * n


def attention_macs(
    batch: int, heads: int, q_len: int, kv_len: int, head_dim: int, v_head_dim: int
) -> int:
    """Scaled-dot-product attention: ``Q·Kᵀ`` plus ``softmax(·)·V``.

    The softmax and scaling are other ops. This matches the two batched matmuls that the
    unfused math path would run.
    """
    return batch * heads * q_len * kv_len * (head_dim + v_head_dim)


def attention_other_flops(batch: int, heads: int, q_len: int, kv_len: int) -> int:
    """Scale + softmax (max, subtract, exp, sum, divide) over the score matrix: ~5 FLOPs/score."""
    return 5 * batch * heads * q_len * kv_len


def pool_flops(out_elements: int, window: int) -> int:
    """One comparison or addition per window element and output."""
    return out_elements * window


def rf_step(
    rf: int, stride_product: int, kernel: int, stride: int, dilation: int = 1
) -> tuple[int, int]:
    """One receptive-field recurrence step (Araujo et al., 2019).

    ``r_out = r_in + (D·(K − 1))·S_in`` and ``S_out = S_in · s``, where ``S_in`` is the
    product of all earlier strides. Returns ``(r_out, S_out)``.
    """
    return rf + dilation * (kernel - 1) * stride_product, stride_product * stride


def intensity(flops: int, nbytes: int) -> float:
    """Arithmetic intensity in FLOPs per byte (``inf`` is never returned: 0 bytes → 0.0)."""
    return flops / nbytes if nbytes else 0.0
