"""The ATen op table: read-only, and no names that torch doesn't have."""

from __future__ import annotations

import pytest
import torch

from convscope.ir import graph as ir
from convscope.trace.adapters.args import no_attrs
from convscope.trace.table import REGISTRY


def test_registry_is_read_only() -> None:
    with pytest.raises(TypeError):
        REGISTRY["relu"] = (ir.OpKind.UNKNOWN, no_attrs)  # type: ignore[index]


def test_every_registered_name_is_an_aten_op() -> None:
    # A typo would silently turn a known op into "unknown"; torch knows the real names.
    pytest.importorskip("torchvision")  # registers the torchvision:: ops

    def exists(key: str) -> bool:
        namespace, _, name = key.rpartition(".")
        return hasattr(getattr(torch.ops, namespace or "aten"), name)

    missing = [key for key in REGISTRY if not exists(key)]
    assert missing == []
