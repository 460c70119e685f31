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
    missing = [name for name in ops.REGISTRY if not hasattr(torch.ops.aten, name)]
    assert missing == []


def test_unregistered_op_is_unknown() -> None:
    kind, attrs = ops.classify(torch.ops.aten.histc.default, (torch.empty(2, 2),), {}, [])
    assert kind is ir.OpKind.UNKNOWN and attrs == ir.NoAttrs()
