"""DW001 narrow-depthwise."""

from __future__ import annotations

from collections.abc import Iterator

from convscope.ir import graph as ir
from convscope.ir.flow import Flow
from convscope.linting.finding import Finding, Severity
from convscope.linting.rule import Option, Rule, RuleContext
from convscope.linting.rules._util import describe, kernel, layer


class NarrowDepthwise(Rule):
    """Depthwise conv over too few channels for the target (docs: the README)."""

    code = "DW001"
    name = "narrow-depthwise"
    default_severity = Severity.WARNING
    summary = "Depthwise conv with too few channels or without an expansion before it"
    measure = ("channels", "lower")
    options = (
        Option("min_channels", int, 32, profile_key="min-depthwise-channels", minimum=1),
        Option("expansion_below", int, 0, minimum=0),
    )

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        flow = ctx.flow
        minimum = ctx.option("min_channels")
        for node in flow.nodes(flow.is_depthwise):
            a = flow.conv(node)
            if a is None:
                continue
            channels = a.in_channels
            narrow = channels < minimum
            check_expansion = channels < ctx.option("expansion_below")
            mixer = _nearest_mixer(flow, node) if check_expansion else None
            no_expansion = mixer is not None and not _expands(flow, mixer)
            if not (narrow or no_expansion):
                continue
            what = f"depthwise {kernel(a.kernel)} conv over {channels} channels"
            parts = []
            if narrow:
                parts.append(f"below min_channels={minimum}")
            if mixer is not None and no_expansion:
                parts.append(
                    f"no expanding channel mixer before it (nearest channel mixing: "
                    f"`{layer(mixer)}`, {describe(mixer)}; an expansion is expected "
                    f"below expansion_below={ctx.option('expansion_below')} channels)"
                )
            values: dict[str, int | str] = {"channels": channels, "min_channels": minimum}
            if mixer is not None:
                values["producer"] = layer(mixer)
            yield ctx.finding(
                node,
                f"{what}: {'; '.join(parts)}",
                values=values,
                suggestion=(
                    f"widen the block to at least {minimum} channels, or " if narrow else ""
                )
                + "put an expanding 1×1 conv (MobileNetV2 uses 6×) before "
                "the depthwise conv",
            )


def _nearest_mixer(flow: Flow, node: ir.Node) -> ir.Node | None:
    """The nearest channel-mixing producer of ``node``'s input, walking back through norms,
    activations, views, gates and spatial-only ops (pools, other depthwise convs). None when
    the walk reaches a merge or the model input first."""
    current = node
    for _ in range(len(flow.graph.nodes)):
        src = flow.source_through_transparent(current)
        if src is None or flow.is_merge(src):
            return None
        if flow.is_channel_mixing(src):
            return src
        if src.kind is ir.OpKind.POOL or flow.is_depthwise(src):
            current = src
            continue
        return None
    return None


def _expands(flow: Flow, node: ir.Node) -> bool:
    """A channel mixer with more outputs than inputs: a conv of any kernel (a 3→32 stem
    expands as much as a 1×1 does) or a linear layer."""
    conv = flow.conv(node)
    if conv is not None:
        return conv.out_channels > conv.in_channels
    lin = flow.linear(node)
    return lin is not None and lin.n > lin.k
