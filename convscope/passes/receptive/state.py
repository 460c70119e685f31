"""The pass's state of one tensor: its RF, layout and trust, and how steps change it.

:class:`TensorState` is frozen; :class:`Accumulator` is a mutable per-axis copy that
applies one :class:`~convscope.passes.receptive.steps.Step` per axis and freezes into a
new state. The helpers here build states from others: :func:`derive` (another layout,
global, approximate), :func:`largest` (the plain merge that keeps the largest input) and
:func:`lost` (spatial structure lost: global).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from convscope.passes.receptive.layout import Layout, axis_positions
from convscope.passes.receptive.positions import AxisPositions, compose, identity
from convscope.passes.receptive.result import NodeRF
from convscope.passes.receptive.steps import Step

__all__ = ["Accumulator", "TensorState", "area", "derive", "initial", "largest", "lost", "reported"]


@dataclass(frozen=True)
class TensorState:
    """Internal state of one tensor: its RF, dimension map and trust."""

    rf: NodeRF
    layout: Layout | None  # None: spatial structure lost
    jitter: tuple[float, ...]  # tolerance per axis, input pixels
    approx: bool  # geometry guessed somewhere upstream
    # Per axis, input pixels: where the centre of the tensor's *own* features lies,
    # relative to the RF centre. After a merge the RF is the union of the branches, whose
    # midpoint is no branch's centre; alignment is judged against the first branch's
    # centre (the one the others are added to), so offsets do not compound merge to merge.
    # Every op maps both centres by the same affine step, so the difference is carried.
    anchor: tuple[float, ...] = ()
    # Per axis, the coarsest effective stride on the way here: an upsampled branch carries
    # information only on that grid, so shifts within half of its pixel are inherent to the
    # upsampling (nearest ×4 is 1.5 fine pixels off), not a padding mistake.
    coarse: tuple[float, ...] = ()
    pos: tuple[AxisPositions | None, ...] | None = None  # exact intervals per axis

    def centre(self, a: int) -> float:
        return self.rf.center_offset(a) + (self.anchor[a] if self.anchor else 0.0)


class Accumulator:
    """Mutable per-axis copy of a state, for applying steps."""

    def __init__(self, t: TensorState) -> None:
        self.size = list(t.rf.size)
        self.min_size = list(t.rf.min_size)
        self.stride = list(t.rf.stride)
        self.padding = list(t.rf.padding)
        self.jitter = list(t.jitter)
        self.is_global = t.rf.is_global
        self.approx = t.approx
        self.anchor = t.anchor
        self.coarse = list(t.coarse) if t.coarse else list(t.rf.stride)
        self.pos: list[AxisPositions | None] = list(t.pos) if t.pos else [None] * len(self.size)

    def step(self, a: int, st: Step, *, n_in: int | None = None, n_out: int | None = None) -> None:
        """Apply ``st`` along spatial axis ``a``. Its ``intervals`` or, for an exactly
        affine step, ``n_out`` keep the per-position intervals exact; without them the axis
        falls back to the affine description."""
        s = self.stride[a]
        self.pos[a] = compose(
            self.pos[a],
            s,
            st.m,
            st.q,
            st.lo0,
            st.jitter,
            n_in,
            n_out,
            st.intervals or None,
            st.spacing,
        )
        self.size[a] += st.m * s
        self.min_size[a] += st.m * s
        self.padding[a] -= st.lo0 * s
        self.jitter[a] += st.jitter * s
        self.stride[a] = st.q * s
        self.coarse[a] = max(self.coarse[a], self.stride[a])

    def freeze(self, layout: Layout | None) -> TensorState:
        rf = NodeRF(
            size=tuple(self.size),
            min_size=tuple(self.min_size),
            stride=tuple(self.stride),
            padding=tuple(self.padding),
            is_global=self.is_global,
        )
        return TensorState(
            rf=rf,
            layout=layout,
            jitter=tuple(self.jitter),
            approx=self.approx,
            anchor=self.anchor,
            coarse=tuple(self.coarse),
            pos=tuple(self.pos),
        )


def initial(input_size: Sequence[int], layout: Layout) -> TensorState:
    """A model input: ``r = 1, S = 1, P = 0``, pixel i reads pixel i."""
    nd = len(input_size)
    rf = NodeRF(
        size=(1.0,) * nd,
        min_size=(1.0,) * nd,
        stride=(1.0,) * nd,
        padding=(0.0,) * nd,
        is_global=False,
    )
    pos = tuple(identity(n) for n in input_size)
    return TensorState(rf=rf, layout=layout, jitter=(0.0,) * nd, approx=False, pos=pos)


def derive(
    t: TensorState,
    *,
    layout: Layout | None = None,
    keep_layout: bool = False,
    is_global: bool | None = None,
    approx: bool | None = None,
) -> TensorState:
    """``t`` with another layout (None unless ``keep_layout``), made global or approximate."""
    rf = t.rf
    if is_global is not None and is_global != rf.is_global:
        rf = NodeRF(rf.size, rf.min_size, rf.stride, rf.padding, is_global)
    return TensorState(
        rf=rf,
        layout=t.layout if keep_layout else layout,
        jitter=t.jitter,
        approx=t.approx if approx is None else (t.approx or approx),
        anchor=t.anchor,
        coarse=t.coarse,
        pos=t.pos,
    )


def area(size: Sequence[float]) -> float:
    out = 1.0
    for s in size:
        out *= s
    return out


def largest(ins: Sequence[TensorState]) -> TensorState:
    """Largest input (by RF area); min_size the smallest; global / approx if any."""
    best = max(ins, key=lambda t: area(t.rf.size))
    nd = len(best.rf.size)
    rf = NodeRF(
        size=best.rf.size,
        min_size=tuple(min(t.rf.min_size[a] for t in ins) for a in range(nd)),
        stride=best.rf.stride,
        padding=best.rf.padding,
        is_global=any(t.rf.is_global for t in ins),
    )
    jit = tuple(max(t.jitter[a] for t in ins) for a in range(nd))
    return TensorState(
        rf=rf,
        layout=best.layout,
        jitter=jit,
        approx=any(t.approx for t in ins),
        anchor=best.anchor,
        coarse=best.coarse,
        pos=best.pos,
    )


def lost(ins: Sequence[TensorState], *, approx: bool = False) -> TensorState:
    """Spatial structure lost: global, no layout; geometry of the largest input kept."""
    return derive(largest(ins), layout=None, is_global=True, approx=approx)


def reported(t: TensorState) -> NodeRF:
    """The RF of a state as reported: where the exact per-position intervals are known,
    ``size`` is their largest (over positions), and they are attached as ``positions``."""
    rf = t.rf
    nd = len(rf.size)
    # positions count only where they still describe the axis as this tensor holds it
    where = axis_positions(t.layout, nd) if t.layout is not None else {}
    pos = tuple(
        p if p is not None and a in where and where[a][1] == len(p[0]) > 0 else None
        for a, p in enumerate(t.pos or ())
    )
    if any(p is not None for p in pos):
        size = list(rf.size)
        for a, p in enumerate(pos):
            if p is not None:
                size[a] = max(hi - lo + 1 for lo, hi in zip(p[0], p[1], strict=True))
        rf = dataclasses.replace(rf, size=tuple(size), positions=pos)
    return rf
