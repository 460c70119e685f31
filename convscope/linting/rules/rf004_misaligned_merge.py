"""RF004 misaligned-merge."""

from __future__ import annotations

from collections.abc import Iterator

from convscope.linting.finding import Finding, Severity
from convscope.linting.rule import Option, Rule, RuleContext
from convscope.linting.rules._rf import axes, px, receptive_field
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
    options = (
        Option("min_offset_fraction", float, 0.5, minimum=0.0),
        Option("max_stride_ratio", float, 1.1, minimum=1.0),
    )

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        rf = receptive_field(ctx)
        fraction = ctx.option("min_offset_fraction")
        ratio = ctx.option("max_stride_ratio")
        by_node: dict[int, list[Misalignment]] = {}
        for m in rf.misalignments:
            if _reported(m, fraction, ratio):
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
            offset = max(m.offset_px for m in items)
            yield ctx.finding(
                node if node is not None else items[0].module,
                f"`{what}` merges misaligned branches: {'; '.join(parts)}",
                values={
                    "offset_px": round(offset, 6),
                    "kind": "stride" if any(m.kind == "stride" for m in items) else "offset",
                },
                suggestion="pad the branches symmetrically (odd kernels, padding k//2) so "
                "their windows share a centre, or align the shortcut's "
                "downsampling with the main branch",
            )


def _reported(m: Misalignment, fraction: float, ratio: float) -> bool:
    """A stride mismatch beyond ``ratio``, or a centre offset beyond ``fraction`` of one
    pixel of the coarsest grid a branch carried (the merged map's, or for an upsampled
    branch the map it was upsampled from)."""
    strides = [s for s in m.strides if s > 0]
    if m.kind == "stride":
        return bool(strides) and max(strides) / min(strides) > ratio + 1e-9
    # one pixel of the coarsest grid a branch carried: an upsampled branch cannot be
    # aligned more finely than the map it was upsampled from
    pixel = max([*strides, m.coarse_px]) if strides else 1.0
    return m.offset_px > fraction * pixel + 1e-9


def _describe(m: Misalignment) -> str:
    if m.kind == "stride":
        return f"branch strides {axes(m.strides)} differ"
    stride = m.strides[0]
    rel = f" ({px(m.offset_px / stride)} of a stride-{px(stride)} pixel)" if stride > 0 else ""
    return f"branch centres differ by {px(m.offset_px)} input pixels{rel}"
