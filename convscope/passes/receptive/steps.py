"""Per-axis affine steps: the interval math of each op kind along one axis.

Every window-like op is one step ``(m, q, lo0)``: output pixel j reads layer-input pixels
``[lo0 + j·q, lo0 + j·q + m]``, so ``r' = r + m·S``, ``S' = q·S`` and ``P' = P − lo0·S``.
A window op with kernel k, stride s, padding p and dilation d (``k_eff = d(k − 1) + 1``)
is ``(d(k − 1), s, −p)``; pooling is the same (``ceil_mode`` only adds a last window that
starts inside the input, it does not change the geometry) and explicit pad ops add
``before·S`` to P.

Resampling ops (transposed conv, upsampling, adaptive pooling with a non-dividing size,
pixel shuffle) are not exactly affine: their true input interval is enumerated for each
output pixel, ``m`` is the largest one ("an output pixel depends on ceil(k_eff/s)
inputs"), ``q`` / ``lo0`` are fitted and the largest distance (``jitter``, in input
pixels) by which a true interval sticks out of the affine one is recorded, with the
true intervals themselves. Resampling a single pixel (a 1 × 1 map upsampled, as in ASPP
image pooling) is a broadcast: stride 0. Adaptive pooling with a size that does not
divide the input gets the fractional stride ``I/O`` (pooling with stride ⌊I/O⌋ and kernel
⌈I/O⌉ would drift along the axis). Slicing a spatial axis: the IR does not record the
slice start, so a crop is taken as centred (U-Net) and a slice to ⌈I/k⌉ as
``x[..., ::k]`` (the caller flags both approximate); ``split`` / ``chunk`` know their
offsets.

Pure functions of integers; no state.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction

from convscope.passes.receptive.positions import MAX_SAMPLES

__all__ = [
    "IDENTITY",
    "Step",
    "adaptive",
    "crop",
    "offset",
    "pad",
    "pixel_shuffle",
    "pixel_unshuffle",
    "resample",
    "scan",
    "transposed",
    "whole_axis",
    "window",
]

Intervals = tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class Step:
    """Output pixel j reads layer-input pixels ``[lo0 + j·q, lo0 + j·q + m]``.

    ``jitter``: how far (input pixels of the layer) a true interval sticks out of that;
    ``intervals``: the true ``(lo_j, hi_j)`` of every output position where enumerated;
    ``spacing``: the gap between the positions a window reads (its dilation).
    """

    m: float
    q: float
    lo0: float
    jitter: float = 0.0
    intervals: Intervals | None = None
    spacing: int = 1


IDENTITY = Step(0.0, 1.0, 0.0)


def window(kernel: int, stride: int, padding: int, dilation: int) -> Step:
    """A forward conv or pooling window."""
    return Step(float(dilation * (kernel - 1)), float(stride), float(-padding), 0.0, None, dilation)


def pad(before: int) -> Step:
    """An explicit pad op adding ``before`` pixels at the start."""
    return Step(0.0, 1.0, float(-before), 0.0)


def crop(n_in: int, n_out: int) -> Step:
    """A slice of unknown start/step: a strided slice when the size says so
    (``x[..., ::k]``), else a centre crop (U-Net style)."""
    if n_out >= 1:
        k = round(n_in / n_out)
        if k >= 2 and -(-n_in // k) == n_out:
            return Step(0.0, float(k), 0.0)
    return Step(0.0, 1.0, float((n_in - n_out) // 2))


def offset(start: int) -> Step:
    """A slice starting at a known ``start`` (``split`` / ``chunk``)."""
    return Step(0.0, 1.0, float(start))


def whole_axis(n: int) -> Step:
    """A reduction over an axis of ``n`` pixels, to one pixel."""
    return Step(float(n - 1), float(n), 0.0)


def scan(n: int) -> Step:
    """A size-preserving reduction (cumsum / cummax scans, sort): output pixel j reads
    pixels 0..j (scans) or the whole axis (sort), both inside ``[j − (n−1), j + (n−1)]``."""
    size = float(n)
    return Step(2.0 * (size - 1.0), 1.0, -(size - 1.0))


def _fit(intervals: Iterable[tuple[int, float, float]], q: float) -> tuple[float, float, float]:
    """Fit ``[lo0 + j·q, lo0 + j·q + m]`` to true intervals ``(j, lo_j, hi_j)``.

    ``m`` is the largest interval; ``lo0`` minimises the largest outward deviation,
    returned as the tolerance (0 for an exactly affine op).
    """
    items = list(intervals)
    if not items:
        return 0.0, 0.0, 0.0
    m = max(hi - lo for _, lo, hi in items)
    min_a = min(lo - j * q for j, lo, _ in items)
    max_b = max(hi - m - j * q for j, _, hi in items)
    lo0 = (max_b + min_a) / 2
    jit = max(0.0, (max_b - min_a) / 2)
    return float(m), round(lo0, 12), round(jit, 12)


def _positions(n_out: int) -> range:
    return range(min(n_out, MAX_SAMPLES))


def _exact(taps: Sequence[tuple[int, float, float]], n_out: int) -> Intervals:
    """The enumerated intervals as ints, when they cover every output position."""
    if len(taps) != n_out:
        return ()
    return tuple((int(lo), int(hi)) for _, lo, hi in taps)


def _broadcast(n_out: int) -> Step:
    """From a single pixel every output pixel reads that pixel: stride 0."""
    return Step(0.0, 0.0, 0.0, 0.0, tuple((0, 0) for _ in _positions(n_out)))


def resample(mode: str, n_in: int, n_out: int, align: bool, antialias: bool) -> Step:
    """An interpolation along one axis (PyTorch index rules), with the true intervals of
    every output position."""
    if n_in == 1:
        return _broadcast(n_out)
    if n_in == n_out:
        return IDENTITY
    taps_of: list[tuple[int, float, float]] = []
    if align and mode != "nearest":
        scale = Fraction(n_in - 1, n_out - 1) if n_out > 1 else Fraction(0)
    else:
        scale = Fraction(n_in, n_out)
    interp = 4 if mode == "bicubic" else 2
    for j in _positions(n_out):
        if mode == "nearest":
            lo = hi = math.floor(j * scale)
        elif mode == "nearest-exact":
            lo = hi = math.floor((j + Fraction(1, 2)) * scale)
        elif antialias and scale > 1:
            support = Fraction(interp, 2) * scale
            centre = scale * (j + Fraction(1, 2))
            lo = math.floor(centre - support + Fraction(1, 2))
            hi = math.floor(centre + support + Fraction(1, 2)) - 1
        else:
            src = j * scale if align else (j + Fraction(1, 2)) * scale - Fraction(1, 2)
            i0 = math.floor(src)
            if src == i0:
                lo = hi = i0
            elif interp == 4:
                lo, hi = i0 - 1, i0 + 2
            else:
                lo, hi = i0, i0 + 1
        taps_of.append((j, float(lo), float(hi)))
    q = float(scale)
    m, lo0, jit = _fit(taps_of, q)
    return Step(m, q, lo0, jit, _exact(taps_of, n_out))


def adaptive(n_in: int, n_out: int) -> Step:
    """Adaptive pooling windows ``[⌊j·I/O⌋, ⌈(j+1)·I/O⌉ − 1]`` as an affine step.

    Exact (kernel = stride = I/O) when O divides I; otherwise the fitted stride is the
    fractional ``I/O`` and the tolerance says how far windows drift from it (a pool with
    stride ⌊I/O⌋ and kernel ⌈I/O⌉ would drift by up to O·(I/O − ⌊I/O⌋) pixels).
    """
    if n_in == 1:
        return _broadcast(n_out)
    if n_in == n_out:
        return IDENTITY
    taps = []
    for j in _positions(n_out):
        lo = (j * n_in) // n_out
        hi = -(-((j + 1) * n_in) // n_out) - 1
        taps.append((j, float(lo), float(hi)))
    q = n_in / n_out
    m, lo0, jit = _fit(taps, q)
    return Step(m, q, lo0, jit, _exact(taps, n_out))


def transposed(k: int, s: int, p: int, d: int, n_out: int = 0) -> Step:
    """Transposed convolution along one axis.

    Derivation: a transposed conv scatters input pixel i to outputs ``i·s − p + t·d`` for
    taps ``t = 0..k−1``. So output j reads the inputs ``i = (j + p − t·d)/s`` for every
    tap where that is an integer: with ``k_eff = d(k − 1) + 1`` they lie in
    ``[(j + p − k_eff + 1)/s, (j + p)/s]``, i.e. at most ``ceil(k_eff/s)`` inputs for
    d = 1, how many depending on the phase ``(j + p) mod s``. Moving one output pixel
    moves that window by ``1/s`` input pixels, so ``S' = S/s`` (fractional); its centre
    ``(j + p − (k_eff − 1)/2)/s`` gives ``lo0``; ``m`` = the largest span over phases
    (``ceil(k_eff/s) − 1`` for d = 1), so ``r' = r + m·S``; the phase-dependent shift of
    the true window around the affine one is the tolerance (S/4 for k = 4, s = 2).
    Example k = 4, s = 2, p = 1: every output reads 2 inputs, r' = r + S, S' = S/2.
    """

    def reads(j: int) -> list[int]:
        return [(j + p - t * d) // s for t in range(k) if (j + p - t * d) % s == 0]

    taps = []
    period = max(1, s) * max(1, d) * 2
    for j in range(period):
        ins = reads(j)
        if ins:
            taps.append((j, float(min(ins)), float(max(ins))))
    m, lo0, jit = _fit(taps, 1.0 / s)
    every = [(j, reads(j)) for j in range(min(n_out, MAX_SAMPLES))]
    exact = tuple((min(r), max(r)) for _, r in every) if all(r for _, r in every) else ()
    # Consecutive taps that land on an input differ by s/g in t, so by d/g in the input.
    spacing = d // math.gcd(s, d) if s > 0 and d > 0 else 1
    return Step(m, 1.0 / s, lo0, jit, exact if len(exact) == n_out else (), spacing)


def pixel_shuffle(r: int, n_out: int) -> Step:
    """``pixel_shuffle`` by ``r`` along one axis: output j reads input ``j // r``."""
    taps = [(j, float(j // r), float(j // r)) for j in range(r * 2)]
    m, lo0, jit = _fit(taps, 1.0 / r)
    every = tuple((j // r, j // r) for j in range(n_out))
    return Step(m, 1.0 / r, lo0, jit, every)


def pixel_unshuffle(r: int) -> Step:
    """``pixel_unshuffle`` by ``r`` along one axis: a window of r with stride r."""
    return Step(float(r - 1), float(r), 0.0, 0.0)
