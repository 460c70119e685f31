"""The symmetric integer grid: effective bits of a channel under one scale, shares of
starved channels, and the JSON rounding every quantization figure goes through."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence


def rounded(x: float | None, digits: int = 4) -> float | None:
    """JSON-safe rounding: infinities and NaN become null."""
    if x is None or math.isinf(x) or math.isnan(x):
        return None
    return round(float(x), digits)


def lower_median(values: Iterable[float]) -> float:
    """The ``⌈n/2⌉``-th smallest value: always one of ``values`` (nan for none)."""
    vals = sorted(values)
    return vals[(len(vals) - 1) // 2] if vals else math.nan


def level_bits(level: float) -> float:
    """``log2(2 · m + 1)``: the bits of a channel whose weights reach integer level ``m``."""
    return math.log2(2.0 * level + 1.0)


def per_tensor_bits(
    ranges: Sequence[float], bits: int = 8, top: float | None = None
) -> tuple[float, ...]:
    """Effective bits of each channel of range ``r_o`` under one symmetric per-tensor scale
    ``s = R / qmax`` (``R = max r_o`` unless ``top`` is given):
    ``log2(2 · min(qmax, round(r_o / s)) + 1)``. ``max_j |round(w_j / s)|`` equals
    ``round(max_j |w_j| / s)`` because rounding is monotone, so the channel ranges suffice."""
    qmax = 2 ** (bits - 1) - 1
    big = max(ranges, default=0.0) if top is None else top
    if big <= 0:
        return tuple(0.0 for _ in ranges)
    s = big / qmax
    return tuple(level_bits(min(qmax, round(r / s))) for r in ranges)


def below(values: Sequence[float], limit: float) -> tuple[int, ...]:
    """Indices of ``values`` below ``limit``."""
    return tuple(i for i, v in enumerate(values) if v < limit)


def share(count: int, total: int) -> float:
    return count / total if total else 0.0


def share_text(x: float) -> str:
    """A share as a whole percentage, or with one decimal below 1 % (``0.4%``)."""
    return f"{100 * x:.0f}%" if x == 0 or x >= 0.01 else f"{100 * x:.1f}%"
