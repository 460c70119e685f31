"""HW001 channel-alignment."""

from __future__ import annotations

from collections.abc import Iterator

from convscope.ir import graph as ir
from convscope.linting.finding import Finding, Severity
from convscope.linting.rule import Option, Rule, RuleContext
from convscope.linting.rules._util import describe

_TO_OUTPUT = frozenset(
    {
        ir.OpKind.VIEW,
        ir.OpKind.ACTIVATION,
        ir.OpKind.SOFTMAX,
        ir.OpKind.DROPOUT,
        ir.OpKind.NORM,
        ir.OpKind.COPY,
        ir.OpKind.REDUCE,
        ir.OpKind.ADAPTIVE_POOL,
        ir.OpKind.UPSAMPLE,
    }
)


class ChannelAlignment(Rule):
    """Channel widths not a multiple of the target's alignment (docs: the README)."""

    code = "HW001"
    name = "channel-alignment"
    default_severity = Severity.WARNING
    summary = "Channel counts not a multiple of the target's alignment"
    options = (Option("alignment", int, 8, profile_key="channel-alignment", minimum=1),)

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        flow = ctx.flow
        align = ctx.option("alignment")
        if align <= 1:
            return
        target = ctx.profile.name
        users: dict[int, list[ir.Node]] = {}
        for node in ctx.graph.nodes:
            conv, lin = flow.conv(node), flow.linear(node)
            if conv is not None:
                dims = {"in_channels": conv.in_channels, "out_channels": conv.out_channels}
            elif lin is not None:
                dims = {"in_channels": lin.k, "out_channels": lin.n}
            else:
                continue
            if flow.source_through_transparent(node) is None:
                dims.pop("in_channels")  # the model input (e.g. RGB)
            if flow.reaches_output(node, lambda n: n.kind in _TO_OUTPUT or flow.is_activation(n)):
                dims.pop("out_channels")  # classes / masks: fixed by the task
            if conv is not None and conv.is_depthwise and "in_channels" in dims:
                dims.pop("out_channels", None)  # one channel count for a depthwise conv
            for width in sorted({v for v in dims.values() if v % align}):
                users.setdefault(width, []).append(node)
        # One finding per misaligned width (a width multiplier's rounding repeats it in
        # many layers: one cause, one fix), at the first layer that uses it.
        for width, nodes in sorted(users.items(), key=lambda kv: kv[1][0].id):
            layers = list(dict.fromkeys(n.module for n in nodes))
            shown = ", ".join(f"`{name or '(root)'}`" for name in layers[:_SHOWN])
            more = f" and {len(layers) - _SHOWN} more" if len(layers) > _SHOWN else ""
            aligned = -(-width // align) * align
            yield ctx.finding(
                nodes[0],
                f"channel width {width} is not a multiple of {align} (target {target}): "
                f"{len(layers)} layer{'s' if len(layers) != 1 else ''} use it "
                f"({shown}{more}; first: {describe(nodes[0])}); aligned: {aligned}",
                values={"width": width, "alignment": align, "layers": len(layers)},
                suggestion=f"round channel counts to multiples of {align} (e.g. adjust the "
                "width multiplier's rounding divisor)",
            )


#: Layers named in one finding's message; the JSON has the count.
_SHOWN = 4
