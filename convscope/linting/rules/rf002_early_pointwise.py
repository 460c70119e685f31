"""RF002 early-pointwise."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from convscope.ir import graph as ir
from convscope.ir.flow import Flow
from convscope.linting.finding import Finding, Severity
from convscope.linting.rule import Option, Rule, RuleContext
from convscope.linting.rules._rf import axes, input_map, input_rf, receptive_field
from convscope.linting.rules._util import op_name, pct
from convscope.passes.receptive.structure import ReceptiveField


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
    requires = frozenset({"receptive_field"})
    options = (
        Option("min_run", int, 3, "Smallest number of consecutive 1×1 convs reported.", minimum=2),
        Option(
            "max_rf_fraction",
            float,
            0.1,
            "A receptive field at most this fraction of the "
            "input side (every axis) is still small.",
            minimum=0.0,
            maximum=1.0,
        ),
        Option(
            "min_resolution_fraction",
            float,
            0.25,
            "A feature map at least this fraction "
            "of the input side (every axis) is still high resolution.",
            minimum=0.0,
            maximum=1.0,
        ),
    )

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        rf = receptive_field(ctx)
        sides = rf.input_size
        if not sides:
            return
        flow = ctx.flow
        early = _early_pointwise(ctx, flow, rf)
        runs = [run for run in _runs(flow, early) if len(run) >= ctx.option("min_run")]
        blocks = _bare_blocks(ctx, flow, early, runs)
        reported: set[int] = set()
        for block, members in blocks:
            run = next((r for r in runs if all(n.id in members for n in r)), None)
            pointwise = [n for n in flow.graph.nodes if n.id in members and n.id in early]
            if run is not None:
                reported.update(n.id for n in run)
                what = f"block `{block}` has no spatial op: its {_run_text(run)}"
            else:
                n = len(pointwise)
                merge = next(
                    op_name(m).rstrip("_")
                    for m in flow.graph.nodes
                    if m.id in members and flow.is_merge(m)
                )
                what = (
                    f"block `{block}` has no spatial op ({n} 1×1 conv{'s' if n != 1 else ''} "
                    f"and `{merge}` merges) and runs"
                )
            first = run[0] if run is not None else pointwise[0]
            yield self._finding(ctx, block, first, early[first.id], sides, what, [block])
        for run in runs:
            if run[0].id in reported:
                continue
            layers = list(dict.fromkeys(n.module for n in run))
            yield self._finding(
                ctx, run[0].module, run[0], early[run[0].id], sides, _run_text(run), layers
            )

    def _finding(
        self,
        ctx: RuleContext,
        where: str,
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
            suggestion="put a spatial conv (a depthwise 3×3 is cheap) in front of the early "
            "1×1 convs, or restore a 3×3 stem conv",
            rewrite=ctx.rewrite_command(layers, mode="spatialize"),
        )


def _is_pointwise(flow: Flow, node: ir.Node) -> bool:
    """A forward 1×1 conv that mixes channels."""
    a = flow.conv(node)
    return a is not None and a.is_pointwise and not a.transposed and flow.is_channel_mixing(node)


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
        fmap = input_map(flow, node, len(sides))
        if before is None or before.is_global or fmap is None:
            continue
        small = all(r <= max_rf * s for r, s in zip(before.size, sides, strict=False))
        high = all(m >= min_res * s for m, s in zip(fmap, sides, strict=False))
        if small and high:
            out[node.id] = _Early(rf=before.size, fmap=fmap)
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


def _bare_blocks(
    ctx: RuleContext, flow: Flow, early: dict[int, _Early], runs: list[list[ir.Node]]
) -> list[tuple[str, frozenset[int]]]:
    """Outermost non-leaf modules without a spatial op that hold a reported run or a
    residual merge, whose first 1×1 conv is early. Returns (path, node ids inside)."""
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
        if not pointwise or pointwise[0].id not in early:
            continue
        has_run = any(all(n.id in ids for n in run) for run in runs)
        if has_run or any(flow.is_merge(n) for n in inside):
            good[path] = frozenset(ids)
    outermost = [p for p in good if not any(p.startswith(q + ".") for q in good if q != p)]
    order = {n.id: i for i, n in enumerate(flow.graph.nodes)}
    return sorted(((p, good[p]) for p in outermost), key=lambda pg: min(order[i] for i in pg[1]))


def _run_text(run: list[ir.Node]) -> str:
    first, last = run[0].module or "(root)", run[-1].module or "(root)"
    return f"{len(run)} 1×1 convs in a row (`{first}` … `{last}`) run"
