"""AR003 aliased-downsample."""

from __future__ import annotations

from collections.abc import Iterator

from convscope.ir import graph as ir
from convscope.ir.flow import Flow
from convscope.linting.finding import Finding, Severity
from convscope.linting.rule import Option, Rule, RuleContext
from convscope.linting.rules._util import describe, kernel, layer

_THROUGH = frozenset(
    {
        ir.OpKind.NORM,
        ir.OpKind.ACTIVATION,
        ir.OpKind.PAD,
        ir.OpKind.VIEW,
        ir.OpKind.DROPOUT,
        ir.OpKind.COPY,
    }
)


class AliasedDownsample(Rule):
    """Strided conv/pool without low-pass filtering outside the stem.

    Documented in its README in the rule catalog (``convscope rule CODE``).
    """

    code = "AR003"
    name = "aliased-downsample"
    default_severity = Severity.OFF
    enabled_severity = Severity.WARNING
    summary = "Strided conv/pool without low-pass filtering outside the stem"
    options = (Option("stem_layers", int, 2, minimum=0),)

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        flow = ctx.flow
        stem = ctx.option("stem_layers")
        spatial = [n for n in ctx.graph.nodes if flow.is_spatial(n)]
        hits: dict[str, list[tuple[int, ir.Node, ir.Node | None]]] = {}
        for index, node in enumerate(spatial):
            if index < stem or not _aliasing(flow, node):
                continue
            src = flow.source(node, lambda n: n.kind in _THROUGH or flow.is_activation(n))
            if src is not None and _low_pass(flow, src):
                continue
            hits.setdefault(node.module, []).append((index, node, src))
        for calls in hits.values():  # a module called several times is reported once
            index, node, src = calls[0]
            stride = _stride(node)
            shown = str(stride[0]) if len(set(stride)) == 1 else kernel(stride)
            times = f", called {len(calls)} times" if len(calls) > 1 else ""
            yield ctx.finding(
                node,
                f"{describe(node)} with stride {shown} (spatial op #{index + 1}{times}, "
                f"after the {stem}-op stem) subsamples without a low-pass filter before "
                "it, so high frequencies alias",
                values={
                    "stride": max(stride),
                    "spatial_index": index + 1,
                    "calls": len(calls),
                    "stem_layers": stem,
                    "producer": layer(src) if src else "input",
                },
                suggestion="blur before subsampling: stride 1 followed by a fixed blur with "
                "stride 2 (BlurPool), or an average pool before the strided op",
            )


def _stride(node: ir.Node) -> tuple[int, ...]:
    a = node.attrs
    if isinstance(a, (ir.ConvAttrs, ir.PoolAttrs)):
        return a.stride
    return (1,)


def _aliasing(flow: Flow, node: ir.Node) -> bool:
    """A strided k×k conv with learned weights or a strided max-pool."""
    if max(_stride(node)) <= 1:
        return False
    a = flow.conv(node)
    if a is not None:
        return not a.transposed and not a.is_pointwise and not flow.uses_fixed_weights(node)
    return isinstance(node.attrs, ir.PoolAttrs) and node.attrs.kind == "max"


def _low_pass(flow: Flow, node: ir.Node) -> bool:
    """An average pool or a fixed-weight (buffer) conv: a blur."""
    if isinstance(node.attrs, ir.PoolAttrs):
        return node.attrs.kind == "avg"
    return flow.conv(node) is not None and flow.uses_fixed_weights(node)
