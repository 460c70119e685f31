"""Shape adapters: the dims a reduction or selection works along, read by argument name."""

from __future__ import annotations

import torch

from convscope.ir import graph as ir
from convscope.trace.classify import classify


def test_reductions_read_their_dims_by_name_across_overloads() -> None:
    x = torch.empty(2, 3, 4, 5)
    aten = torch.ops.aten
    # sum(x, dim, keepdim): negative dims are normalized and sorted
    assert classify(aten.sum.dim_IntList, (x, [-1, 1], True), {}, []) == (
        ir.OpKind.REDUCE,
        ir.ReduceAttrs(dims=(1, 3), keepdim=True),
    )
    # var(x, dim, *, correction, keepdim): dim is positional 1 here too, keepdim by keyword
    assert classify(aten.var.correction, (x, [2]), {"keepdim": False}, []) == (
        ir.OpKind.REDUCE,
        ir.ReduceAttrs(dims=(2,), keepdim=False),
    )
    # no dim argument: every dim; a binary overload: none
    assert classify(aten.sum.default, (x,), {}, [])[1] == ir.ReduceAttrs(
        dims=(0, 1, 2, 3), keepdim=False
    )
    assert classify(aten.max.other, (x, x), {}, [])[1] == ir.ReduceAttrs(dims=(), keepdim=False)


def test_selections_compare_along_the_last_dim_by_default() -> None:
    x = torch.empty(2, 3, 4)
    kind, attrs = classify(torch.ops.aten.topk.default, (x, 2), {}, [])
    assert (kind, attrs) == (ir.OpKind.REDUCE, ir.ReduceAttrs(dims=(2,), keepdim=True))
