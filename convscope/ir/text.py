"""How ops are named in messages: the ATen packet, a kernel size, a one-phrase description.

Rules, the quant report and the cross-check all say "3×3 conv 16→32" or ``hardtanh`` the
same way because they all take the words from here.
"""

from __future__ import annotations

from collections.abc import Sequence

from convscope.ir import graph as ir

__all__ = ["describe", "kernel", "op_name", "packet"]


def packet(op: str) -> str:
    """``aten.addmm.default`` → ``addmm``: the op without namespace and overload."""
    parts = op.split(".")
    return parts[1] if len(parts) > 1 else op


def op_name(node: ir.Node) -> str:
    """The packet name of ``node``'s op (``hardtanh_`` for ``aten.hardtanh_.default``)."""
    return packet(node.op)


def kernel(k: Sequence[int]) -> str:
    """``(3, 3)`` → ``3×3``."""
    return "×".join(str(v) for v in k)


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
