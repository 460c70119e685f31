"""The builder of the ATen op table: it collects entries once, refuses a second entry for
the same op, and freezes into a read-only mapping."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType

from convscope.ir import graph as ir
from convscope.trace.adapters.args import Handler, no_attrs


class OpTable:
    """Collects entries once; a second entry for the same op is a bug, not an override."""

    def __init__(self) -> None:
        self.table: dict[str, tuple[ir.OpKind, Handler]] = {}

    def add(self, kind: ir.OpKind, names: Sequence[str], handler: Handler = no_attrs) -> None:
        for name in names:
            if name in self.table:
                raise ValueError(f"duplicate op handler for aten.{name}")
            self.table[name] = (kind, handler)

    def freeze(self) -> Mapping[str, tuple[ir.OpKind, Handler]]:
        return MappingProxyType(dict(self.table))
