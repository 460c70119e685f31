"""QF004 quant-unfriendly-activation."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from types import MappingProxyType

from convscope.ir import graph as ir
from convscope.linting.finding import Finding, Severity
from convscope.linting.rule import Option, Rule, RuleContext
from convscope.linting.rules._util import op_name

#: Activation names accepted in ``activations`` → the ATen packet names that implement them.
ACTIVATIONS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "silu": frozenset({"silu", "silu_"}),
        "hardswish": frozenset({"hardswish", "hardswish_"}),
        "prelu": frozenset({"_prelu_kernel", "prelu"}),
        "gelu": frozenset({"gelu", "gelu_"}),
        "mish": frozenset({"mish", "mish_"}),
        "elu": frozenset({"elu", "elu_"}),
        "selu": frozenset({"selu", "selu_"}),
        "celu": frozenset({"celu", "celu_"}),
        "leaky_relu": frozenset({"leaky_relu", "leaky_relu_"}),
        "sigmoid": frozenset({"sigmoid", "sigmoid_"}),
        "tanh": frozenset({"tanh", "tanh_"}),
        "hardsigmoid": frozenset({"hardsigmoid", "hardsigmoid_"}),
        "softplus": frozenset({"softplus"}),
        "relu6": frozenset({"hardtanh", "hardtanh_", "relu6"}),
    }
)
#: ReLU6 (hardtanh) directly after a depthwise conv (+ BatchNorm): Sheng et al. 2018.
RELU6_AFTER_DEPTHWISE = "relu6-after-depthwise"

_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "silu": "SiLU",
        "hardswish": "Hard-Swish",
        "prelu": "PReLU",
        "gelu": "GELU",
        "mish": "Mish",
        "elu": "ELU",
        "selu": "SELU",
        "celu": "CELU",
        "leaky_relu": "LeakyReLU",
        "sigmoid": "Sigmoid",
        "tanh": "Tanh",
        "hardsigmoid": "Hard-Sigmoid",
        "softplus": "Softplus",
        "relu6": "ReLU6",
        RELU6_AFTER_DEPTHWISE: "ReLU6 after depthwise conv + norm",
    }
)
_REASONS: Mapping[str, str] = MappingProxyType(
    {
        "silu": "a smooth, non-monotonic curve that INT8 kernels approximate with a lookup table "
        "or run in higher precision, and that cannot be fused into the preceding conv the "
        "way ReLU is",
        "hardswish": "a piecewise-quadratic curve that many INT8 back ends run as a separate op "
        "instead of fusing it into the conv",
        "prelu": "a learned per-channel negative slope that needs its own quantized parameters "
        "and is not fused into the preceding conv by most INT8 runtimes",
        "gelu": "a smooth curve evaluated with erf/tanh, usually by lookup table or in higher "
        "precision on INT8 hardware",
        "mish": "a smooth curve (x·tanh(softplus x)) with no native INT8 kernel on most back ends",
        "relu6": "a fixed clip at 6 that ignores the quantization range chosen for the tensor",
        RELU6_AFTER_DEPTHWISE: "the depthwise + BatchNorm + ReLU6 block is where MobileNetV1 "
        "lost its 8-bit accuracy (Sheng et al. 2018 removed BN and ReLU6 "
        "there)",
    }
)


class QuantUnfriendlyActivation(Rule):
    """Activations the target's INT8 pipeline handles badly (docs: the README)."""

    code = "QF004"
    name = "quant-unfriendly-activation"
    default_severity = Severity.INFO
    summary = "Activations that INT8 pipelines handle badly (target dependent)"
    options = (
        Option(
            "activations",
            list,
            ["silu", "hardswish", "prelu", "gelu", "mish"],
            profile_key="unfriendly-activations",
            choices=(*ACTIVATIONS, RELU6_AFTER_DEPTHWISE),
        ),
    )

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        wanted: tuple[str, ...] = ctx.option("activations")
        by_op = {op: name for name in wanted if name in ACTIVATIONS for op in ACTIVATIONS[name]}
        after_dw = RELU6_AFTER_DEPTHWISE in wanted
        target = ctx.profile.name
        hits: dict[tuple[str, str], list[ir.Node]] = {}
        for node in ctx.graph.nodes:
            if node.kind is not ir.OpKind.ACTIVATION:
                continue
            op = op_name(node)
            name = by_op.get(op)
            if (
                name is None
                and after_dw
                and op in ACTIVATIONS["relu6"]
                and self._after_depthwise(ctx, node)
            ):
                name = RELU6_AFTER_DEPTHWISE
            if name is not None:
                hits.setdefault((name, _site(ctx, node)), []).append(node)
        # One finding per activation kind and site: the fix (swap the activation in that
        # kind of block) is one change however many blocks repeat it.
        for (name, site), nodes in sorted(hits.items(), key=lambda kv: kv[1][0].id):
            layers = list(dict.fromkeys(n.module or "(root)" for n in nodes))
            shown = ", ".join(f"`{x}`" for x in layers[:3])
            more = f" and {len(layers) - 3} more" if len(layers) > 3 else ""
            label = _LABELS.get(name, name)
            yield ctx.finding(
                nodes[0],
                f"{label} after {site}, {len(nodes)} call{'s' if len(nodes) != 1 else ''} "
                f"({shown}{more}): {_REASONS.get(name, 'hard to quantize')} "
                f"(in unfriendly_activations of target {target})",
                values={"activation": name, "site": site, "calls": len(nodes)},
                suggestion=(
                    "use ReLU after the depthwise conv (or no activation), as in "
                    "Sheng et al.'s quantization-friendly separable conv"
                )
                if name == RELU6_AFTER_DEPTHWISE
                else "prefer ReLU where accuracy allows, or check that the target runtime has an "
                "INT8 kernel for this activation",
            )

    @staticmethod
    def _after_depthwise(ctx: RuleContext, node: ir.Node) -> bool:
        flow = ctx.flow
        src = flow.source(node, lambda n: n.kind in (ir.OpKind.NORM, ir.OpKind.VIEW))
        return src is not None and flow.is_depthwise(src)


def _site(ctx: RuleContext, node: ir.Node) -> str:
    """What the activation follows (norms and views skipped): the kind of block it is in."""
    flow = ctx.flow
    src = flow.source(node, lambda n: n.kind in (ir.OpKind.NORM, ir.OpKind.VIEW))
    if src is None:
        return "the model input"
    if flow.is_depthwise(src):
        return "a depthwise conv"
    if flow.conv(src) is not None:
        return "a 1×1 conv" if flow.conv(src).is_pointwise else "a conv"  # type: ignore[union-attr]
    if flow.linear(src) is not None:
        return "a linear layer"
    return f"`{op_name(src)}`"
