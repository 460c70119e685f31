"""RF004 misaligned-merge."""

from __future__ import annotations

from collections.abc import Iterator

from convscope.linting.finding import Finding, Severity, Value
from convscope.linting.rule import Option, Rule, RuleContext
from convscope.linting.rules._rf import px, receptive_field
from convscope.linting.rules._util import op_name
from convscope.passes.keys import RECEPTIVE_FIELD
from convscope.passes.receptive.result import Misalignment

_AXIS_NAMES = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}


class MisalignedMerge(Rule):
    """Add or concat whose branches differ in stride or centre offset (docs: the README)."""

    code = "RF004"
    name = "misaligned-merge"
    default_severity = Severity.WARNING
    summary = "Add or concat whose branches differ in effective stride or centre offset"
    requires = frozenset({RECEPTIVE_FIELD})
    options = (Option("min_offset_fraction", float, 0.5, minimum=0.0),)

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        rf = receptive_field(ctx)
        fraction = ctx.option("min_offset_fraction")
        by_node: dict[int, list[Misalignment]] = {}
        for m in rf.misalignments:
            if _reported(m, fraction):
                by_node.setdefault(m.node, []).append(m)
        nodes = {n.id: n for n in ctx.graph.nodes}
        names = _AXIS_NAMES.get(len(rf.input_size), ())
        for nid, items in sorted(by_node.items()):
            node = nodes.get(nid)
            what = op_name(node).rstrip("_") if node is not None else items[0].op
            texts: dict[str, list[str]] = {}  # description → axis names
            for m in sorted(items, key=lambda m: m.axis):
                axis = names[m.axis] if m.axis < len(names) else f"axis {m.axis}"
                texts.setdefault(_describe(m), []).append(axis)
            parts = [f"{text} on {' and '.join(on)}" for text, on in texts.items()]
            values: dict[str, Value] = {
                "offset_px": round(max(m.shift_px for m in items), 6),
                "kind": "offset",
            }
            if any(m.kind == "stride" for m in items):
                values["kind"] = "stride"
                values["stretch_px"] = round(max(m.stretch_px for m in items), 6)
            yield ctx.finding(
                node if node is not None else items[0].module,
                f"`{what}` merges misaligned branches: {'; '.join(parts)}",
                values=values,
                suggestion="pad the branches symmetrically (odd kernels, padding k//2) so "
                "their windows share a centre, align the shortcut's downsampling with the "
                "main branch, or resize a branch from a map that covers the whole image",
            )


def _pixel(m: Misalignment) -> float:
    """One pixel of the coarsest grid a branch carried (the merged map's, or for a resized
    branch the map it was resized from): no branch can be aligned more finely than that."""
    strides = [s for s in m.strides if s > 0]
    return max([*strides, m.coarse_px]) if strides else 1.0


def _reported(m: Misalignment, fraction: float) -> bool:
    """Branch grids translated by more than ``fraction`` of one coarse pixel (measured at
    the middle of the merged map), or stretched against each other by more than one coarse
    pixel across it. Equal strides only translate (the centre offset). Resizing between two
    grids over the same image stretches by less than a coarse pixel by construction (a
    corner-aligned resize maps the first and last pixel centres onto each other), the same
    at every input size; a branch cropped or resized to the wrong extent does not."""
    pixel = _pixel(m)
    return m.shift_px > fraction * pixel + 1e-9 or m.stretch_px > pixel + 1e-9


def _describe(m: Misalignment) -> str:
    pixel = _pixel(m)

    def rel(value: float) -> str:
        return f" ({px(value / pixel)} of a stride-{px(pixel)} pixel)"

    if m.kind == "stride":
        return (
            f"branch strides {', '.join(px(s) for s in m.strides)} differ: across the "
            f"{m.positions}-pixel map their grids stretch {px(m.stretch_px)} input pixels "
            f"apart{rel(m.stretch_px)}, and their centres are {px(m.shift_px)} input pixels "
            f"apart at its middle{rel(m.shift_px)}"
        )
    return f"branch centres differ by {px(m.offset_px)} input pixels{rel(m.offset_px)}"
