"""RF004 misaligned-merge."""

from __future__ import annotations

from collections.abc import Iterator

from convscope.linting.finding import Finding, Severity
from convscope.linting.rule import Option, Rule, RuleContext
from convscope.linting.rules._rf import axes, px, receptive_field
from convscope.linting.rules._util import op_name
from convscope.passes.receptive.structure import Misalignment

_AXIS_NAMES = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}


class MisalignedMerge(Rule):
    """## What it does
    Reports an add, multiply or concatenation whose branches disagree on the geometry of
    their receptive fields: a different effective stride, or centre offsets (the input
    position of output pixel 0's receptive-field centre) that differ by more than
    ``min_offset_px`` input pixels. The message gives the offset in input pixels.

    ## Why is this bad?
    Feature ``(i, j)`` of one branch then describes a different image location than feature
    ``(i, j)`` of the other; the merge adds features of shifted windows. Typical causes:
    even kernels, asymmetric or missing padding in one branch, and ResNet-D shortcuts (a
    2×2 average pool, stride 2, before the 1×1 conv) next to a 3×3 stride-2 main branch.

    ## Options
    - ``min_offset_px`` (float, default 0.0)
    """

    code = "RF004"
    name = "misaligned-merge"
    default_severity = Severity.WARNING
    summary = "Add or concat whose branches differ in effective stride or centre offset"
    requires = frozenset({"receptive_field"})
    options = (
        Option(
            "min_offset_px",
            float,
            0.0,
            "Report centre offsets larger than this many input "
            "pixels (stride mismatches are always reported).",
            minimum=0.0,
        ),
    )

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        rf = receptive_field(ctx)
        limit = ctx.option("min_offset_px")
        by_node: dict[int, list[Misalignment]] = {}
        for m in rf.misalignments:
            if m.kind == "stride" or m.offset_px > limit + 1e-9:
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


def _describe(m: Misalignment) -> str:
    if m.kind == "stride":
        return f"branch strides {axes(m.strides)} differ"
    stride = m.strides[0]
    rel = f" ({px(m.offset_px / stride)} of a stride-{px(stride)} pixel)" if stride > 0 else ""
    return f"branch centres differ by {px(m.offset_px)} input pixels{rel}"
