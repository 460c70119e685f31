"""RF002 early-pointwise."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from convscope.ir import graph as ir
from convscope.ir.flow import Flow
from convscope.linting.finding import Finding, Severity
from convscope.linting.rule import Option, Rule, RuleContext
from convscope.linting.rules._rf import axes, input_map, input_rf, receptive_field
from convscope.linting.rules._util import op_name, pct
from convscope.passes.keys import RECEPTIVE_FIELD
from convscope.passes.receptive.result import ReceptiveField

_MAX_VIEWS = 4  # views between a channels-last map and its linear layer (permute, reshape)


@dataclass(frozen=True)
class _Early:
    """Where a pointwise conv sits: its input RF and feature-map size."""

    rf: tuple[float, ...]
    fmap: tuple[int, ...]


class EarlyPointwise(Rule):
    """1×1 convs replacing spatial convs while the receptive field is small.

    Documented in its README in the rule catalog (``convscope rule CODE``).
    """

    code = "RF002"
    name = "early-pointwise"
    default_severity = Severity.WARNING
    summary = "1×1 convs replacing spatial convs while the receptive field is small"
    requires = frozenset({RECEPTIVE_FIELD})
    options = (
        Option("min_run", int, 3, minimum=2),
        Option("max_rf_fraction", float, 0.1, minimum=0.0, maximum=1.0),
        Option("min_resolution_fraction", float, 0.25, minimum=0.0, maximum=1.0),
    )

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        rf = receptive_field(ctx)
        sides = rf.input_size
        if not sides:
            return
        flow = ctx.flow
        early = _early_pointwise(ctx, flow, rf)
        # A run of min_run 1×1 convs at high resolution and small RF is the trap wherever it
        # sits; before the first spatial op (on the input itself) one is already too many.
        runs = [
            run
            for run in _runs(flow, early)
            if len(run) >= ctx.option("min_run") or _at_input(flow, run[0])
        ]
        limit = ctx.option("max_rf_fraction")

        def local(node: ir.Node) -> bool:
            return _local_residual(flow, rf, node, limit)

        blocks = _bare_blocks(flow, early, runs, local)
        reported: set[int] = set()
        for block, members in blocks:
            run = next((r for r in runs if all(n.id in members for n in r)), None)
            pointwise = [n for n in flow.graph.nodes if n.id in members and n.id in early]
            if run is not None:
                reported.update(n.id for n in run)
                what = f"block `{block}` has no spatial op: its {_run_text(flow, run)}"
            else:
                merge = next(
                    op_name(m).rstrip("_") for m in flow.graph.nodes if m.id in members and local(m)
                )
                what = (
                    f"block `{block}` has no spatial op ({_count(flow, pointwise)} "
                    f"and `{merge}` merges) and runs"
                )
            first = run[0] if run is not None else pointwise[0]
            rewritable = any(flow.conv(n) is not None for n in run or pointwise)
            yield self._finding(
                ctx, block, first, early[first.id], sides, what, [block] if rewritable else []
            )
        for run in runs:
            if run[0].id in reported:
                continue
            layers = list(dict.fromkeys(n.module for n in run if flow.conv(n) is not None))
            yield self._finding(
                ctx, run[0], run[0], early[run[0].id], sides, _run_text(flow, run), layers
            )

    def _finding(
        self,
        ctx: RuleContext,
        where: str | ir.Node,
        first: ir.Node,
        at: _Early,
        sides: tuple[int, ...],
        what: str,
        layers: list[str],
    ) -> Finding:
        frac = max(r / s for r, s in zip(at.rf, sides, strict=False))
        return ctx.finding(
            where,
            f"{what} at {axes(at.fmap)} resolution while the receptive field is still "
            f"{axes(at.rf)} input pixels ({pct(frac)} of the {axes(sides)} input; "
            f"max_rf_fraction={pct(ctx.option('max_rf_fraction'))}, "
            f"min_resolution_fraction={pct(ctx.option('min_resolution_fraction'))})",
            values={
                "first": first.module,
                "rf": axes(at.rf),
                "resolution": axes(at.fmap),
                "rf_fraction": round(frac, 4),
            },
            # The measured fact behind "cheap": spatial mixing matters more than learning it.
            suggestion="put a spatial conv in front of the early 1×1 convs (even a cheap "
            "depthwise 3×3 restores the spatial mixing: frozen random depthwise filters "
            "recovered as much accuracy as learned ones in benchmarks/design_evidence.py), "
            "or restore a 3×3 stem conv"
            if layers
            else "put a depthwise conv in front of the channels-last linear layers (as "
            "ConvNeXt's 7×7 before its MLP), or restore a spatial stem",
            # spatialize rewrites 1×1 convs; a channels-last linear stack gets no command
            rewrite=ctx.rewrite_command(layers, mode="spatialize") if layers else None,
        )


def _is_pointwise(flow: Flow, node: ir.Node) -> bool:
    """A per-pixel channel mixer: a forward 1×1 conv, or a linear layer applied to a
    channels-last feature map (``[N, H, W, C]``: a 1×1 conv in all but name, as in
    ConvNeXt- and MLP-style blocks)."""
    a = flow.conv(node)
    if a is not None:
        return a.is_pointwise and not a.transposed and flow.is_channel_mixing(node)
    return _channels_last_map(flow, node) is not None


def _channels_last_map(flow: Flow, node: ir.Node) -> tuple[int, ...] | None:
    """The spatial size of a linear layer's channels-last feature-map input, else None.

    ``nn.Linear`` on ``[N, H, W, C]`` runs as a view to ``[N·H·W, C]`` and a matmul, so the
    map is looked for through the views in front of it."""
    a = flow.linear(node)
    if a is None:
        return None
    tensor = flow.main_input(node)
    for _ in range(_MAX_VIEWS):
        spec = flow.graph.tensor.get(tensor) if tensor is not None else None
        if spec is None:
            return None
        if len(spec.shape) >= 4 and spec.shape[-1] == a.k:
            return tuple(spec.shape[1:-1])
        producer = flow.graph.producer.get(spec.id)
        if producer is None or producer.kind is not ir.OpKind.VIEW:
            return None  # [N, C] vectors and [N, L, C] tokens are not maps
        tensor = flow.main_input(producer)
    return None


def _paired(flow: Flow, node: ir.Node) -> bool:
    """The pointwise half of a depthwise-separable pair (right after a depthwise conv, or
    after the branch sum of a reparameterizable depthwise block), or a 1×1 branch beside a
    spatial branch that reads the same input (RepVGG / MobileOne / FastViT training-time
    branches): exactly where a 1×1 belongs, so a block of such 1×1s is no bare block."""
    src = flow.source_through_transparent(node)
    if src is not None and flow.is_depthwise(src):
        return True
    if (
        src is not None
        and flow.is_merge(src)
        and src.kind is not ir.OpKind.CAT  # a concat joins features, a sum joins branches
        and any(_depthwise_branch(flow, t) for t in src.inputs)
    ):
        return True
    return _beside_spatial_branch(flow, node)


def _depthwise_branch(flow: Flow, tensor: int, depth: int = 0) -> bool:
    """Whether ``tensor`` is a depthwise conv's output (through norms), or a branch sum one
    of whose terms is (``out += branch(x)`` chains of reparameterizable blocks)."""
    producer = flow.graph.producer.get(tensor)
    if producer is None or depth > 32:
        return False
    if not flow.is_depthwise(producer) and not flow.is_merge(producer):
        producer = flow.source(producer, lambda n: _through_norms(flow, n)) or producer
    if flow.is_depthwise(producer):
        return True
    return (
        flow.is_merge(producer)
        and producer.kind is not ir.OpKind.CAT
        and any(_depthwise_branch(flow, t, depth + 1) for t in producer.inputs)
    )


def _at_input(flow: Flow, node: ir.Node) -> bool:
    """A 1×1 that reads the model input through per-pixel ops only, and is no branch of a
    reparameterizable block."""
    return flow.source_through_transparent(node) is None and not _beside_spatial_branch(flow, node)


def _through_norms(flow: Flow, n: ir.Node) -> bool:
    """Norms, views and activations (hand-written ones included)."""
    return n.kind in (ir.OpKind.NORM, ir.OpKind.VIEW) or flow.is_activation(n)


def _beside_spatial_branch(flow: Flow, node: ir.Node) -> bool:
    source = flow.main_input(node)
    # ``0 + branch`` (a branch sum that starts from zero) is a gate, not a merge: look past it
    for merge in flow.forward(node, lambda n: _through_norms(flow, n) or flow.is_gate(n)):
        if not flow.is_merge(merge):
            continue
        for tensor in merge.inputs:
            producer = flow.graph.producer.get(tensor)
            if producer is None:
                continue
            spatial = (
                producer
                if flow.is_spatial(producer)
                else flow.source(producer, lambda n: _through_norms(flow, n))
            )
            if (
                spatial is not None
                and spatial.id != node.id
                and flow.is_spatial(spatial)
                and flow.main_input(spatial) == source
            ):
                return True
    return False


def _early_pointwise(ctx: RuleContext, flow: Flow, rf: ReceptiveField) -> dict[int, _Early]:
    """Channel-mixing 1×1 convs whose input RF is small and whose map is large."""
    sides = rf.input_size
    max_rf = ctx.option("max_rf_fraction")
    min_res = ctx.option("min_resolution_fraction")
    out: dict[int, _Early] = {}
    for node in flow.graph.nodes:
        if not _is_pointwise(flow, node):
            continue
        before = input_rf(rf, flow, node)
        fmap = _channels_last_map(flow, node) or input_map(flow, node, len(sides))
        if before is None or before.is_global or fmap is None or len(fmap) != len(sides):
            continue
        # The smallest receptive field over paths: a U-Net skip (5 px) feeding 1×1 convs
        # is what the decoder sees at fine detail, however large the deep path's RF is.
        seen = before.min_size
        small = all(r <= max_rf * s for r, s in zip(seen, sides, strict=False))
        high = all(m >= min_res * s for m, s in zip(fmap, sides, strict=False))
        if small and high:
            out[node.id] = _Early(rf=seen, fmap=fmap)
    return out


def _runs(flow: Flow, early: dict[int, _Early]) -> list[list[ir.Node]]:
    """Longest chains of early 1×1 convs, each feeding the next through per-pixel ops only
    (norms, activations, views, gates); one chain per start, in execution order."""
    nodes = {n.id: n for n in flow.graph.nodes if n.id in early}
    parent: dict[int, int] = {}
    children: dict[int, list[int]] = {}
    for nid, node in nodes.items():
        src = flow.source_through_transparent(node)
        if src is not None and src.id in nodes:
            parent[nid] = src.id
            children.setdefault(src.id, []).append(nid)
    longest: dict[int, list[int]] = {}

    def chain(nid: int) -> list[int]:
        if nid not in longest:
            tails = [chain(c) for c in sorted(children.get(nid, []))]
            longest[nid] = [nid, *max(tails, key=len, default=[])]
        return longest[nid]

    starts = sorted(nid for nid in nodes if nid not in parent)
    return [[nodes[i] for i in chain(s)] for s in starts]


def _local_residual(flow: Flow, rf: ReceptiveField, node: ir.Node, limit: float) -> bool:
    """A residual merge (an elementwise sum or product of branches, not a concat) none of
    whose inputs carries spatial context yet: every input's largest receptive field is at
    most ``limit`` of the input on every axis. A merge is judged by the input that sees the
    most: a 1×1 lateral added to a top-down path that already covers
    the image (an FPN) is where pointwise belongs, not an early bare block."""
    if not flow.is_merge(node) or node.kind is ir.OpKind.CAT:
        return False
    sides = rf.input_size
    for tensor in node.inputs:
        seen = rf.per_tensor.get(tensor)
        if seen is None:
            continue
        if seen.is_global or any(r > limit * s for r, s in zip(seen.size, sides, strict=False)):
            return False
    return True


def _bare_blocks(
    flow: Flow,
    early: dict[int, _Early],
    runs: list[list[ir.Node]],
    local: Callable[[ir.Node], bool],
) -> list[tuple[str, frozenset[int]]]:
    """Outermost non-leaf modules without a spatial op that hold a reported run or a
    residual merge of local branches (``local``), whose first 1×1 conv is early. Returns
    (path, node ids inside)."""
    members: dict[str, set[int]] = {}
    for node in flow.graph.nodes:
        parts = node.module.split(".") if node.module else []
        for i in range(1, len(parts) + 1):
            members.setdefault(".".join(parts[:i]), set()).add(node.id)
    by_id = {n.id: n for n in flow.graph.nodes}
    good: dict[str, frozenset[int]] = {}
    for path, ids in members.items():
        info = flow.graph.module.get(path)
        if info is None or info.is_leaf:
            continue
        inside = [by_id[i] for i in sorted(ids)]
        if any(flow.is_spatial(n) for n in inside):
            continue
        pointwise = [n for n in inside if _is_pointwise(flow, n)]
        if not pointwise or pointwise[0].id not in early or _paired(flow, pointwise[0]):
            continue
        has_run = any(all(n.id in ids for n in run) for run in runs)
        # a residual add of local branches makes a module a block; a concat of 1×1 groups
        # (MixNet's mixed pointwise conv) is one layer
        residual = any(local(n) for n in inside)
        if has_run or residual:
            good[path] = frozenset(ids)
    outermost = [p for p in good if not any(p.startswith(q + ".") for q in good if q != p)]
    order = {n.id: i for i, n in enumerate(flow.graph.nodes)}
    return sorted(((p, good[p]) for p in outermost), key=lambda pg: min(order[i] for i in pg[1]))


def _count(flow: Flow, nodes: list[ir.Node]) -> str:
    """``3 1×1 convs``, ``12 channels-last linear layers`` or ``4 per-pixel channel mixers``."""
    convs = sum(flow.conv(n) is not None for n in nodes)
    n = len(nodes)
    if convs == n:
        noun = "1×1 conv"
    elif convs == 0:
        noun = "channels-last linear layer"
    else:
        noun = "per-pixel channel mixer"
    return f"{n} {noun}{'s' if n != 1 else ''}"


def _run_text(flow: Flow, run: list[ir.Node]) -> str:
    first, last = _name(flow, run[0]), _name(flow, run[-1])
    return f"{_count(flow, run)} in a row (`{first}` … `{last}`) run"


def _name(flow: Flow, node: ir.Node) -> str:
    """The layer, or for a functional call the module whose forward made it and the line."""
    name = node.module or "(root)"
    info = flow.graph.module.get(node.module)
    if node.call_site is not None and (info is None or not info.is_leaf):
        return f"{name}, line {node.call_site[1]}"
    return name
