"""The ATen op registry: read-only, no duplicates, and no names that torch doesn't have."""

from __future__ import annotations

import pytest
import torch

from convscope.ir import graph as ir
from convscope.trace import ops


def test_registry_is_read_only() -> None:
    with pytest.raises(TypeError):
        ops.REGISTRY["relu"] = (ir.OpKind.UNKNOWN, ops._no_attrs)  # type: ignore[index]


def test_duplicate_entries_are_refused() -> None:
    builder = ops._TableBuilder()
    builder.add(ir.OpKind.ACTIVATION, ["relu"])
    with pytest.raises(ValueError, match=r"duplicate op handler for aten\.relu"):
        builder.add(ir.OpKind.ELEMENTWISE, ["relu"])


def test_every_registered_name_is_an_aten_op() -> None:
    # A typo would silently turn a known op into "unknown"; torch knows the real names.
    pytest.importorskip("torchvision")  # registers the torchvision:: ops

    def exists(key: str) -> bool:
        namespace, _, name = key.rpartition(".")
        return hasattr(getattr(torch.ops, namespace or "aten"), name)

    missing = [key for key in ops.REGISTRY if not exists(key)]
    assert missing == []


def test_ops_of_other_namespaces_are_keyed_with_it() -> None:
    pytest.importorskip("torchvision")
    assert ops.key(torch.ops.torchvision.nms.default) == "torchvision.nms"
    assert ops.key(torch.ops.aten.mv.default) == "mv"
    kind, attrs = ops.classify(
        torch.ops.torchvision.nms.default,
        (torch.zeros(5, 4), torch.zeros(5), 0.5),
        {},
        [torch.zeros(2, dtype=torch.long)],
    )
    assert kind is ir.OpKind.REDUCE and attrs == ir.NmsAttrs(boxes=5, kept=2)


def test_unregistered_op_is_unknown() -> None:
    kind, attrs = ops.classify(torch.ops.aten.histc.default, (torch.empty(2, 2),), {}, [])
    assert kind is ir.OpKind.UNKNOWN and attrs == ir.NoAttrs()
