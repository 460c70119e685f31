"""Pure integer formulas: output sizes, parameter counts, MACs, bytes.

Conventions:

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

import math
from collections.abc import Sequence
from fractions import Fraction


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


def _in_bounds_taps(n_in: int, n_out: int, kernel: int, stride: int, pad: int, dil: int) -> int:
    """Pairs (input i, tap t) whose scatter target ``i·s − p + t·d`` lies in ``[0, n_out)``."""
    count = 0
    for t in range(kernel):
        shift = t * dil - pad
        # i·s + shift in [0, n_out)  ⇔  i in [ceil(−shift/s), ceil((n_out − shift)/s))
        lo = max(0, -(shift // stride))
        hi = min(n_in, -((shift - n_out) // stride))
        count += max(0, hi - lo)
    return count


def conv_transpose_useful_macs(
    batch: int,
    in_channels: int,
    out_channels: int,
    kernel: Sequence[int],
    in_spatial: Sequence[int],
    out_spatial: Sequence[int],
    stride: Sequence[int],
    padding: Sequence[int],
    dilation: Sequence[int],
    groups: int = 1,
) -> int:
    """MACs of a transposed convolution whose scatter target survives the ``padding`` crop.

    :func:`conv_transpose_macs` counts every tap (the convention of fvcore and
    ``FlopCounterMode``); with ``padding > 0`` the taps landing in the cropped border are
    computed and thrown away. Equal to it when nothing is cropped.
    """
    per_axis = [
        _in_bounds_taps(i, o, k, s, p, d)
        for i, o, k, s, p, d in zip(
            in_spatial, out_spatial, kernel, stride, padding, dilation, strict=True
        )
    ]
    return batch * in_channels * (out_channels // groups) * prod(per_axis)


def fold_scatter_adds(
    channels: int,
    kernel: Sequence[int],
    output_size: Sequence[int],
    stride: Sequence[int],
    padding: Sequence[int],
    dilation: Sequence[int],
) -> int:
    """Additions of ``col2im`` (``nn.Fold``) per batch item: one per block tap that lands
    inside ``output_size`` (taps in the padding are dropped, not added).

    The blocks per axis are ``conv_output_size(out, k, s, p, d)``, as for the ``Unfold``
    that would produce them.
    """
    per_axis = []
    for o, k, s, p, d in zip(output_size, kernel, stride, padding, dilation, strict=True):
        blocks = conv_output_size(o, k, s, p, d)
        per_axis.append(_in_bounds_taps(blocks, o, k, s, p, d))
    return channels * prod(per_axis)


def antialias_taps(n_in: int, n_out: int, interp_size: int) -> int:
    """Filter taps summed over the ``n_out`` outputs of one antialiased resampling axis.

    PyTorch's rule (``align_corners=False``): scale ``σ = n_in/n_out``, support
    ``interp/2 · max(σ, 1)``; output j reads inputs ``[⌊c − sup + ½⌋, ⌊c + sup + ½⌋)``
    around ``c = σ(j + ½)``, clipped to the input. Bilinear: interp 2, bicubic: 4.
    """
    scale = Fraction(n_in, n_out)
    support = Fraction(interp_size, 2) * max(scale, Fraction(1))
    total = 0
    for j in range(n_out):
        centre = scale * (2 * j + 1) / 2
        lo = max(math.floor(centre - support + Fraction(1, 2)), 0)
        hi = min(math.floor(centre + support + Fraction(1, 2)), n_in)
        total += max(0, hi - lo)
    return total


def antialias_flops(
    lead: int, in_spatial: Sequence[int], out_spatial: Sequence[int], interp_size: int
) -> int:
    """Antialiased interpolation: separable passes, last axis first, skipping axes whose
    size is unchanged; 2 FLOPs (multiply, add) per filter tap."""
    cur = list(in_spatial)
    flops = 0
    for a in reversed(range(len(cur))):
        if in_spatial[a] == out_spatial[a]:
            continue
        others = prod(cur[:a] + cur[a + 1 :])
        flops += 2 * lead * others * antialias_taps(in_spatial[a], out_spatial[a], interp_size)
        cur[a] = out_spatial[a]
    return flops


#: FLOPs of one IoU: 4 min/max, 2 clamped widths (2 each), 1 product, union (2), divide, compare.
IOU_FLOPS = 13


def nms_flops(boxes: int, kept: int) -> int:
    """Greedy NMS over ``boxes`` boxes of which ``kept`` survive: areas (3 per box), the score
    sort (``N·⌈log₂N⌉`` comparisons), and one IoU of every kept box against every box ranked
    after it. Which ranks survive is data-dependent; the count takes the kept boxes as the
    best-ranked ones, the most pairs these sizes allow: ``K(N − 1) − K(K − 1)/2``."""
    if boxes <= 0:
        return 0
    sort = boxes * max(1, math.ceil(math.log2(boxes))) if boxes > 1 else 0
    pairs = kept * (boxes - 1) - kept * (kept - 1) // 2
    return 3 * boxes + sort + IOU_FLOPS * pairs


def roi_align_flops(channels: int, bins: int, samples: int, rois: int) -> int:
    """``roi_align``: each bilinear sample is 4 taps (multiply + add: 8 FLOPs) per channel,
    plus one division per output element for the average. ``samples`` is summed over the
    regions (per bin), ``bins = ph·pw``."""
    return channels * bins * (8 * samples + rois)


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


def intensity(flops: int, nbytes: int) -> float:
    """Arithmetic intensity in FLOPs per byte (``inf`` is never returned: 0 bytes → 0.0)."""
    return flops / nbytes if nbytes else 0.0
