"""Small formatting helpers shared by the rules (no torch, no rich)."""

from __future__ import annotations

from convscope.fmt import human
from convscope.ir import graph as ir
from convscope.ir.text import describe, kernel, op_name

__all__ = [
    "count",
    "describe",
    "duration",
    "kernel",
    "layer",
    "nbytes",
    "op_name",
    "pct",
]


def layer(node: ir.Node) -> str:
    """The layer path of a node as shown in messages: ``features.3.conv.1`` or ``(root)``."""
    return node.module or "(root)"


def count(n: float) -> str:
    return human(n)


def nbytes(n: float) -> str:
    return human(n, "B", 1024)


def pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def duration(ms: float) -> str:
    """A predicted or measured time: ``1.23 ms``, ``45.6 µs`` below 0.01 ms."""
    return f"{ms:.3g} ms" if ms >= 0.01 else f"{ms * 1e3:.3g} µs"
