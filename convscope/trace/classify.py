"""Classify one ATen call: its :class:`~convscope.ir.graph.OpKind` and typed attrs, read
through the op table. An op that is not registered becomes ``OpKind.UNKNOWN``: listed in the
report with its count and owning layers, never zero.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from convscope.ir import graph as ir
from convscope.trace.table import REGISTRY


def _bind(func: Any, args: Sequence[Any], kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """Every argument of the call under its schema name (positional ones included)."""
    named = dict(kwargs)
    schema = getattr(func, "_schema", None)
    if schema is not None:
        for arg, value in zip(schema.arguments, args, strict=False):
            named.setdefault(arg.name, value)
    return named


def key(func: Any) -> str:
    """Registry key of an op: its packet name for ``aten``, ``namespace.name`` otherwise."""
    packet = func._overloadpacket.__name__
    namespace = getattr(func, "namespace", "aten")
    return packet if namespace == "aten" else f"{namespace}.{packet}"


def classify(
    func: Any, args: Sequence[Any], kwargs: Mapping[str, Any], outs: Sequence[torch.Tensor]
) -> tuple[ir.OpKind, ir.Attrs]:
    """Kind and attrs of one ATen call; unregistered ops are ``UNKNOWN`` with no attrs.

    Handlers see the positional arguments and every argument by schema name. A handler
    that cannot make sense of an unusual overload must not abort the trace: the op is then
    reported as ``UNKNOWN`` (listed, never silently zero).
    """
    entry = REGISTRY.get(key(func))
    if entry is None:
        return ir.OpKind.UNKNOWN, ir.NoAttrs()
    kind, handler = entry
    try:
        return kind, handler(args, _bind(func, args, kwargs), outs)
    except Exception:  # an adapter bug or an overload it does not know: unknown, not a crash
        return ir.OpKind.UNKNOWN, ir.NoAttrs()
