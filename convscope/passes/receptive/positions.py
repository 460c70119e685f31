"""Exact input intervals per output position along one axis, and how an op composes them.

Beside the affine fit (size, stride, padding) the pass carries the exact input interval of
every output position: each op maps output j to layer-input positions ``[l_j, h_j]`` and,
intervals being monotone, the composite is ``[lo(l_j), hi(h_j)]`` of the layer input's
intervals. Positions in a later op's padding continue the stride pattern (one period of
``1/S`` positions further is one input pixel further) and are marked as reading padding.
Merges take the elementwise hull.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from fractions import Fraction

__all__ = [
    "MAX_PERIOD",
    "MAX_SAMPLES",
    "TOL",
    "AxisPositions",
    "compose",
    "hull",
    "identity",
    "period",
]

TOL = 1e-9
MAX_SAMPLES = 4096  # output positions enumerated to fit a resampling op
MAX_PERIOD = 64  # longest stride pattern (output positions) reported per phase

# One axis of a tensor: the exact input interval of each output position (los, his), and
# whether some path of that position reads padding (then the interval, continued into the
# padding by the stride pattern, bounds the true support instead of equalling it).
AxisPositions = tuple[tuple[float, ...], tuple[float, ...], tuple[bool, ...]]


def identity(n: int) -> AxisPositions:
    """The positions of a model input axis of ``n`` pixels: pixel i reads pixel i."""
    return tuple(range(n)), tuple(range(n)), (False,) * n


def period(stride: float) -> int:
    """Output positions per repeat of a stride pattern: the denominator of the stride."""
    if stride <= TOL:
        return 1
    return Fraction(stride).limit_denominator(4 * MAX_PERIOD).denominator


def _extended(vals: Sequence[float], i: int, per: int, shift: float, stride: float) -> float:
    """``vals[i]``, continued outside the tensor (positions in a later op's padding) by the
    stride pattern: one period further is ``shift`` = period · stride input pixels further."""
    n = len(vals)
    if 0 <= i < n:
        return vals[i]
    if per <= n:
        if i < 0:
            k = -(i // per)
            return vals[i + k * per] - k * shift
        k = -(-(i - n + 1) // per)
        return vals[i - k * per] + k * shift
    return vals[0] + i * stride if i < 0 else vals[-1] + (i - n + 1) * stride


def compose(
    up: AxisPositions | None,
    stride: float,
    m: float,
    q: float,
    lo0: float,
    jit: float,
    n_in: int | None,
    n_out: int | None,
    intervals: Sequence[tuple[int, int]] | None,
    spacing: int = 1,
) -> AxisPositions | None:
    """Exact intervals after a step: output j reads layer-input positions ``l_j, l_j + g,
    …, h_j`` (``g`` = ``spacing``, the dilation's gap), which reach the model input from the
    smallest ``up.lo`` to the largest ``up.hi`` among them (``up.lo[l_j]`` and
    ``up.hi[h_j]`` when both sequences are monotone)."""
    if up is None or (n_in is not None and len(up[0]) != n_in):
        return None
    if intervals is None:
        integral = all(abs(v - round(v)) < TOL for v in (m, q, lo0))
        if n_out is None or jit > TOL or not integral or n_out > MAX_SAMPLES:
            return None
        mi, qi, li = round(m), round(q), round(lo0)
        intervals = [(li + j * qi, li + j * qi + mi) for j in range(n_out)]
    per = period(stride)
    shift = per * stride
    los, his, pads = up
    n = len(los)
    seen = [0]  # prefix counts of upstream positions that read padding
    for flag in pads:
        seen.append(seen[-1] + flag)

    def padded(lo: int, hi: int) -> bool:
        if lo < 0 or hi >= n:
            return True
        return seen[hi + 1] - seen[lo] > 0

    if _monotone(los) and _monotone(his):
        first = tuple(_extended(los, lo, per, shift, stride) for lo, _ in intervals)
        last = tuple(_extended(his, hi, per, shift, stride) for _, hi in intervals)
    else:
        # A transposed conv whose dilation exceeds its stride interleaves its taps (output
        # 15 may read input 4 and output 14 input 5): the extremes of a window are then
        # not at its ends, so every position of the window counts.
        first = tuple(
            min(_extended(los, k, per, shift, stride) for k in range(lo, hi + 1, spacing))
            for lo, hi in ((int(a), int(b)) for a, b in intervals)
        )
        last = tuple(
            max(_extended(his, k, per, shift, stride) for k in range(lo, hi + 1, spacing))
            for lo, hi in ((int(a), int(b)) for a, b in intervals)
        )
    return first, last, tuple(padded(int(lo), int(hi)) for lo, hi in intervals)


def _monotone(values: Sequence[float]) -> bool:
    return all(a <= b for a, b in itertools.pairwise(values))


def hull(parts: Sequence[AxisPositions | None], n: int) -> AxisPositions | None:
    """Elementwise hull of merged branches' intervals (None unless all are known)."""
    if not parts or any(p is None or len(p[0]) != n for p in parts):
        return None
    known = [p for p in parts if p is not None]
    return (
        tuple(min(p[0][j] for p in known) for j in range(n)),
        tuple(max(p[1][j] for p in known) for j in range(n)),
        tuple(any(p[2][j] for p in known) for j in range(n)),
    )
