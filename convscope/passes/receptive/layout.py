"""Layouts: which spatial axes of the model input each dimension of a tensor holds.

A layout is a tuple of dimensions, each a tuple of atoms ``(label, size)``: label ``>= 0``
is a spatial axis of the model input, :data:`OTHER` a non-spatial part (batch, channels,
features). Views are followed through it, so a permute to channels-last and back, channel
slicing, or the ``[N·H·W, C]`` view that ``nn.Linear`` uses in ConvNeXt keep the RF; an
op that mixes along a flattened spatial dimension makes it global, and a view that cuts a
spatial axis apart (window partition) loses it (None: global, conservatively).

Pure functions from layouts and shapes to layouts; None where the structure is lost.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "MERGED",
    "OTHER",
    "PERMUTES",
    "SPLITS",
    "Atom",
    "Dim",
    "Layout",
    "axis_positions",
    "bmm",
    "broadcast",
    "dim_axis",
    "fit_rank",
    "has_spatial",
    "layout_dims",
    "numel",
    "permute",
    "reshape",
    "standard",
    "subsequence",
]

OTHER = -1  # atom label of a non-spatial part of a dimension (batch, channels, features)
MERGED = -2  # dim_axis result: a dimension holding a spatial axis merged with others

Atom = tuple[int, int]  # (label, size): label >= 0 is a spatial axis of the model input
Dim = tuple[Atom, ...]
Layout = tuple[Dim, ...]

PERMUTES = frozenset(
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
SPLITS = frozenset(
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


def standard(shape: Sequence[int], nd: int) -> Layout:
    """``[N, C, *spatial]``: dims 2.. hold spatial axes 0..nd-1."""
    dims: list[Dim] = []
    for d, n in enumerate(shape):
        a = d - 2
        dims.append(((a, n),) if 0 <= a < nd else ((OTHER, n),))
    return tuple(dims)


def dim_axis(atoms: Dim) -> int | None:
    """The spatial axis a dimension holds alone, None if none, :data:`MERGED` if merged."""
    nonunit = [a for a in atoms if a[1] != 1]
    spatial = [lab for lab, _ in nonunit if lab >= 0]
    if not spatial:
        unit = [lab for lab, _ in atoms if lab >= 0]
        return unit[0] if unit and not nonunit else None
    if len(nonunit) == 1:
        return spatial[0]
    return MERGED


def has_spatial(atoms: Dim) -> bool:
    return any(lab >= 0 and n != 1 for lab, n in atoms)


def axis_positions(layout: Layout, nd: int) -> dict[int, tuple[int, int]]:
    """Spatial axis → (dim, size) where the axis sits alone in a dimension."""
    out: dict[int, tuple[int, int]] = {}
    for d, atoms in enumerate(layout):
        a = dim_axis(atoms)
        if a is not None and a >= 0 and a not in out and a < nd:
            out[a] = (d, sum(n for lab, n in atoms if lab == a) if atoms else 1)
    return out


def layout_dims(layout: Layout | None, nd: int) -> tuple[int, ...] | None:
    """Tensor dims holding spatial axes 0..nd-1 when each sits alone (for verification)."""
    if layout is None or not layout or dim_axis(layout[0]) is not None:
        return None
    pos = axis_positions(layout, nd)
    if len(pos) != nd:
        return None
    dims = tuple(pos[a][0] for a in range(nd))
    return dims if len(set(dims)) == nd else None


def permute(layout: Layout, in_shape: Sequence[int], out_shape: Sequence[int]) -> Layout | None:
    """A permute whose dim order is unknown, matched by sizes."""
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


def reshape(layout: Layout, out_shape: Sequence[int]) -> Layout | None:
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
            out.append(cur or [(OTHER, 1)])
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


def numel(shape: Sequence[int]) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


def fit_rank(layout: Layout, shape: Sequence[int], fallback: Layout | None) -> Layout | None:
    """Make a layout fit a shape of another rank (extra outputs of an op)."""
    if len(layout) == len(shape):
        return layout
    lay = (
        reshape(layout, shape) if numel([n for d in layout for _, n in d]) == numel(shape) else None
    )
    if lay is not None:
        return lay
    if fallback is not None and len(fallback) == len(shape):
        return fallback
    return None


def subsequence(layout: Layout, in_shape: Sequence[int], out_shape: Sequence[int]) -> Layout | None:
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
            if d not in kept and has_spatial(layout[d]):
                return None  # selects one position of a spatial axis
        return tuple(layout[d] for d in kept)
    extra = len(out_shape) - len(in_shape)
    new: list[Dim] = [((OTHER, n),) for n in out_shape[:extra]]
    for d, (m, n) in enumerate(zip(in_shape, out_shape[extra:], strict=True)):
        if m == n:
            new.append(layout[d])
        elif m == 1:
            new.append(((OTHER, n),))
        else:
            return None
    return tuple(new)


def broadcast(
    layouts: Sequence[Layout | None], shapes: Sequence[Sequence[int]], out_shape: Sequence[int]
) -> tuple[Layout | None, bool]:
    """Output layout of a broadcasting op; ``changed`` when a spatial dim changed size."""
    nd_out = len(out_shape)
    dims: list[Dim] = []
    changed = False
    for d in range(nd_out):
        chosen: Dim | None = None
        seen_spatial = False
        for layout, shape in zip(layouts, shapes, strict=True):
            if layout is None or len(layout) != len(shape):
                continue
            k = d - (nd_out - len(shape))
            if k < 0:
                continue
            if shape[k] == out_shape[d]:
                chosen = layout[k]
                break
            if shape[k] != 1 and has_spatial(layout[k]):
                seen_spatial = True
        if chosen is None:
            changed = changed or seen_spatial
            chosen = ((OTHER, out_shape[d]),)
        dims.append(chosen)
    if all(layout is None for layout in layouts):
        return None, False
    return tuple(dims), changed


def bmm(a: Layout | None, b: Layout | None, out_shape: Sequence[int]) -> Layout | None:
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
