"""Memory traffic and peak activation memory.

Per op: bytes read (activation inputs + parameters/buffers it reads) and bytes written
(its outputs). Views, tensor factories and dropout in eval are free. Bytes are
dtype-aware; ``dtype`` re-prices every floating-point tensor (``"float16"``, ``"int8"``)
without re-tracing.

Model level:

* **peak live activation memory**: a liveness walk in execution order. A storage is
  allocated by the op that first writes it (views and in-place ops alias their input's
  storage) and freed after its last reader; graph inputs are live from the start and
  graph outputs to the end. Parameters are not activations and are left out.
* **fused traffic**: the same total with conv/linear → norm → activation chains fused,
  i.e. without writing and re-reading an intermediate that has a single consumer, as
  inference runtimes do.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from convscope.ir import graph as ir

_NO_TRAFFIC = frozenset({ir.OpKind.VIEW, ir.OpKind.CREATE, ir.OpKind.DROPOUT})
_FUSE_INTO_NORM = frozenset({ir.OpKind.CONV, ir.OpKind.LINEAR})
_FUSE_INTO_ACT = frozenset({ir.OpKind.CONV, ir.OpKind.LINEAR, ir.OpKind.NORM})


@dataclass(frozen=True)
class NodeMemory:
    bytes_read: int
    bytes_written: int
    param_bytes_read: int  # the part of bytes_read that is weights / buffers

    @property
    def traffic(self) -> int:
        return self.bytes_read + self.bytes_written


@dataclass(frozen=True)
class MemorySummary:
    peak_activation_bytes: int
    peak_node: int | None  # node id at which the peak is reached
    total_traffic_bytes: int
    fused_traffic_bytes: int
    input_bytes: int
    output_bytes: int
    dtype: str | None  # the re-pricing dtype, if any


def pricer(dtype: str | None) -> Price:
    """Bytes of tensors and parameters, optionally re-priced at ``dtype``."""
    return Price(ir.dtype_bytes(dtype) if dtype else None)


@dataclass(frozen=True)
class Price:
    float_bytes: int | None

    def elem(self, dtype: str) -> int:
        if self.float_bytes is not None and dtype.startswith(("float", "bfloat")):
            return self.float_bytes
        return ir.dtype_bytes(dtype)

    def tensor(self, t: ir.TensorSpec) -> int:
        return t.numel * self.elem(t.dtype)

    def owner(self, p: ir.TensorOwner) -> int:
        return p.numel * self.elem(p.dtype)


def memory(graph: ir.Graph, dtype: str | None = None) -> Mapping[int, NodeMemory]:
    """Node id → bytes read and written."""
    price = pricer(dtype)
    out: dict[int, NodeMemory] = {}
    for n in graph.nodes:
        if n.kind in _NO_TRAFFIC:
            out[n.id] = NodeMemory(0, 0, 0)
            continue
        act = sum(price.tensor(graph.tensor[t]) for t in dict.fromkeys(n.inputs))
        par = sum(price.owner(graph.param[p]) for p in n.params)
        written = sum(price.tensor(t) for t in n.outputs)
        out[n.id] = NodeMemory(act + par, written, par)
    return MappingProxyType(out)


def summarize(
    graph: ir.Graph, per_node: Mapping[int, NodeMemory], dtype: str | None = None
) -> MemorySummary:
    price = pricer(dtype)
    peak, peak_node = _peak(graph, price)
    total = sum(m.traffic for m in per_node.values())
    return MemorySummary(
        peak_activation_bytes=peak,
        peak_node=peak_node,
        total_traffic_bytes=total,
        fused_traffic_bytes=total - _fused_savings(graph, price),
        input_bytes=sum(price.tensor(t) for t in graph.inputs),
        output_bytes=sum(price.tensor(graph.tensor[t]) for t in graph.outputs),
        dtype=dtype,
    )


def _peak(graph: ir.Graph, price: Price) -> tuple[int, int | None]:
    storage_bytes: dict[int, int] = {}
    last_use: dict[int, int] = {}
    for spec in graph.inputs:
        storage_bytes[spec.storage] = price.tensor(spec)
    for n in graph.nodes:
        for tid in n.inputs:
            last_use[graph.tensor[tid].storage] = n.id
        if n.kind is ir.OpKind.VIEW:
            continue
        for o in n.outputs:
            if o.storage == o.id:
                storage_bytes[o.storage] = price.tensor(o)
    pinned = {graph.tensor[t].storage for t in graph.outputs} | {t.storage for t in graph.inputs}
    frees: dict[int, list[int]] = {}
    for s, nid in last_use.items():
        if s not in pinned:
            frees.setdefault(nid, []).append(s)
    live = sum(price.tensor(t) for t in graph.inputs)
    peak, peak_node = live, None
    allocated: set[int] = {t.storage for t in graph.inputs}
    for n in graph.nodes:
        for o in n.outputs:
            s = o.storage
            if s not in allocated and s in storage_bytes:
                allocated.add(s)
                live += storage_bytes[s]
        if live > peak:
            peak, peak_node = live, n.id
        for s in frees.get(n.id, ()):
            if s in allocated:
                live -= storage_bytes.get(s, 0)
                allocated.discard(s)
        # Outputs nobody reads (and that are not model outputs) die at once.
        for o in n.outputs:
            if o.storage == o.id and o.storage not in last_use and o.storage not in pinned:
                live -= storage_bytes.get(o.storage, 0)
                allocated.discard(o.storage)
    return peak, peak_node


def _fused_savings(graph: ir.Graph, price: Price) -> int:
    """Bytes not moved when single-consumer conv/linear → norm → activation chains fuse."""
    saved = 0
    for n in graph.nodes:
        if len(n.outputs) < 1 or n.kind not in _FUSE_INTO_ACT:
            continue
        out = n.outputs[0]
        consumers = graph.consumers.get(out.id, ())
        if len(consumers) != 1 or out.id in graph.outputs:
            continue
        nxt = consumers[0]
        if (
            nxt.kind is ir.OpKind.NORM and n.kind in _FUSE_INTO_NORM
        ) or nxt.kind is ir.OpKind.ACTIVATION:
            saved += 2 * price.tensor(out)  # one write by the producer, one read by the consumer
    return saved
