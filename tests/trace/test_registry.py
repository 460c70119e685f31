"""The op table's builder: a second entry for the same op is refused."""

from __future__ import annotations

import pytest

from convscope.ir import graph as ir
from convscope.trace.registry import OpTable


def test_duplicate_entries_are_refused() -> None:
    builder = OpTable()
    builder.add(ir.OpKind.ACTIVATION, ["relu"])
    with pytest.raises(ValueError, match=r"duplicate op handler for aten\.relu"):
        builder.add(ir.OpKind.ELEMENTWISE, ["relu"])
