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
    """## What it does
    Flags convolutions and linear layers whose input or output channel count is not a
    multiple of the target's ``alignment`` (8 for fp16 GPU tensor cores, 32 for Qualcomm
    HTP-class NPUs). The model's input channels (RGB) and the channels of the model's
    outputs (class count, mask count) are skipped: they are fixed by the task.

    ## Why is this bad?
    Matrix engines process channels in fixed-size tiles. NVIDIA's guide asks for channel
    counts divisible by 8 so fp16 convolutions can use tensor cores; Qualcomm's AIMET
    architecture checker asks for multiples of 32 on its NPUs. Misaligned widths are padded
    (wasted compute and memory) or fall back to slower kernels.

    ## Options
    - ``alignment`` (int, default 8; profile field ``channel-alignment``)
    """

    code = "HW001"
    name = "channel-alignment"
    default_severity = Severity.WARNING
    summary = "Channel counts not a multiple of the target's alignment"
    options = (
        Option(
            "alignment",
            int,
            8,
            "Channel multiple the target's matrix engine wants.",
            profile_key="channel-alignment",
            minimum=1,
        ),
    )

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        flow = ctx.flow
        align = ctx.option("alignment")
        if align <= 1:
            return
        target = ctx.profile.name
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
            if flow.reaches_output(node, lambda n: n.kind in _TO_OUTPUT):
                dims.pop("out_channels")  # classes / masks: fixed by the task
            if conv is not None and conv.is_depthwise and "in_channels" in dims:
                dims.pop("out_channels", None)  # one channel count for a depthwise conv
            bad = {k: v for k, v in dims.items() if v % align}
            if not bad:
                continue
            listed = " and ".join(f"{k} {v}" for k, v in bad.items())
            rounded = ", ".join(str(-(-v // align) * align) for v in bad.values())
            plural = "are not multiples" if len(bad) > 1 else "is not a multiple"
            yield ctx.finding(
                node,
                f"{describe(node)}: {listed} {plural} of {align} (target {target}); "
                f"aligned: {rounded}",
                values={**bad, "alignment": align},
                suggestion=f"round channel counts to multiples of {align} (e.g. adjust the "
                "width multiplier's rounding divisor)",
            )
