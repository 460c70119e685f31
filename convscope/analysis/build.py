"""The per-layer table and totals built from a graph and its pass results.

Rows: one per module that ran ops or holds parameters directly (leaf modules, plus any
parent whose ``forward`` ran functional ops such as the residual ``+``). Every op belongs
to exactly one row and every parameter to exactly one row (its first owner, so shared
modules and tied weights count once), so the totals equal the sum of the rows.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from convscope import fmt
from convscope import formulas as fm
from convscope.analysis.sections import checked
from convscope.ir import graph as ir
from convscope.passes import cost as cost_pass
from convscope.passes import memory as memory_pass
from convscope.passes import mixing as mixing_pass
from convscope.sections import SectionKey

T = TypeVar("T")


class _Derived:
    """Quantities derived the same way for a layer row and for the totals."""

    macs: int
    params: int
    trainable_params: int
    other_flops: int
    bytes_read: int
    bytes_written: int

    @property
    def flops(self) -> int:
        return 2 * self.macs

    @property
    def frozen_params(self) -> int:
        return self.params - self.trainable_params

    @property
    def traffic(self) -> int:
        return self.bytes_read + self.bytes_written

    @property
    def intensity(self) -> float:
        return fm.intensity(self.flops + self.other_flops, self.traffic)


@dataclass(frozen=True)
class LayerRow(_Derived):
    path: str  # module path, "" for the root module
    type_name: str
    depth: int  # 0 for the root, 1 for its children...
    calls: int  # how many times the module ran (shared modules run more than once)
    output_shape: tuple[int, ...] | None
    params: int
    trainable_params: int
    buffers: int  # buffer elements (e.g. BatchNorm running statistics)
    param_bytes: int
    macs: int
    other_flops: int
    activation_bytes: int  # bytes of new tensors the layer writes
    bytes_read: int
    bytes_written: int
    mixing: ir.MixingClass
    unknown_ops: tuple[str, ...]
    nodes: tuple[int, ...]  # node ids, in execution order

    @property
    def name(self) -> str:
        return self.path or "(root)"


@dataclass(frozen=True)
class UnknownOp:
    op: str
    count: int
    layers: tuple[str, ...]


@dataclass(frozen=True)
class UsefulWork:
    """A layer whose counted MACs follow a convention that includes discarded work
    (transposed-conv taps in the cropped border); ``useful_macs`` leaves it out."""

    layer: str
    op: str
    macs: int
    useful_macs: int
    convention: str


@dataclass(frozen=True)
class MixingProfile:
    params: Mapping[str, int]  # mixing class value → parameters
    macs: Mapping[str, int]

    def share(self, which: str, cls: ir.MixingClass) -> float:
        table = self.params if which == "params" else self.macs
        total = sum(table.values())
        return table.get(cls.value, 0) / total if total else 0.0


@dataclass(frozen=True)
class Totals(_Derived):
    params: int
    trainable_params: int
    buffers: int
    param_bytes: int
    macs: int
    other_flops: int
    activation_bytes: int
    bytes_read: int
    bytes_written: int
    peak_activation_bytes: int
    fused_traffic_bytes: int


@dataclass(frozen=True, repr=False)
class Analysis:
    """Everything ``convscope analyze`` computes for one model. Immutable."""

    model: str
    graph: ir.Graph
    rows: tuple[LayerRow, ...]
    totals: Totals
    unknown: tuple[UnknownOp, ...]
    mixing: MixingProfile
    memory: memory_pass.MemorySummary
    node_cost: Mapping[int, cost_pass.NodeCost]
    node_memory: Mapping[int, memory_pass.NodeMemory]
    dtype: str | None = None
    # Ops priced from the sizes this run produced (NMS survivors, RoI counts).
    data_dependent: tuple[UnknownOp, ...] = ()
    # Layers whose counted MACs include work a kernel computes and throws away.
    useful_work: tuple[UsefulWork, ...] = ()
    # Optional sections filled by later passes (receptive field...) through
    # :meth:`with_section`, keyed by section keys (:mod:`convscope.sections`); read with
    # :meth:`section`. Checked on construction: each value is of its key's type, and a
    # string key is accepted only as the name of a built-in key (converted to it).
    extras: Mapping[SectionKey[Any], Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "extras", checked(self.extras))

    def section(self, key: SectionKey[T]) -> T | None:
        """The ``key`` section, or None when this analysis has none."""
        value: T | None = self.extras.get(key)
        return value

    def need(self, key: SectionKey[T]) -> T:
        """The ``key`` section; KeyError when this analysis has none."""
        value = self.section(key)
        if value is None:
            raise KeyError(f"the analysis of {self.model} has no {key.name!r} section")
        return value

    def with_section(self, key: SectionKey[T], value: T) -> Analysis:
        """A copy with the ``key`` section set to ``value`` (replacing one there); this
        analysis is unchanged. TypeError when ``value`` is not of the key's type."""
        return dataclasses.replace(self, extras={**self.extras, key: value})

    @property
    def input_shapes(self) -> tuple[tuple[int, ...], ...]:
        return tuple(t.shape for t in self.graph.inputs)

    @property
    def output_shapes(self) -> tuple[tuple[int, ...], ...]:
        return tuple(self.graph.tensor[t].shape for t in self.graph.outputs)

    def row(self, path: str) -> LayerRow:
        for r in self.rows:
            if r.path == path:
                return r
        raise KeyError(path)

    def folded(self, depth: int | None) -> tuple[LayerRow, ...]:
        """The rows with everything deeper than ``depth`` summed into its ancestor at
        ``depth`` (``--depth N``); all rows for None."""
        return self.rows if depth is None else fold(self.rows, depth, self.graph)

    def view(self, depth: int | str | None = "auto") -> AnalysisView:
        """The notebook view folded at ``depth``: None shows every row, ``"auto"`` (what a
        bare ``a`` shows) the deepest fold under 60 rows."""
        return AnalysisView(self, depth)

    def __repr__(self) -> str:  # the dataclass repr would print the whole graph
        return (
            f"<Analysis {self.model}: {fmt.count(self.totals.params)} params, "
            f"{fmt.count(self.totals.macs)} MACs, {len(self.rows)} layers>"
        )

    __str__ = __repr__


@dataclass(frozen=True, repr=False)
class AnalysisView:
    """What :meth:`Analysis.view` returns: the analysis and the depth its notebook view is
    folded at. Data only: the package registers the HTML a notebook shows for it (and for a
    bare :class:`Analysis`) with IPython's display formatter (:mod:`convscope`)."""

    analysis: Analysis
    depth: int | str | None = "auto"

    def __post_init__(self) -> None:
        d = self.depth
        if not (d is None or d == "auto" or (isinstance(d, int) and not isinstance(d, bool))):
            raise TypeError(f"depth must be an int, None or 'auto', not {d!r}")

    def __repr__(self) -> str:
        return f"<notebook view of {self.analysis!r}, depth={self.depth!r}>"


def _depth(path: str) -> int:
    return 0 if not path else path.count(".") + 1


def build(model: str, graph: ir.Graph, dtype: str | None = None) -> Analysis:
    """Run the cost, memory and mixing passes and assemble rows and totals."""
    costs = cost_pass.cost(graph)
    mems = memory_pass.memory(graph, dtype)
    mix = mixing_pass.mixing(graph)
    summary = memory_pass.summarize(graph, mems, dtype)
    price = memory_pass.pricer(dtype)

    by_module: dict[str, list[ir.Node]] = {}
    for n in graph.nodes:
        by_module.setdefault(n.module, []).append(n)
    params_by_module: dict[str, list[ir.TensorOwner]] = {}
    for p in graph.params:
        params_by_module.setdefault(p.module, []).append(p)

    order: list[str] = []
    for m in graph.modules:  # module-tree order, so the table reads like print(model)
        if m.path in by_module or m.path in params_by_module:
            order.append(m.path)
    for path in list(by_module) + list(params_by_module):  # modules created inside forward
        if path not in order:
            order.append(path)

    rows: list[LayerRow] = []
    for path in order:
        nodes = by_module.get(path, [])
        owned = params_by_module.get(path, [])
        info = graph.module.get(path)
        type_name = info.type_name if info else (nodes[0].module_type if nodes else "?")
        real = [n for n in nodes if n.kind not in (ir.OpKind.VIEW, ir.OpKind.CREATE)]
        last = (real or nodes)[-1] if nodes else None
        weights = [p for p in owned if not p.is_buffer]
        rows.append(
            LayerRow(
                path=path,
                type_name=type_name,
                depth=_depth(path),
                calls=info.calls if info else 1,
                output_shape=last.outputs[0].shape if last and last.outputs else None,
                params=sum(p.numel for p in weights),
                trainable_params=sum(p.numel for p in weights if p.trainable),
                buffers=sum(p.numel for p in owned if p.is_buffer),
                param_bytes=sum(price.owner(p) for p in weights),
                macs=sum(costs[n.id].macs for n in nodes),
                other_flops=sum(costs[n.id].other_flops for n in nodes),
                activation_bytes=sum(
                    price.tensor(o) for n in real for o in n.outputs if o.storage == o.id
                ),
                bytes_read=sum(mems[n.id].bytes_read for n in nodes),
                bytes_written=sum(mems[n.id].bytes_written for n in nodes),
                mixing=mixing_pass.combine(mix[n.id] for n in nodes),
                unknown_ops=tuple(dict.fromkeys(n.op for n in nodes if not costs[n.id].known)),
                nodes=tuple(n.id for n in nodes),
            )
        )

    totals = Totals(
        **_sums(rows),
        peak_activation_bytes=summary.peak_activation_bytes,
        fused_traffic_bytes=summary.fused_traffic_bytes,
    )
    return Analysis(
        model=model,
        graph=graph,
        rows=tuple(rows),
        totals=totals,
        unknown=_unknown(graph, costs),
        mixing=_mixing_profile(graph, costs, mix),
        memory=summary,
        node_cost=costs,
        node_memory=mems,
        dtype=dtype,
        data_dependent=_ops_where(graph, lambda n: costs[n.id].data_dependent),
        useful_work=_useful_work(graph, costs),
    )


_TRANSPOSED_BORDER = "transposed conv: taps landing in the border cropped by padding are counted"


def _useful_work(
    graph: ir.Graph, costs: Mapping[int, cost_pass.NodeCost]
) -> tuple[UsefulWork, ...]:
    out: list[UsefulWork] = []
    for n in graph.nodes:
        c = costs[n.id]
        if c.useful_macs is not None:
            out.append(
                UsefulWork(n.module or "(root)", n.op, c.macs, c.useful_macs, _TRANSPOSED_BORDER)
            )
    return tuple(out)


def _unknown(graph: ir.Graph, costs: Mapping[int, cost_pass.NodeCost]) -> tuple[UnknownOp, ...]:
    return _ops_where(graph, lambda n: not costs[n.id].known)


def _ops_where(graph: ir.Graph, pred: Callable[[ir.Node], bool]) -> tuple[UnknownOp, ...]:
    """Op name → count and owning layers, for the nodes that satisfy ``pred``."""
    seen: dict[str, list[str]] = {}
    for n in graph.nodes:
        if pred(n):
            seen.setdefault(n.op, []).append(n.module or "(root)")
    return tuple(
        UnknownOp(op, len(layers), tuple(dict.fromkeys(layers)))
        for op, layers in sorted(seen.items())
    )


def _mixing_profile(
    graph: ir.Graph, costs: Mapping[int, cost_pass.NodeCost], mix: Mapping[int, ir.MixingClass]
) -> MixingProfile:
    """Shares per op, not per row: one module may hold both kinds (attention's projections
    mix channels, its score matmuls mix tokens). A parameter counts for the first op that
    reads it; parameters no op reads count as "other"."""
    params: dict[str, int] = {c.value: 0 for c in ir.MixingClass}
    macs: dict[str, int] = {c.value: 0 for c in ir.MixingClass}
    first_reader: dict[str, ir.MixingClass] = {}
    for n in graph.nodes:
        macs[mix[n.id].value] += costs[n.id].macs
        for name in n.params:
            first_reader.setdefault(graph.param[name].name, mix[n.id])
    for p in graph.params:
        if not p.is_buffer:
            params[first_reader.get(p.name, ir.MixingClass.OTHER).value] += p.numel
    return MixingProfile(params=params, macs=macs)


def folded(analysis: Analysis, depth: int) -> Analysis:
    """A copy of ``analysis`` with its rows folded at ``depth`` (:func:`fold`), for renderers
    that read rows from the analysis (the HTML report of ``--depth N``)."""
    return dataclasses.replace(analysis, rows=fold(analysis.rows, depth, analysis.graph))


def fold(rows: Sequence[LayerRow], depth: int, graph: ir.Graph) -> tuple[LayerRow, ...]:
    """Fold rows deeper than ``depth`` into their ancestor at ``depth`` (``--depth N``).

    Sums are preserved, so the folded table still adds up to the same totals.
    """
    groups: dict[str, list[LayerRow]] = {}
    for r in rows:
        parts = r.path.split(".") if r.path else []
        key = ".".join(parts[:depth]) if len(parts) > depth else r.path
        groups.setdefault(key, []).append(r)
    out: list[LayerRow] = []
    for key, members in groups.items():
        if len(members) == 1 and members[0].path == key:
            out.append(members[0])
            continue
        own = next((m for m in members if m.path == key), None)
        last = members[-1]
        out.append(
            LayerRow(
                path=key,
                type_name=own.type_name if own else graph.module[key].type_name,
                depth=_depth(key),
                calls=own.calls if own else last.calls,
                output_shape=last.output_shape,
                **_sums(members),
                mixing=mixing_pass.combine(m.mixing for m in members),
                unknown_ops=tuple(dict.fromkeys(op for m in members for op in m.unknown_ops)),
                nodes=tuple(sorted(i for m in members for i in m.nodes)),
            )
        )
    return tuple(out)


#: Layer quantities that add up: a total or a folded row is the sum of its rows.
_ADDITIVE = (
    "params",
    "trainable_params",
    "buffers",
    "param_bytes",
    "macs",
    "other_flops",
    "activation_bytes",
    "bytes_read",
    "bytes_written",
)


def _sums(rows: Sequence[LayerRow]) -> dict[str, int]:
    return {name: sum(getattr(r, name) for r in rows) for name in _ADDITIVE}
