"""The receptive-field pass's results: per tensor (:class:`NodeRF`), per misaligned merge
(:class:`Misalignment`) and for the whole graph (:class:`ReceptiveField`), with their JSON
and text forms.

Conventions. Every tensor gets, per spatial axis of the model input (1, 2 or 3 axes, in
axis order: H then W for images):

* ``size`` r — the extent, in input pixels, of the input region that can influence one
  output pixel (largest over paths and over output positions);
  ``min_size`` — the same along the shortest path (grown with the tracked stride);
* ``stride`` S — the effective stride ("jump"): moving one pixel in this tensor moves
  the receptive field by S input pixels (fractional after upsampling / transposed conv);
* ``padding`` P — the effective padding: output pixel ``i`` sees input pixels
  ``[i·S − P, i·S − P + r − 1]`` (pixels outside ``[0, I − 1]`` are padding), so its
  centre is at ``i·S + (r − 1)/2 − P``; ``NodeRF.center_offset`` is the centre of pixel 0.

Where the exact per-position intervals are known (``NodeRF.positions``), the reported
``size`` is their largest, ``size_range`` and ``phases`` give the smallest and the
per-phase pattern, and ``rf_verify`` compares with them strictly.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from convscope.passes.receptive.positions import MAX_PERIOD, AxisPositions
from convscope.passes.receptive.positions import period as stride_period

__all__ = ["Misalignment", "NodeRF", "ReceptiveField"]


@dataclass(frozen=True)
class NodeRF:
    """The receptive field of one tensor, per spatial axis of the model input."""

    size: tuple[float, ...]  # largest RF over paths, in input pixels
    min_size: tuple[float, ...]  # smallest RF over paths
    stride: tuple[float, ...]  # effective stride (jump) in input pixels; 0: broadcast of one pixel
    padding: tuple[float, ...]  # effective padding P: pixel i sees [i·S − P, i·S − P + r − 1]
    is_global: bool  # sees the whole input (global pooling, flatten + linear, attention)
    # Per axis, the exact input interval (lo, hi), unclipped, of every output position:
    # ``(los, his)``; None where the pass could not follow it exactly.
    positions: tuple[AxisPositions | None, ...] | None = field(
        default=None, repr=False, compare=False
    )

    def interval(self, axis: int, index: int) -> tuple[float, float]:
        """Input interval of output pixel ``index``: exact when positions are known, else
        the affine ``[i·S − P, i·S − P + r − 1]``."""
        pos = self.positions[axis] if self.positions else None
        if pos is not None and 0 <= index < len(pos[0]):
            return float(pos[0][index]), float(pos[1][index])
        return self.extent(axis, index)

    def reads_padding(self, axis: int, index: int) -> bool:
        """Whether output pixel ``index`` reads padding on some path along ``axis``
        (unknown positions: whether its affine extent leaves the image)."""
        pos = self.positions[axis] if self.positions else None
        if pos is not None and 0 <= index < len(pos[2]):
            return pos[2][index]
        return True

    def size_range(self, axis: int) -> tuple[float, float]:
        """(smallest, largest) RF size over the output positions along ``axis``."""
        pos = self.positions[axis] if self.positions else None
        if not pos or not pos[0]:
            return self.size[axis], self.size[axis]
        sizes = [hi - lo + 1 for lo, hi in zip(pos[0], pos[1], strict=True)]
        return float(min(sizes)), float(max(sizes))

    def period(self, axis: int) -> int:
        """Output positions after which the stride pattern repeats (1 for integer strides)."""
        return stride_period(self.stride[axis])

    def phases(self, axis: int) -> tuple[tuple[float, float], ...] | None:
        """(size, padding) of each phase of one period, read at the middle of the map
        (padding as in ``[i·S − P, …]``); None when the period is 1 or positions unknown."""
        pos = self.positions[axis] if self.positions else None
        per = self.period(axis)
        if pos is None or per <= 1 or per > MAX_PERIOD or len(pos[0]) < per:
            return None
        n = len(pos[0])
        start = min(max(0, (n // 2 // per) * per), n - per)
        s = self.stride[axis]
        return tuple(
            (float(pos[1][j] - pos[0][j] + 1), float(j * s - pos[0][j]))
            for j in range(start, start + per)
        )

    def center_offset(self, axis: int) -> float:
        """Centre of output pixel 0 in input coordinates: ``(size − 1)/2 − padding``."""
        return (self.size[axis] - 1) / 2 - self.padding[axis]

    def extent(self, axis: int, index: int) -> tuple[float, float]:
        """Input interval ``[i·S − P, i·S − P + r − 1]`` of output pixel ``index`` (unclipped)."""
        lo = index * self.stride[axis] - self.padding[axis]
        return lo, lo + self.size[axis] - 1


@dataclass(frozen=True)
class Misalignment:
    """A merge (add, mul, cat...) whose branches disagree on one axis: data for RF004."""

    node: int
    module: str
    op: str
    axis: int
    kind: str  # "stride" or "offset"
    strides: tuple[float, ...]  # per merged branch
    offsets: tuple[float, ...]  # centre offset of pixel 0 per branch, input pixels
    offset_px: float  # max difference of centre offsets between branches, input pixels
    coarse_px: float = 0.0  # the coarsest grid any branch carried (see TensorState.coarse)
    positions: int = 0  # pixels of the merged map along the axis (0: unknown)

    @property
    def shift_px(self) -> float:
        """How far apart, in input pixels, the branches' centres are at the middle of the
        merged map: pixel ``j`` of branch ``b`` is centred at ``offsets[b] + j·strides[b]``.
        Equals ``offset_px`` when the strides agree."""
        mid = max(self.positions - 1, 0) / 2
        centres = [o + mid * s for o, s in zip(self.offsets, self.strides, strict=True)]
        return max(centres) - min(centres)

    @property
    def stretch_px(self) -> float:
        """How much the branches' pixel grids differ in extent across the merged map, in
        input pixels: ``(positions − 1)·(largest − smallest stride)``; 0 for equal strides.
        Resizing between two grids that cover the same image (corner-aligned, or to a
        fixed size) stretches by less than one pixel of the coarser grid, at any size."""
        return max(self.positions - 1, 0) * (max(self.strides) - min(self.strides))

    def as_dict(self) -> dict[str, Any]:
        return {
            "node": self.node,
            "module": self.module,
            "op": self.op,
            "axis": self.axis,
            "kind": self.kind,
            "strides": [_num(s) for s in self.strides],
            "offsets": [_num(o) for o in self.offsets],
            "offset_px": _num(self.offset_px),
            "positions": self.positions,
            "shift_px": _num(self.shift_px),
            "stretch_px": _num(self.stretch_px),
        }


@dataclass(frozen=True)
class ReceptiveField:
    """Result of :func:`receptive_field`; an analysis's ``RECEPTIVE_FIELD`` section.

    Beyond the per-tensor, per-node and per-layer RFs, three mappings describe how far the
    numbers can be trusted, for ``rf_verify``: ``layer_dims`` (which tensor dims of a
    layer's output hold spatial axes 0.., absent when they are merged or lost),
    ``layer_tolerance`` (per axis, how many input pixels a true RF interval may stick out
    of ``[i·S − P, i·S − P + r − 1]`` because of resampling; 0 when exact) and
    ``approximate`` (layers downstream of an op whose geometry was guessed: unknown ops,
    crops with unknown start, concatenation along a spatial axis).
    """

    per_tensor: Mapping[int, NodeRF]
    per_node: Mapping[int, NodeRF]  # RF of each node's first output
    per_layer: Mapping[str, NodeRF]  # RF of each module path's last output (leaves and parents)
    output: NodeRF | None  # RF of the model output (largest over outputs if several)
    input_size: tuple[int, ...]  # spatial input size
    misalignments: tuple[Misalignment, ...]
    layer_dims: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    layer_tolerance: Mapping[str, tuple[float, ...]] = field(default_factory=dict)
    approximate: frozenset[str] = frozenset()
    # Why the pass could not run (a bug to report): the mappings are then empty, and every
    # reader says so instead of reading "no output depends on the input".
    failure: str | None = None

    def covers_input(self) -> bool:
        """Output RF at least the input side on every axis (or global)."""
        out = self.output
        if out is None:
            return False
        if out.is_global:
            return True
        return all(s >= i for s, i in zip(out.size, self.input_size, strict=False))

    def coverage(self) -> tuple[float, ...]:
        """Fraction of each input axis covered by the output RF, capped at 1.0 (1.0 if global)."""
        out = self.output
        if out is None:
            return tuple(0.0 for _ in self.input_size)
        if out.is_global:
            return tuple(1.0 for _ in self.input_size)
        return tuple(
            min(1.0, s / i) if i else 1.0 for s, i in zip(out.size, self.input_size, strict=False)
        )

    def summary_dict(self) -> dict[str, Any]:
        """JSON form (top-level ``receptive_field`` section)."""
        out = self.output
        d: dict[str, Any] = {"input_size": list(self.input_size)}
        if out is None:
            d.update(
                size=None,
                min_size=None,
                stride=None,
                padding=None,
                center_offset=None,
                is_global=False,
            )
        else:
            d.update(_rf_dict(out))
            d["is_global"] = d.pop("global")
        d["covers_input"] = self.covers_input()
        d["coverage"] = [_num(c) for c in self.coverage()]
        d["misalignments"] = [m.as_dict() for m in self.misalignments]
        if self.failure is not None:
            d["failure"] = self.failure
        return d

    def layer_dict(self, path: str) -> dict[str, Any] | None:
        """Per-layer JSON (``rf`` key): size, min_size, stride, padding, center_offset, global."""
        rf = self.per_layer.get(path)
        return _rf_dict(rf) if rf is not None else None

    def summary_text(self) -> str:
        """One line for the terminal summary."""
        merges = len({m.node for m in self.misalignments})
        tail = f"; {merges} misaligned merge{'' if merges == 1 else 's'}"
        out = self.output
        inp = "×".join(str(i) for i in self.input_size) or "?"
        if self.failure is not None:
            return f"not computed: {self.failure}"
        if out is None:
            return "no output depends on the input" + tail
        size = "×".join(_fmt(s) for s in out.size)
        ranges = [out.size_range(a) for a in range(len(out.size))]
        if any(lo != hi for lo, hi in ranges):
            size += " (" + "×".join(f"{_fmt(lo)}–{_fmt(hi)}" for lo, hi in ranges)
            size += " over positions)"
        stride = "×".join(_fmt(s) for s in dict.fromkeys(out.stride))
        local_covers = all(s >= i for s, i in zip(out.size, self.input_size, strict=False))
        if local_covers:
            text = f"output RF {size} (stride {stride}) covers the {inp} input"
        else:
            pct = "×".join(
                f"{min(1.0, s / i):.0%}" if i else "100%"
                for s, i in zip(out.size, self.input_size, strict=False)
            )
            text = f"output RF {size} (stride {stride}) covers {pct} of the {inp} input"
        if out.is_global:
            text += ", then global (pooling / flatten / attention)"
        return text + tail


def _num(x: float) -> float | int:
    """JSON number: an int when integral, else rounded to 6 decimals."""
    if math.isfinite(x) and abs(x - round(x)) < 1e-9:
        return round(x)
    return round(float(x), 6)


def _fmt(x: float) -> str:
    v = _num(x)
    return str(v) if isinstance(v, int) else f"{v:.3g}"


def _rf_dict(rf: NodeRF) -> dict[str, Any]:
    n = len(rf.size)
    d: dict[str, Any] = {
        "size": [_num(s) for s in rf.size],
        "min_size": [_num(s) for s in rf.min_size],
        "stride": [_num(s) for s in rf.stride],
        "padding": [_num(p) for p in rf.padding],
        "center_offset": [_num(rf.center_offset(a)) for a in range(n)],
        "global": rf.is_global,
    }
    # Only where the RF varies over positions (resampling), so other documents keep
    # their form: the range over positions, and one period of (size, padding) per axis.
    ranges = [rf.size_range(a) for a in range(n)]
    if any(lo != hi for lo, hi in ranges):
        d["size_range"] = [[_num(lo), _num(hi)] for lo, hi in ranges]
    phases = [rf.phases(a) for a in range(n)]
    if any(p is not None for p in phases):
        d["phases"] = [
            [{"size": _num(s), "padding": _num(p)} for s, p in ph] if ph is not None else None
            for ph in phases
        ]
    return d
