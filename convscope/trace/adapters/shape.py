"""Adapters of the shape ops: views (with the dim order of a permute), slices, reductions
and selections along a dim."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from convscope.ir import graph as ir


def view(args: Sequence[Any], kwargs: Mapping[str, Any], outs: Sequence[torch.Tensor]) -> ir.Attrs:
    x = args[0] if args and isinstance(args[0], torch.Tensor) else None
    if x is None or not outs:
        return ir.ViewAttrs(flattens_spatial=False)
    y = outs[0]
    # A view that turns [N, C, H, W] into fewer dims merges spatial axes (flatten, tokens).
    return ir.ViewAttrs(flattens_spatial=x.dim() >= 3 and y.dim() < x.dim(), order=_order(x, y))


def _order(x: torch.Tensor, y: torch.Tensor) -> tuple[int, ...] | None:
    """For a view that only reorders dims, the input dim behind each output dim, read off
    the strides (a permutation moves sizes and strides together); None otherwise, or when
    two dims of the same size and stride cannot be told apart (only size-1 dims may)."""
    if x.dim() != y.dim() or x.dim() < 2 or sorted(x.shape) != sorted(y.shape):
        return None
    if tuple(x.shape) == tuple(y.shape) and x.stride() == y.stride():
        return None  # not a reordering (or one that changes nothing)
    used: set[int] = set()
    order = []
    for n, s in zip(y.shape, y.stride(), strict=True):
        same = [d for d in range(x.dim()) if d not in used and x.shape[d] == n]
        match = [d for d in same if x.stride(d) == s or n == 1]
        if not match or (len(match) > 1 and n != 1):
            return None
        used.add(match[0])
        order.append(match[0])
    return tuple(order)


def slice_(
    args: Sequence[Any], kwargs: Mapping[str, Any], outs: Sequence[torch.Tensor]
) -> ir.Attrs:
    # aten.slice.Tensor(self, dim=0, start=None, end=None, step=1)
    x = args[0] if args and isinstance(args[0], torch.Tensor) else None
    dim = int(args[1]) if len(args) > 1 else int(kwargs.get("dim", 0))
    step = args[4] if len(args) > 4 else kwargs.get("step", 1)
    if x is not None and x.dim() > 0:
        dim %= x.dim()
    return ir.SliceAttrs(dim=dim, step=int(step) if isinstance(step, int) else 1)


def reduce(
    args: Sequence[Any], kwargs: Mapping[str, Any], outs: Sequence[torch.Tensor]
) -> ir.Attrs:
    """Reductions, by argument *name* (``classify`` binds every argument to its schema name):
    positions differ between overloads (``var(x, dim, unbiased, keepdim)``,
    ``linalg_vector_norm(x, ord, dim, keepdim)``, ``norm(x, p, dim, keepdim)``).

    An overload without a ``dim`` argument reduces every dim (``sum(x)``, ``max(x)``),
    except the binary ones (``max(x, other)``), which are elementwise: no dim reduced.
    """
    x = args[0]
    ndim = x.dim() if isinstance(x, torch.Tensor) else 0
    if "dim" not in kwargs:
        dims = () if "other" in kwargs else tuple(range(ndim))
    else:
        dims = _dims(kwargs.get("dim"), ndim)
    return ir.ReduceAttrs(dims=dims, keepdim=bool(kwargs.get("keepdim", False)))


def select(
    args: Sequence[Any], kwargs: Mapping[str, Any], outs: Sequence[torch.Tensor]
) -> ir.Attrs:
    """``topk`` / ``sort`` / ``argsort`` / ``kthvalue``...: compare along one dim (default the
    last), which stays in the output; priced like a reduction over it."""
    x = args[0]
    ndim = x.dim() if isinstance(x, torch.Tensor) else 0
    dim = kwargs.get("dim", -1)
    return ir.ReduceAttrs(dims=_dims(-1 if dim is None else dim, ndim), keepdim=True)


def _dims(value: Any, ndim: int) -> tuple[int, ...]:
    """``dim`` as sorted non-negative ints; ``None`` / ``[]`` mean every dim."""
    if value is None or (isinstance(value, (list, tuple)) and not value):
        return tuple(range(ndim))
    raw = [value] if isinstance(value, int) else list(value)
    return tuple(sorted({int(d) % max(ndim, 1) for d in raw}))
