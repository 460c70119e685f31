"""Classifying one ATen call through the table: namespaced keys, unknown ops."""

from __future__ import annotations

import pytest
import torch

from convscope.ir import graph as ir
from convscope.trace.classify import classify, key


def test_ops_of_other_namespaces_are_keyed_with_it() -> None:
    pytest.importorskip("torchvision")
    assert key(torch.ops.torchvision.nms.default) == "torchvision.nms"
    assert key(torch.ops.aten.mv.default) == "mv"
    kind, attrs = classify(
        torch.ops.torchvision.nms.default,
        (torch.zeros(5, 4), torch.zeros(5), 0.5),
        {},
        [torch.zeros(2, dtype=torch.long)],
    )
    assert kind is ir.OpKind.REDUCE and attrs == ir.NmsAttrs(boxes=5, kept=2)


def test_unregistered_op_is_unknown() -> None:
    kind, attrs = classify(torch.ops.aten.histc.default, (torch.empty(2, 2),), {}, [])
    assert kind is ir.OpKind.UNKNOWN and attrs == ir.NoAttrs()
