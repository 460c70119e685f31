"""Small formatting helpers shared by the rules (no torch, no rich)."""

from __future__ import annotations

from convscope.ir import graph as ir
from convscope.render.fmt import human


def layer(node: ir.Node) -> str:
    """The layer path of a node as shown in messages: ``features.3.conv.1`` or ``(root)``."""
    return node.module or "(root)"


def kernel(k: tuple[int, ...]) -> str:
    return "×".join(str(v) for v in k)


def op_name(node: ir.Node) -> str:
    """The ATen packet name: ``aten.hardtanh_.default`` → ``hardtanh_``."""
    parts = node.op.split(".")
    return parts[1] if len(parts) >= 2 and parts[0] == "aten" else node.op


def describe(node: ir.Node) -> str:
    """A short description of an op: ``3×3 conv 16→32``, ``depthwise 3×3 conv (96 ch)``."""
    a = node.attrs
    if node.kind is ir.OpKind.CONV and isinstance(a, ir.ConvAttrs):
        k = kernel(a.kernel)
        what = "transposed conv" if a.transposed else "conv"
        if a.is_depthwise:
            return f"depthwise {k} {what} ({a.in_channels} ch)"
        grouped = f", {a.groups} groups" if a.groups > 1 else ""
        return f"{k} {what} {a.in_channels}→{a.out_channels}{grouped}"
    if node.kind is ir.OpKind.LINEAR and isinstance(a, ir.LinearAttrs):
        return f"linear {a.k}→{a.n}" if a.weight else "matmul"
    if node.kind is ir.OpKind.POOL and isinstance(a, ir.PoolAttrs):
        return f"{kernel(a.kernel)} {a.kind}-pool"
    if node.kind is ir.OpKind.NORM and isinstance(a, ir.NormAttrs):
        return f"{a.kind} norm"
    return op_name(node).rstrip("_")


def count(n: float) -> str:
    return human(n)


def nbytes(n: float) -> str:
    return human(n, "B", 1024)


def pct(x: float) -> str:
    return f"{100 * x:.1f}%"
