"""Receptive fields on the traced graph (Araujo, Norris & Sim, Distill 2019).

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

Graph inputs start at ``r = 1, S = 1, P = 0``. A window op with kernel k, stride s,
padding p and dilation d (``k_eff = d(k − 1) + 1``) maps ``(r, S, P)`` to
``(r + (k_eff − 1)·S, S·s, P + p·S)``; pooling is the same (``ceil_mode`` only adds a last
window that starts inside the input, it does not change the geometry) and explicit pad
ops add ``before·S`` to P.

Every window-like op is one *per-axis affine step* ``(m, q, lo0)``: output pixel j reads
layer-input pixels ``[lo0 + j·q, lo0 + j·q + m]``, so ``r' = r + m·S``, ``S' = q·S`` and
``P' = P − lo0·S``. A forward conv is ``(d(k − 1), s, −p)``. Resampling ops (transposed
conv, upsampling, adaptive pooling with a non-dividing size, pixel shuffle) are not
exactly affine: the pass enumerates the true input interval of each output pixel, takes
``m`` as the largest one ("an output pixel depends on ceil(k_eff/s) inputs"),
fits ``q``/``lo0`` and records the largest distance (``tolerance``, in input pixels) by
which a true interval sticks out of the affine one. Beside that fit the pass carries the
exact input interval of every output position (``NodeRF.positions``): each op maps output
j to layer-input positions ``[l_j, h_j]`` and, intervals being monotone, the composite is
``[lo(l_j), hi(h_j)]`` of the layer input's intervals; positions in a later op's padding
continue the stride pattern (one period of ``1/S`` positions further is one input pixel
further) and are marked as reading padding. Merges take the elementwise hull. Where they
are known, the reported ``size`` is their largest, ``size_range`` and ``phases`` give the
smallest and the per-phase pattern, and ``rf_verify`` compares with them strictly (the
affine fit and its tolerance remain for what the pass cannot follow). Resampling a
single pixel (a 1 × 1 map upsampled, as in ASPP image pooling) is a broadcast: stride 0.
Adaptive pooling with a size that does not divide the input gets the fractional stride
``I/O`` (pooling with stride ⌊I/O⌋ and kernel ⌈I/O⌉ would drift along the axis).
Slicing a spatial axis: the IR does not record the slice start, so a crop is taken as
centred (U-Net) and a slice to ⌈I/k⌉ as ``x[..., ::k]``, both flagged approximate;
``split`` / ``chunk`` know their offsets.

Multi-path graphs: an elementwise merge or a concatenation takes the hull of its inputs'
intervals when their strides agree (for aligned inputs: the largest RF), ``min_size``
is the smallest input's, and branches whose stride or centre offset differ are recorded
as :class:`Misalignment` (rule RF004) — never an error.

Global context: adaptive / global pooling to 1, a reduction over the spatial axes, a
linear layer or matmul that contracts a spatial axis (flatten + linear), attention and
activation-by-activation matmuls (token mixing) make the RF the whole input
(``is_global``). Sizes keep the local (window) geometry that led there, so a classifier's
output reports "427 × 427, global" for ResNet-50. A merge with a global input is
global (squeeze-and-excitation gates), and window ops keep growing the local part.

Layouts: views are followed through a per-tensor dimension map, so a permute to
channels-last and back, channel slicing, or the ``[N·H·W, C]`` view that ``nn.Linear``
uses in ConvNeXt keep the RF; an op that mixes along a flattened spatial dimension makes
it global, and a view that cuts a spatial axis apart (window partition) loses it
(global, conservatively). Norms are treated as per position (their statistics are not
part of the geometric RF, as in every RF tool); softmax too, unless it runs over a
flattened spatial dimension. Unknown ops that keep the spatial size pass the RF through
(flagged approximate); others make it global. An in-place write into a view (``buf =
zeros(...); buf[:, :c].copy_(x)``) reaches later readers of the buffer. A 3-d input whose
model runs 2-d convs is an unbatched ``[C, H, W]`` image (detection models) or a
``[N, F, T]`` signal unsqueezed to ``[N, 1, F, T]``: its last two dims are the spatial
axes. The pass never raises.

Pure: no torch import; returns new objects and never mutates the IR.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from types import MappingProxyType
from typing import Any

from convscope.errors import describe
from convscope.ir import graph as ir
from convscope.ir.text import op_name

__all__ = ["Misalignment", "NodeRF", "ReceptiveField", "receptive_field"]

_TOL = 1e-9
_OTHER = -1  # atom label of a non-spatial part of a dimension (batch, channels, features)
_MERGED = -2  # _dim_axis result: a dimension holding a spatial axis merged with others
_MAX_SAMPLES = 4096  # output positions enumerated to fit a resampling op
_MAX_PERIOD = 64  # longest stride pattern (output positions) reported per phase

# One axis of a tensor: the exact input interval of each output position (los, his), and
# whether some path of that position reads padding (then the interval, continued into the
# padding by the stride pattern, bounds the true support instead of equalling it).
AxisPositions = tuple[tuple[float, ...], tuple[float, ...], tuple[bool, ...]]

Atom = tuple[int, int]  # (label, size): label >= 0 is a spatial axis of the model input
Dim = tuple[Atom, ...]
Layout = tuple[Dim, ...]


# ---------------------------------------------------------------------------------------
# public results


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
        return _period(self.stride[axis])

    def phases(self, axis: int) -> tuple[tuple[float, float], ...] | None:
        """(size, padding) of each phase of one period, read at the middle of the map
        (padding as in ``[i·S − P, …]``); None when the period is 1 or positions unknown."""
        pos = self.positions[axis] if self.positions else None
        per = self.period(axis)
        if pos is None or per <= 1 or per > _MAX_PERIOD or len(pos[0]) < per:
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
    coarse_px: float = 0.0  # the coarsest grid any branch carried on the way (see _T.coarse)
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


# ---------------------------------------------------------------------------------------
# per-tensor state


@dataclass(frozen=True)
class _T:
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

    def centre(self, a: int) -> float:
        return self.rf.center_offset(a) + (self.anchor[a] if self.anchor else 0.0)

    pos: tuple[AxisPositions | None, ...] | None = None  # exact intervals per axis


class _Acc:
    """Mutable per-axis copy of a state, for applying steps."""

    def __init__(self, t: _T) -> None:
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

    def step(
        self,
        a: int,
        m: float,
        q: float,
        lo0: float,
        jit: float = 0.0,
        *,
        n_in: int | None = None,
        n_out: int | None = None,
        intervals: Sequence[tuple[int, int]] | None = None,
        spacing: int = 1,
    ) -> None:
        """Output pixel j reads layer-input pixels ``[lo0 + j·q, lo0 + j·q + m]``.

        ``intervals`` (the true ``(lo_j, hi_j)`` of every output position) or, for an
        exactly affine step, ``n_out`` keep the per-position intervals exact; without them
        the axis falls back to the affine description. ``spacing``: the gap between the
        positions a window reads (its dilation).
        """
        s = self.stride[a]
        self.pos[a] = _compose(self.pos[a], s, m, q, lo0, jit, n_in, n_out, intervals, spacing)
        self.size[a] += m * s
        self.min_size[a] += m * s
        self.padding[a] -= lo0 * s
        self.jitter[a] += jit * s
        self.stride[a] = q * s
        self.coarse[a] = max(self.coarse[a], self.stride[a])

    def freeze(self, layout: Layout | None) -> _T:
        rf = NodeRF(
            size=tuple(self.size),
            min_size=tuple(self.min_size),
            stride=tuple(self.stride),
            padding=tuple(self.padding),
            is_global=self.is_global,
        )
        return _T(
            rf=rf,
            layout=layout,
            jitter=tuple(self.jitter),
            approx=self.approx,
            anchor=self.anchor,
            coarse=tuple(self.coarse),
            pos=tuple(self.pos),
        )


def _with(
    t: _T,
    *,
    layout: Layout | None = None,
    keep_layout: bool = False,
    is_global: bool | None = None,
    approx: bool | None = None,
) -> _T:
    rf = t.rf
    if is_global is not None and is_global != rf.is_global:
        rf = NodeRF(rf.size, rf.min_size, rf.stride, rf.padding, is_global)
    return _T(
        rf=rf,
        layout=t.layout if keep_layout else layout,
        jitter=t.jitter,
        approx=t.approx if approx is None else (t.approx or approx),
        anchor=t.anchor,
        coarse=t.coarse,
        pos=t.pos,
    )


def _standard(shape: Sequence[int], nd: int) -> Layout:
    dims: list[Dim] = []
    for d, n in enumerate(shape):
        a = d - 2
        dims.append(((a, n),) if 0 <= a < nd else ((_OTHER, n),))
    return tuple(dims)


def _dim_axis(atoms: Dim) -> int | None:
    """The spatial axis a dimension holds alone, None if none, ``_MERGED`` if merged."""
    nonunit = [a for a in atoms if a[1] != 1]
    spatial = [lab for lab, _ in nonunit if lab >= 0]
    if not spatial:
        unit = [lab for lab, _ in atoms if lab >= 0]
        return unit[0] if unit and not nonunit else None
    if len(nonunit) == 1:
        return spatial[0]
    return _MERGED


def _has_spatial(atoms: Dim) -> bool:
    return any(lab >= 0 and n != 1 for lab, n in atoms)


def _axis_positions(layout: Layout, nd: int) -> dict[int, tuple[int, int]]:
    """Spatial axis → (dim, size) where the axis sits alone in a dimension."""
    out: dict[int, tuple[int, int]] = {}
    for d, atoms in enumerate(layout):
        a = _dim_axis(atoms)
        if a is not None and a >= 0 and a not in out and a < nd:
            out[a] = (d, sum(n for lab, n in atoms if lab == a) if atoms else 1)
    return out


def _layout_dims(layout: Layout | None, nd: int) -> tuple[int, ...] | None:
    """Tensor dims holding spatial axes 0..nd-1 when each sits alone (for verification)."""
    if layout is None or not layout or _dim_axis(layout[0]) is not None:
        return None
    pos = _axis_positions(layout, nd)
    if len(pos) != nd:
        return None
    dims = tuple(pos[a][0] for a in range(nd))
    return dims if len(set(dims)) == nd else None


# ---------------------------------------------------------------------------------------
# layouts through views


_PERMUTES = frozenset(
    {
        "permute",
        "transpose",
        "transpose_",
        "t",
        "t_",
        "movedim",
        "swapaxes",
        "swapdims",
        "numpy_T",
        "mT",
        "adjoint",
    }
)
_SPLITS = frozenset(
    {
        "split",
        "split_with_sizes",
        "chunk",
        "unsafe_split",
        "tensor_split",
        "unsafe_chunk",
        "unsafe_split_with_sizes",
    }
)


def _permute(layout: Layout, in_shape: Sequence[int], out_shape: Sequence[int]) -> Layout | None:
    if sorted(in_shape) != sorted(out_shape):
        return None
    if tuple(in_shape) == tuple(out_shape):
        return layout  # ambiguous when sizes repeat: assume identity
    used: set[int] = set()
    out: list[Dim] = []
    for n in out_shape:
        for d, m in enumerate(in_shape):
            if d not in used and m == n:
                used.add(d)
                out.append(layout[d])
                break
        else:
            return None
    return tuple(out)


def _reshape(layout: Layout, out_shape: Sequence[int]) -> Layout | None:
    """Regroup atoms into the new dims (merging and splitting non-spatial atoms freely;
    a spatial atom may be merged but not cut)."""
    queue = [a for dim in layout for a in dim]
    pos = 0
    out: list[list[Atom]] = []
    for n in out_shape:
        cur: list[Atom] = []
        if n == 1:
            while pos < len(queue) and queue[pos][1] == 1:
                cur.append(queue[pos])
                pos += 1
            out.append(cur or [(_OTHER, 1)])
            continue
        prod = 1
        while prod < n:
            if pos >= len(queue):
                return None
            lab, sz = queue[pos]
            if sz == 1:
                cur.append((lab, sz))
                pos += 1
                continue
            if n % (prod * sz) == 0:
                cur.append((lab, sz))
                prod *= sz
                pos += 1
                continue
            part = n // prod
            if n % prod or sz % part or lab >= 0:
                return None  # a spatial axis is cut apart (window partition, patchify)
            cur.append((lab, part))
            prod *= part
            queue[pos] = (lab, sz // part)
        out.append(cur)
    rest = queue[pos:]
    if any(sz != 1 for _, sz in rest):
        return None
    if rest:
        if not out:
            return None
        out[-1].extend(rest)
    return tuple(tuple(d) for d in out)


def _numel(shape: Sequence[int]) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


def _centre_crop_step(n_in: int, n_out: int) -> tuple[float, float, float]:
    """(m, q, lo0) for a slice of unknown start/step: a strided slice when the size says
    so (``x[..., ::k]``), else a centre crop (U-Net style)."""
    if n_out >= 1:
        k = round(n_in / n_out)
        if k >= 2 and -(-n_in // k) == n_out:
            return 0.0, float(k), 0.0
    return 0.0, 1.0, float((n_in - n_out) // 2)


# ---------------------------------------------------------------------------------------
# exact per-position intervals


def _period(stride: float) -> int:
    """Output positions per repeat of a stride pattern: the denominator of the stride."""
    if stride <= _TOL:
        return 1
    return Fraction(stride).limit_denominator(4 * _MAX_PERIOD).denominator


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


def _compose(
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
        integral = all(abs(v - round(v)) < _TOL for v in (m, q, lo0))
        if n_out is None or jit > _TOL or not integral or n_out > _MAX_SAMPLES:
            return None
        mi, qi, li = round(m), round(q), round(lo0)
        intervals = [(li + j * qi, li + j * qi + mi) for j in range(n_out)]
    per = _period(stride)
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


def _hull(parts: Sequence[AxisPositions | None], n: int) -> AxisPositions | None:
    """Elementwise hull of merged branches' intervals (None unless all are known)."""
    if not parts or any(p is None or len(p[0]) != n for p in parts):
        return None
    known = [p for p in parts if p is not None]
    return (
        tuple(min(p[0][j] for p in known) for j in range(n)),
        tuple(max(p[1][j] for p in known) for j in range(n)),
        tuple(any(p[2][j] for p in known) for j in range(n)),
    )


# ---------------------------------------------------------------------------------------
# resampling: enumerate true intervals, fit an affine step


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
    return range(min(n_out, _MAX_SAMPLES))


def _floor(x: Fraction) -> int:
    return math.floor(x)


# (m, q, lo0, jitter[, exact intervals[, spacing between the positions a window reads]])
Step = (
    tuple[float, float, float, float]
    | tuple[float, float, float, float, Any]
    | tuple[float, float, float, float, Any, int]
)


def _exact(taps: Sequence[tuple[int, float, float]], n_out: int) -> tuple[tuple[int, int], ...]:
    """The enumerated intervals as ints, when they cover every output position."""
    if len(taps) != n_out:
        return ()
    return tuple((int(lo), int(hi)) for _, lo, hi in taps)


def _resample_step(mode: str, n_in: int, n_out: int, align: bool, antialias: bool) -> Step:
    """(m, q, lo0, tolerance, intervals) of an interpolation along one axis (PyTorch
    index rules); ``intervals`` are the true ones of every output position.

    From a single pixel every output pixel reads that pixel: a broadcast, stride 0.
    """
    if n_in == 1:
        return 0.0, 0.0, 0.0, 0.0, tuple((0, 0) for _ in range(min(n_out, _MAX_SAMPLES)))
    if n_in == n_out:
        return 0.0, 1.0, 0.0, 0.0
    taps_of: list[tuple[int, float, float]] = []
    if align and mode != "nearest":
        scale = Fraction(n_in - 1, n_out - 1) if n_out > 1 else Fraction(0)
    else:
        scale = Fraction(n_in, n_out)
    interp = 4 if mode == "bicubic" else 2
    for j in _positions(n_out):
        if mode == "nearest":
            lo = hi = _floor(j * scale)
        elif mode == "nearest-exact":
            lo = hi = _floor((j + Fraction(1, 2)) * scale)
        elif antialias and scale > 1:
            support = Fraction(interp, 2) * scale
            centre = scale * (j + Fraction(1, 2))
            lo = _floor(centre - support + Fraction(1, 2))
            hi = _floor(centre + support + Fraction(1, 2)) - 1
        else:
            src = j * scale if align else (j + Fraction(1, 2)) * scale - Fraction(1, 2)
            i0 = _floor(src)
            if src == i0:
                lo = hi = i0
            elif interp == 4:
                lo, hi = i0 - 1, i0 + 2
            else:
                lo, hi = i0, i0 + 1
        taps_of.append((j, float(lo), float(hi)))
    q = float(scale)
    m, lo0, jit = _fit(taps_of, q)
    return m, q, lo0, jit, _exact(taps_of, n_out)


def _adaptive_step(n_in: int, n_out: int) -> Step:
    """Adaptive pooling windows ``[⌊j·I/O⌋, ⌈(j+1)·I/O⌉ − 1]`` as an affine step.

    Exact (kernel = stride = I/O) when O divides I; otherwise the fitted stride is the
    fractional ``I/O`` and the tolerance says how far windows drift from it (a pool with
    stride ⌊I/O⌋ and kernel ⌈I/O⌉ would drift by up to O·(I/O − ⌊I/O⌋) pixels).
    """
    if n_in == 1:  # broadcast of one pixel
        return 0.0, 0.0, 0.0, 0.0, tuple((0, 0) for _ in range(min(n_out, _MAX_SAMPLES)))
    if n_in == n_out:
        return 0.0, 1.0, 0.0, 0.0
    taps = []
    for j in _positions(n_out):
        lo = (j * n_in) // n_out
        hi = -(-((j + 1) * n_in) // n_out) - 1
        taps.append((j, float(lo), float(hi)))
    q = n_in / n_out
    m, lo0, jit = _fit(taps, q)
    return m, q, lo0, jit, _exact(taps, n_out)


def _transposed_step(k: int, s: int, p: int, d: int, n_out: int = 0) -> Step:
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
    every = [(j, reads(j)) for j in range(min(n_out, _MAX_SAMPLES))]
    exact = tuple((min(r), max(r)) for _, r in every) if all(r for _, r in every) else ()
    # Consecutive taps that land on an input differ by s/g in t, so by d/g in the input.
    spacing = d // math.gcd(s, d) if s > 0 and d > 0 else 1
    return m, 1.0 / s, lo0, jit, exact if len(exact) == n_out else (), spacing


# ---------------------------------------------------------------------------------------
# the pass


class _Pass:
    def __init__(self, graph: ir.Graph) -> None:
        self.graph = graph
        self.first_spatial = 2  # dim of the first spatial axis in the graph input
        spatial = tuple(int(s) for s in graph.input_spatial)
        if (
            graph.inputs
            and len(graph.inputs[0].shape) >= 2
            and _window_rank(graph) == len(graph.inputs[0].shape) - 1
        ):
            # an unbatched [C, H, W] image (detection models) or a [N, F, T] signal that
            # the model unsqueezes for 2-d convs: both leading-dim-free axes are spatial
            self.first_spatial = 1
            spatial = tuple(int(s) for s in graph.inputs[0].shape[1:])
        self.input_size: tuple[int, ...] = spatial
        self.nd = len(self.input_size)
        self.states: dict[int, _T] = {}
        self.misalignments: list[Misalignment] = []
        self.shape: dict[int, tuple[int, ...]] = {t.id: t.shape for t in graph.tensors}
        self.storage: dict[int, int] = {t.id: t.storage for t in graph.tensors}
        # in-place writes: storage → (node id, tensor id written, its state)
        self.writes: dict[int, tuple[int, int, _T]] = {}
        self.seen_write: dict[int, int] = {}
        self.reported: dict[int, tuple[_T, NodeRF]] = {}

    # -- helpers -------------------------------------------------------------------------
    def start(self) -> _T:
        nd = self.nd
        rf = NodeRF(
            size=(1.0,) * nd,
            min_size=(1.0,) * nd,
            stride=(1.0,) * nd,
            padding=(0.0,) * nd,
            is_global=False,
        )
        pos = tuple((tuple(range(n)), tuple(range(n)), (False,) * n) for n in self.input_size)
        return _T(rf=rf, layout=None, jitter=(0.0,) * nd, approx=False, pos=pos)

    def lost(self, ins: Sequence[_T], *, approx: bool = False) -> _T:
        """Spatial structure lost: global, no layout; geometry of the largest input kept."""
        base = self.merge_plain(ins)
        return _with(base, layout=None, is_global=True, approx=approx)

    def merge_plain(self, ins: Sequence[_T]) -> _T:
        """Largest input (by RF area); min_size the smallest; global / approx if any."""
        best = max(ins, key=lambda t: _area(t.rf.size))
        nd = self.nd
        rf = NodeRF(
            size=best.rf.size,
            min_size=tuple(min(t.rf.min_size[a] for t in ins) for a in range(nd)),
            stride=best.rf.stride,
            padding=best.rf.padding,
            is_global=any(t.rf.is_global for t in ins),
        )
        jit = tuple(max(t.jitter[a] for t in ins) for a in range(nd))
        return _T(
            rf=rf,
            layout=best.layout,
            jitter=jit,
            approx=any(t.approx for t in ins),
            anchor=best.anchor,
            coarse=best.coarse,
            pos=best.pos,
        )

    # -- walk ----------------------------------------------------------------------------
    def run(self) -> ReceptiveField:
        g = self.graph
        if self.nd == 0:
            return ReceptiveField(
                per_tensor=MappingProxyType({}),
                per_node=MappingProxyType({}),
                per_layer=MappingProxyType({}),
                output=None,
                input_size=(),
                misalignments=(),
            )
        for t in g.inputs:
            if len(t.shape) == self.nd + self.first_spatial:
                s = self.start()
                lay = (
                    _standard(t.shape, self.nd)
                    if self.first_spatial == 2
                    else (((_OTHER, t.shape[0]),), *(((a, n),) for a, n in enumerate(t.shape[1:])))
                )
                self.states[t.id] = _T(
                    rf=s.rf,
                    layout=lay,
                    jitter=s.jitter,
                    approx=False,
                    anchor=s.anchor,
                    coarse=s.coarse,
                    pos=s.pos,
                )
        per_node: dict[int, NodeRF] = {}
        per_layer: dict[str, _T] = {}
        for node in g.nodes:
            if node.kind is ir.OpKind.CREATE or not node.outputs:
                continue
            for i in dict.fromkeys(node.inputs):
                self.read(i)
            in_ids = [i for i in dict.fromkeys(node.inputs) if i in self.states]
            if not in_ids:
                continue
            try:
                outs = self.apply(node, in_ids)
            except Exception:  # never raise on odd graphs: conservative global
                outs = [self.lost([self.states[i] for i in in_ids], approx=True)]
            for k, o in enumerate(node.outputs):
                st = outs[k] if k < len(outs) else outs[0]
                if st.layout is not None and len(st.layout) != len(o.shape):
                    st = _with(st, layout=_fix(st.layout, o.shape, outs[0].layout))
                    if st.layout is None:
                        st = _with(st, layout=None, is_global=True, approx=True)
                self.states[o.id] = st
                if o.storage != o.id and node.kind is not ir.OpKind.VIEW:
                    self.writes[o.storage] = (node.id, o.id, st)  # in-place write
            first = self.states[node.outputs[0].id]
            per_node[node.id] = self.report(first)
            for path in _ancestors(node.module):
                per_layer[path] = first
        return self.result(per_node, per_layer)

    def read(self, tid: int) -> None:
        """Fold an in-place write into a tensor read after it through another alias
        (``buf = zeros(...); buf[:, :c].copy_(x); conv(buf)``)."""
        storage = self.storage.get(tid, tid)
        w = self.writes.get(storage)
        if w is None or w[1] == tid or self.seen_write.get(tid) == w[0]:
            return
        prod = self.graph.producer.get(tid)
        if prod is not None and prod.id >= w[0]:
            return
        self.seen_write[tid] = w[0]
        written = _adapt(w[2], self.shape.get(w[1], ()), self.shape.get(tid, ()))
        own = self.states.get(tid)
        if own is None or own.layout is None or written.layout is None:
            self.states[tid] = written if own is None else self.merge_plain([own, written])
            return
        self.states[tid] = self.merge(None, [own, written], own.layout)

    def report(self, t: _T) -> NodeRF:
        """The RF of a state as reported: where the exact per-position intervals are known,
        ``size`` is their largest (over positions, the module doc's promise), and they are
        attached as ``positions``."""
        done = self.reported.get(id(t))
        if done is not None and done[0] is t:
            return done[1]
        rf = t.rf
        # positions count only where they still describe the axis as this tensor holds it
        where = _axis_positions(t.layout, self.nd) if t.layout is not None else {}
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
        self.reported[id(t)] = (t, rf)
        return rf

    def result(self, per_node: dict[int, NodeRF], per_layer: dict[str, _T]) -> ReceptiveField:
        outs = [self.states[t] for t in self.graph.outputs if t in self.states]
        output = None
        if outs:
            output = max(
                (self.report(t) for t in outs), key=lambda rf: (rf.is_global, _area(rf.size))
            )
        dims: dict[str, tuple[int, ...]] = {}
        tol: dict[str, tuple[float, ...]] = {}
        approx: set[str] = set()
        for path, st in per_layer.items():
            d = _layout_dims(st.layout, self.nd)
            if d is not None:
                dims[path] = d
            tol[path] = st.jitter
            if st.approx:
                approx.add(path)
        return ReceptiveField(
            per_tensor=MappingProxyType({k: self.report(v) for k, v in self.states.items()}),
            per_node=MappingProxyType(per_node),
            per_layer=MappingProxyType({k: self.report(v) for k, v in per_layer.items()}),
            output=output,
            input_size=self.input_size,
            misalignments=tuple(self.misalignments),
            layer_dims=MappingProxyType(dims),
            layer_tolerance=MappingProxyType(tol),
            approximate=frozenset(approx),
        )

    # -- dispatch ------------------------------------------------------------------------
    def apply(self, node: ir.Node, in_ids: list[int]) -> list[_T]:
        ins = [self.states[i] for i in in_ids]
        shapes = [self.shape.get(i, ()) for i in in_ids]
        out_shapes = [o.shape for o in node.outputs]
        k, a = node.kind, node.attrs
        K = ir.OpKind
        if k is K.ATTENTION:
            lay = ins[0].layout if shapes[0] == out_shapes[0] else None
            return [_with(self.merge_plain(ins), layout=lay, is_global=True)]
        if k is K.CONV and isinstance(a, ir.ConvAttrs):
            return [self.conv(node, a, ins, shapes, out_shapes[0])]
        if k is K.POOL and isinstance(a, ir.PoolAttrs):
            steps: list[Step] = [
                (float(d * (kk - 1)), float(s), float(-p), 0.0, None, d)
                for kk, s, p, d in zip(a.kernel, a.stride, a.padding, a.dilation, strict=True)
            ]
            return [self.spatial(ins[0], shapes[0], out_shapes[0], steps, mixes_channels=False)]
        if k is K.ADAPTIVE_POOL:
            return [self.adaptive(ins[0], shapes[0], out_shapes[0])]
        if k is K.UPSAMPLE and isinstance(a, ir.UpsampleAttrs):
            return [self.upsample(node, a, ins[0], shapes[0], out_shapes[0])]
        if k is K.PAD and isinstance(a, ir.PadAttrs):
            steps = [(0.0, 1.0, float(-before), 0.0) for before, _ in a.pads]
            return [self.spatial(ins[0], shapes[0], out_shapes[0], steps, mixes_channels=False)]
        if k is K.REDUCE and isinstance(a, ir.ReduceAttrs):
            return [self.reduce(a, ins[0], shapes[0], out_shapes)]
        if k is K.LINEAR and isinstance(a, ir.LinearAttrs):
            return [self.linear(a, ins, shapes, out_shapes[0])]
        if k is K.VIEW:
            return self.view(node, ins[0], shapes[0], out_shapes)
        if k is K.CAT:
            return [self.cat(node, ins, in_ids, out_shapes[0])]
        if k is K.COPY:
            return [self.copy(node, ins, in_ids, shapes, out_shapes[0])]
        if k is K.SOFTMAX:
            t = self.pointwise(node, ins, shapes, out_shapes[0], exact=True)
            if t.layout is not None and t.layout and _dim_axis(t.layout[-1]) == _MERGED:
                return [_with(t, keep_layout=True, is_global=True)]
            return [t]
        if k in (K.NORM, K.ACTIVATION, K.ELEMENTWISE, K.DROPOUT, K.EMBEDDING):
            return [self.pointwise(node, ins, shapes, out_shapes[0], exact=True)]
        return [self.pointwise(node, ins, shapes, out_shapes[0], exact=False)]

    # -- window ops ----------------------------------------------------------------------
    def spatial(
        self,
        t: _T,
        in_shape: Sequence[int],
        out_shape: Sequence[int],
        steps: Sequence[Step],
        *,
        mixes_channels: bool,
        channel_out: int | None = None,
    ) -> _T:
        """Apply per-dim steps to dims 2.. of a ``[N, C, *spatial]`` op input."""
        layout = t.layout
        if layout is None:
            return t
        if len(layout) != len(steps) + 2 or len(out_shape) != len(layout):
            return self.lost([t], approx=True)
        acc = _Acc(t)
        out: list[Dim] = [layout[0] if out_shape[0] == in_shape[0] else ((_OTHER, out_shape[0]),)]
        if mixes_channels and _has_spatial(layout[1]):
            acc.is_global = True  # channels hold flattened spatial positions: mixed
        if mixes_channels or out_shape[1] != in_shape[1]:
            out.append(((_OTHER, out_shape[1]),))
        else:
            out.append(layout[1])
        for q, st in enumerate(steps):
            m, stride, lo0, jit = st[:4]
            ivals = (st[4] or None) if len(st) > 4 else None
            spacing = int(st[5]) if len(st) > 5 else 1
            d = q + 2
            axis = _dim_axis(layout[d])
            if axis is None:
                if in_shape[d] != out_shape[d] or m != 0 or stride != 1 or lo0 != 0:
                    # A window over a dim the layout lost track of (size-1 dims squeezed
                    # ambiguously, the axis parked in the batch dim) may be a spatial axis:
                    # the positions of every axis not in a window dim are no longer known.
                    tracked = {_dim_axis(dim) for dim in layout[2:]}
                    for lost in range(len(acc.pos)):
                        if lost not in tracked and acc.pos[lost] is not None:
                            acc.pos[lost] = None
                            acc.approx = True
                out.append(((_OTHER, out_shape[d]),))
            elif axis == _MERGED:
                if m == 0 and stride == 1 and lo0 == 0 and in_shape[d] == out_shape[d]:
                    out.append(layout[d])
                else:
                    return self.lost([t], approx=False)
            else:
                acc.step(
                    axis,
                    m,
                    stride,
                    lo0,
                    jit,
                    n_in=in_shape[d],
                    n_out=out_shape[d],
                    intervals=ivals,
                    spacing=spacing,
                )
                out.append(((axis, out_shape[d]),))
        return acc.freeze(tuple(out))

    def conv(
        self,
        node: ir.Node,
        a: ir.ConvAttrs,
        ins: list[_T],
        shapes: list[tuple[int, ...]],
        out_shape: Sequence[int],
    ) -> _T:
        steps: list[Step] = []
        for i, kk in enumerate(a.kernel):
            s, p, d = a.stride[i], a.padding[i], a.dilation[i]
            if a.transposed:
                steps.append(_transposed_step(kk, s, p, d, out_shape[i + 2]))
            else:
                steps.append((float(d * (kk - 1)), float(s), float(-p), 0.0, None, d))
        mixes = not (a.groups == a.in_channels and a.groups > 1)
        t = self.spatial(ins[0], shapes[0], out_shape, steps, mixes_channels=mixes)
        if len(ins) > 1:  # weights computed from the image (dynamic filters): global
            t = _with(self.merge_plain([t, *ins[1:]]), layout=t.layout, is_global=True)
        return t

    def adaptive(self, t: _T, in_shape: Sequence[int], out_shape: Sequence[int]) -> _T:
        if t.layout is None:
            return t
        spatial_in = in_shape[2:]
        spatial_out = out_shape[2:]
        if (
            len(spatial_in) == len(spatial_out)
            and all(o == 1 for o in spatial_out)
            and any(i > 1 for i in spatial_in)
        ):
            lay = tuple(t.layout[:2]) + tuple(
                ((ax, 1),) if (ax := _dim_axis(dim)) is not None and ax >= 0 else ((_OTHER, 1),)
                for dim in t.layout[2:]
            )
            return _with(t, layout=lay, is_global=True)
        steps = [_adaptive_step(i, o) for i, o in zip(spatial_in, spatial_out, strict=True)]
        return self.spatial(t, in_shape, out_shape, steps, mixes_channels=False)

    def upsample(
        self,
        node: ir.Node,
        a: ir.UpsampleAttrs,
        t: _T,
        in_shape: Sequence[int],
        out_shape: Sequence[int],
    ) -> _T:
        packet = op_name(node)
        mode = a.mode
        if mode == "nearest" and "exact" in packet:
            mode = "nearest-exact"
        aa = packet.endswith("_aa")
        steps = [
            _resample_step(mode, i, o, a.align_corners, aa)
            for i, o in zip(in_shape[2:], out_shape[2:], strict=True)
        ]
        return self.spatial(t, in_shape, out_shape, steps, mixes_channels=False)

    # -- reductions / contractions --------------------------------------------------------
    def reduce(
        self,
        a: ir.ReduceAttrs,
        t: _T,
        in_shape: Sequence[int],
        out_shapes: Sequence[tuple[int, ...]],
    ) -> _T:
        layout = t.layout
        if layout is None:
            return t
        dims = set(a.dims)
        if out_shapes and tuple(out_shapes[0]) == tuple(in_shape):
            return self.scan(dims, t, in_shape)
        pooled: list[tuple[int, int]] = []  # (axis, size) reduced away
        merged = False
        for d in dims:
            if d < len(layout) and _has_spatial(layout[d]):
                ax = _dim_axis(layout[d])
                if ax is None or ax == _MERGED:
                    merged = True
                else:
                    pooled.append((ax, in_shape[d]))
        present = [ax for ax, (_, n) in _axis_positions(layout, self.nd).items() if n > 1]
        new: list[Dim] = []
        for d, atoms in enumerate(layout):
            if d in dims:
                if a.keepdim:
                    ax = _dim_axis(atoms)
                    new.append(((ax, 1),) if ax is not None and ax >= 0 else ((_OTHER, 1),))
            else:
                new.append(atoms)
        out_layout: Layout | None = tuple(new)
        if out_shapes and out_layout is not None and len(out_layout) != len(out_shapes[0]):
            out_layout = _fix(out_layout, out_shapes[0], None)
        if merged or (pooled and {ax for ax, _ in pooled} >= set(present)):
            return _with(t, layout=out_layout, is_global=True)
        acc = _Acc(t)
        for ax, n in pooled:
            acc.step(ax, float(n - 1), float(n), 0.0, n_in=n, n_out=1)
        return acc.freeze(out_layout)

    def scan(self, dims: set[int], t: _T, in_shape: Sequence[int]) -> _T:
        """A size-preserving reduction (cumsum / cummax scans, sort): output pixel j reads
        pixels 0..j (scans) or the whole axis (sort). Bounded by the window
        ``[j − (n−1), j + (n−1)]``, which holds both, and flagged approximate."""
        layout = t.layout
        assert layout is not None
        acc = _Acc(t)
        acc.approx = True
        for d in dims:
            if d < len(layout) and _has_spatial(layout[d]):
                ax = _dim_axis(layout[d])
                if ax is None or ax == _MERGED:
                    return _with(t, keep_layout=True, is_global=True, approx=True)
                n = float(in_shape[d])
                acc.step(ax, 2.0 * (n - 1.0), 1.0, -(n - 1.0), n_in=in_shape[d], n_out=in_shape[d])
        return acc.freeze(layout)

    def linear(
        self,
        a: ir.LinearAttrs,
        ins: list[_T],
        shapes: list[tuple[int, ...]],
        out_shape: Sequence[int],
    ) -> _T:
        if len(ins) >= 2:  # activation × activation: token mixing / attention scores
            bmm = _bmm_layout(ins[0].layout, ins[1].layout, out_shape)
            return _with(self.merge_plain(ins), layout=bmm, is_global=True)
        t, shape = ins[0], shapes[0]
        if t.layout is None or not shape:
            return t
        if shape[-1] == a.k:
            cd = len(shape) - 1
        elif len(shape) >= 2 and shape[-2] == a.k:
            cd = len(shape) - 2
        else:
            return self.lost([t], approx=True)
        if len(out_shape) != len(shape):
            return self.lost([t], approx=True)
        glob = _has_spatial(t.layout[cd])
        lay = list(t.layout)
        lay[cd] = ((_OTHER, out_shape[cd]),)
        for d in range(len(lay)):
            if d != cd and out_shape[d] != shape[d]:
                lay[d] = ((_OTHER, out_shape[d]),)
        return _with(t, layout=tuple(lay), is_global=True if glob else None)

    # -- merges --------------------------------------------------------------------------
    def merge(
        self,
        node: ir.Node | None,
        ins: Sequence[_T],
        out_layout: Layout,
        skip_axes: Iterable[int] = (),
        exact: bool = True,
    ) -> _T:
        """Elementwise / concat merge; records misalignments (unless ``node`` is None)."""
        if len(ins) == 1:
            t = ins[0]
            return _T(
                rf=t.rf,
                layout=out_layout,
                jitter=t.jitter,
                approx=t.approx or not exact,
                anchor=t.anchor,
                coarse=t.coarse,
                pos=t.pos,
            )
        nd = self.nd
        out_pos = _axis_positions(out_layout, nd)
        skip = set(skip_axes)
        base = self.merge_plain(ins)
        size, mins = list(base.rf.size), list(base.rf.min_size)
        stride, pad = list(base.rf.stride), list(base.rf.padding)
        centres = [base.centre(a) for a in range(nd)]
        coarse = list(base.coarse) if base.coarse else list(base.rf.stride)
        hulls: list[AxisPositions | None] = [None] * nd
        for a in range(nd):
            if a not in out_pos:
                continue
            n_out = out_pos[a][1]
            parts = []
            for t in ins:
                if t.layout is None:
                    continue
                pos = _axis_positions(t.layout, nd).get(a)
                if pos is not None and pos[1] == n_out and (t.rf.stride[a] > _TOL or n_out == 1):
                    parts.append(t)  # stride 0: broadcast of one pixel, not a branch
            if not parts:
                continue
            strides = [t.rf.stride[a] for t in parts]
            same_stride = all(_close(s, strides[0]) for s in strides)
            if same_stride:
                lo = min(-t.rf.padding[a] for t in parts)
                hi = max(-t.rf.padding[a] + t.rf.size[a] - 1 for t in parts)
                size[a], pad[a], stride[a] = hi - lo + 1, -lo, strides[0]
                centres[a] = parts[0].centre(a)
                if parts[0].coarse:
                    coarse[a] = parts[0].coarse[a]
                hulls[a] = _hull([t.pos[a] if t.pos else None for t in parts], n_out)
            else:
                best = max(parts, key=lambda t: t.rf.size[a])
                size[a], pad[a], stride[a] = best.rf.size[a], best.rf.padding[a], best.rf.stride[a]
            if len(parts) > 1 and a not in skip and node is not None:
                offsets = [t.centre(a) for t in parts]
                spread = max(offsets) - min(offsets)
                if not same_stride or spread > _TOL * max(1.0, max(abs(o) for o in offsets)):
                    self.misalignments.append(
                        Misalignment(
                            node=node.id,
                            module=node.module,
                            op=node.op,
                            axis=a,
                            kind="offset" if same_stride else "stride",
                            strides=tuple(strides),
                            offsets=tuple(offsets),
                            offset_px=spread,
                            coarse_px=max(
                                (t.coarse[a] if t.coarse else t.rf.stride[a]) for t in parts
                            ),
                            positions=n_out,
                        )
                    )
        rf = NodeRF(
            size=tuple(size),
            min_size=tuple(mins),
            stride=tuple(stride),
            padding=tuple(pad),
            is_global=base.rf.is_global,
        )
        return _T(
            rf=rf,
            layout=out_layout,
            jitter=base.jitter,
            approx=base.approx or not exact or bool(skip),
            anchor=tuple(c - rf.center_offset(a) for a, c in enumerate(centres)),
            coarse=tuple(coarse),
            pos=tuple(hulls),
        )

    def pointwise(
        self,
        node: ir.Node,
        ins: list[_T],
        shapes: list[tuple[int, ...]],
        out_shape: Sequence[int],
        *,
        exact: bool,
    ) -> _T:
        lay, changed = _broadcast_layout(ins, shapes, out_shape)
        if lay is None or changed:
            if any(t.layout is None for t in ins) and not changed:
                return self.lost(ins)
            return self.lost(ins, approx=not exact or changed)
        return self.merge(node, ins, lay, exact=exact)

    def cat(self, node: ir.Node, ins: list[_T], in_ids: list[int], out_shape: Sequence[int]) -> _T:
        shapes = [self.shape.get(i, ()) for i in in_ids]
        if any(t.layout is None for t in ins):
            return self.lost(ins)
        ref, ref_shape = ins[0], shapes[0]
        assert ref.layout is not None
        skip: list[int] = []
        if len(out_shape) == len(ref_shape):
            lay = list(ref.layout)
            for d, (m, n) in enumerate(zip(ref_shape, out_shape, strict=True)):
                if m != n:
                    ax = _dim_axis(ref.layout[d])
                    if ax is not None and ax >= 0:
                        skip.append(ax)  # concatenation along a spatial axis
                        lay[d] = ((ax, n),)
                    elif ax == _MERGED:
                        return self.lost(ins, approx=True)
                    else:
                        lay[d] = ((_OTHER, n),)
            return self.merge(node, ins, tuple(lay), skip_axes=skip)
        if len(out_shape) == len(ref_shape) + 1:  # stack
            for d in range(len(out_shape)):
                if tuple(out_shape[:d]) + tuple(out_shape[d + 1 :]) == tuple(ref_shape):
                    lay = list(ref.layout)
                    lay.insert(d, ((_OTHER, out_shape[d]),))
                    return self.merge(node, ins, tuple(lay))
        return self.lost(ins, approx=True)

    # -- views and copies ----------------------------------------------------------------
    def view(
        self, node: ir.Node, t: _T, in_shape: tuple[int, ...], out_shapes: Sequence[tuple[int, ...]]
    ) -> list[_T]:
        if t.layout is None:
            return [t]
        packet = op_name(node)
        outs: list[_T] = []
        offset = 0
        order = node.attrs.order if isinstance(node.attrs, ir.ViewAttrs) else None
        for shape in out_shapes:
            start = offset if packet in _SPLITS else None
            outs.append(self.view_one(packet, t, in_shape, shape, start, order))
            if packet in _SPLITS:
                diff = [d for d, (m, n) in enumerate(zip(in_shape, shape, strict=False)) if m != n]
                if diff:
                    offset += shape[diff[0]]
        return outs

    def view_one(
        self,
        packet: str,
        t: _T,
        in_shape: tuple[int, ...],
        shape: tuple[int, ...],
        start: int | None,
        order: tuple[int, ...] | None = None,
    ) -> _T:
        layout = t.layout
        assert layout is not None
        if shape == in_shape and packet not in _PERMUTES:
            return _with(t, keep_layout=True)
        if packet in _PERMUTES and order is not None and len(order) == len(layout):
            return _with(t, layout=tuple(layout[d] for d in order))
        if packet in _PERMUTES:
            lay = _permute(layout, in_shape, shape)
            if lay is not None:
                return _with(t, layout=lay)
        if _numel(shape) == _numel(in_shape):
            lay = _reshape(layout, shape)
            return _with(t, layout=lay) if lay is not None else self.lost([t])
        if len(shape) == len(in_shape):
            acc = _Acc(t)
            new: list[Dim] = []
            for d, (m, n) in enumerate(zip(in_shape, shape, strict=True)):
                if m == n:
                    new.append(layout[d])
                    continue
                ax = _dim_axis(layout[d])
                if ax is None or m == 1:
                    new.append(((_OTHER, n),))
                elif ax == _MERGED:
                    return self.lost([t])
                else:
                    if start is not None:
                        acc.step(ax, 0.0, 1.0, float(start), n_in=m, n_out=n)
                    else:
                        acc.step(ax, *_centre_crop_step(m, n), n_in=m, n_out=n)
                        acc.approx = True
                    new.append(((ax, n),))
            return acc.freeze(tuple(new))
        lay = _subsequence_layout(layout, in_shape, shape)
        return _with(t, layout=lay) if lay is not None else self.lost([t])

    def copy(
        self,
        node: ir.Node,
        ins: list[_T],
        in_ids: list[int],
        shapes: list[tuple[int, ...]],
        out_shape: tuple[int, ...],
    ) -> _T:
        packet = op_name(node)
        if packet in ("copy_", "copy") and len(ins) > 1:
            ins, shapes = ins[-1:], shapes[-1:]
        t, in_shape = ins[0], shapes[0]
        if (
            packet in ("pixel_shuffle", "pixel_unshuffle")
            and t.layout is not None
            and len(in_shape) >= 4
            and len(out_shape) == len(in_shape)
        ):
            sp = len(in_shape) - 2
            steps: list[Step] = []
            for d in range(2, len(in_shape)):
                if d < len(in_shape) - 2:
                    steps.append((0.0, 1.0, 0.0, 0.0))
                elif packet == "pixel_shuffle":
                    r = out_shape[d] // max(in_shape[d], 1)
                    taps = [(j, float(j // r), float(j // r)) for j in range(r * 2)]
                    m, lo0, jit = _fit(taps, 1.0 / r)
                    every = tuple((j // r, j // r) for j in range(out_shape[d]))
                    steps.append((m, 1.0 / r, lo0, jit, every))
                else:
                    r = in_shape[d] // max(out_shape[d], 1)
                    steps.append((float(r - 1), float(r), 0.0, 0.0))
            if len(steps) == sp:
                return self.spatial(t, in_shape, out_shape, steps, mixes_channels=True)
        return self.pointwise(node, ins, shapes, out_shape, exact=packet not in ("roll", "flip"))


# ---------------------------------------------------------------------------------------
# small helpers


def _area(size: Sequence[float]) -> float:
    out = 1.0
    for s in size:
        out *= s
    return out


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= _TOL * max(1.0, abs(a), abs(b))


def _ancestors(path: str) -> list[str]:
    """``"a.b.c"`` → ``["", "a", "a.b", "a.b.c"]``."""
    if not path:
        return [""]
    parts = path.split(".")
    return [""] + [".".join(parts[: i + 1]) for i in range(len(parts))]


def _window_rank(graph: ir.Graph) -> int:
    """Spatial rank of the first conv / pool of the graph (0 if none)."""
    for n in graph.nodes:
        if isinstance(n.attrs, (ir.ConvAttrs, ir.PoolAttrs)):
            return len(n.attrs.kernel)
    return 0


def _adapt(t: _T, src: Sequence[int], dst: Sequence[int]) -> _T:
    """State of a write into a region of shape ``src`` seen through an alias of shape
    ``dst`` (right-aligned dims; the write is assumed to start at offset 0)."""
    if t.layout is None or len(t.layout) != len(src):
        return t
    if tuple(src) == tuple(dst):
        return t
    extra = len(src) - len(dst)
    if extra > 0 and any(_has_spatial(d) for d in t.layout[:extra]):
        return _with(t, layout=None, is_global=True, approx=True)
    new: list[Dim] = []
    approx = False
    for d, n in enumerate(dst):
        e = d - (len(dst) - len(src))
        if e < 0:
            new.append(((_OTHER, n),))
            continue
        atoms = t.layout[e]
        if src[e] == n:
            new.append(atoms)
            continue
        ax = _dim_axis(atoms)
        if ax == _MERGED:
            return _with(t, layout=None, is_global=True, approx=True)
        if ax is not None and ax >= 0:
            new.append(((ax, n),))
            approx = True
        else:
            new.append(((_OTHER, n),))
    return _with(t, layout=tuple(new), approx=approx)


def _fix(layout: Layout, shape: Sequence[int], fallback: Layout | None) -> Layout | None:
    """Make a layout fit a shape of another rank (extra outputs of an op)."""
    if len(layout) == len(shape):
        return layout
    lay = (
        _reshape(layout, shape)
        if _numel([n for d in layout for _, n in d]) == _numel(shape)
        else None
    )
    if lay is not None:
        return lay
    if fallback is not None and len(fallback) == len(shape):
        return fallback
    return None


def _subsequence_layout(
    layout: Layout, in_shape: Sequence[int], out_shape: Sequence[int]
) -> Layout | None:
    """Layouts for views that drop dims (select, unbind) or add them (expand)."""
    if len(out_shape) < len(in_shape):
        # which input dims survive: greedy match of the output sizes, in order
        kept: list[int] = []
        j = 0
        for d, m in enumerate(in_shape):
            if (
                j < len(out_shape)
                and out_shape[j] == m
                and len(in_shape) - d - 1 >= len(out_shape) - j - 1
            ):
                kept.append(d)
                j += 1
        if j != len(out_shape):
            return None
        for d in range(len(in_shape)):
            if d not in kept and _has_spatial(layout[d]):
                return None  # selects one position of a spatial axis
        return tuple(layout[d] for d in kept)
    extra = len(out_shape) - len(in_shape)
    new: list[Dim] = [((_OTHER, n),) for n in out_shape[:extra]]
    for d, (m, n) in enumerate(zip(in_shape, out_shape[extra:], strict=True)):
        if m == n:
            new.append(layout[d])
        elif m == 1:
            new.append(((_OTHER, n),))
        else:
            return None
    return tuple(new)


def _broadcast_layout(
    ins: Sequence[_T], shapes: Sequence[Sequence[int]], out_shape: Sequence[int]
) -> tuple[Layout | None, bool]:
    """Output layout of a broadcasting op; ``changed`` when a spatial dim changed size."""
    nd_out = len(out_shape)
    dims: list[Dim] = []
    changed = False
    for d in range(nd_out):
        chosen: Dim | None = None
        seen_spatial = False
        for t, shape in zip(ins, shapes, strict=True):
            if t.layout is None or len(t.layout) != len(shape):
                continue
            k = d - (nd_out - len(shape))
            if k < 0:
                continue
            if shape[k] == out_shape[d]:
                chosen = t.layout[k]
                break
            if shape[k] != 1 and _has_spatial(t.layout[k]):
                seen_spatial = True
        if chosen is None:
            changed = changed or seen_spatial
            chosen = ((_OTHER, out_shape[d]),)
        dims.append(chosen)
    if all(t.layout is None for t in ins):
        return None, False
    return tuple(dims), changed


def _bmm_layout(a: Layout | None, b: Layout | None, out_shape: Sequence[int]) -> Layout | None:
    """``[..., m, k] @ [..., k, n]``: rows from the first operand, columns from the second."""
    if (
        a is None
        or b is None
        or len(out_shape) < 2
        or len(a) != len(out_shape)
        or len(b) != len(out_shape)
    ):
        return None
    return (*a[:-1], b[-1])


def receptive_field(graph: ir.Graph) -> ReceptiveField:
    """Receptive field of every tensor, node and layer of ``graph`` (see the module doc)."""
    try:
        return _Pass(graph).run()
    except Exception as exc:  # the counts still stand; the result says what went wrong
        nd = len(graph.input_spatial)
        return ReceptiveField(
            per_tensor=MappingProxyType({}),
            per_node=MappingProxyType({}),
            per_layer=MappingProxyType({}),
            output=None,
            input_size=tuple(int(s) for s in graph.input_spatial)[:nd],
            misalignments=(),
            failure=f"the receptive-field pass failed: {describe(exc)} (please report this bug)",
        )
