"""The receptive-field pass: one walk over the graph in topological order, dispatching
each node on its op kind (Araujo, Norris & Sim, Distill 2019).

Graph inputs start at ``r = 1, S = 1, P = 0``; each node maps its inputs' states to its
outputs' (:mod:`windows`, :mod:`contractions`, :mod:`merges`, :mod:`views`). Norms are
treated as per position (their statistics are not part of the geometric RF, as in every
RF tool); softmax too, unless it runs over a flattened spatial dimension. Unknown ops
that keep the spatial size pass the RF through (flagged approximate); others make it
global. An in-place write into a view (``buf = zeros(...); buf[:, :c].copy_(x)``)
reaches later readers of the buffer. A 3-d input whose model runs 2-d convs is an
unbatched ``[C, H, W]`` image (detection models) or a ``[N, F, T]`` signal unsqueezed to
``[N, 1, F, T]``: its last two dims are the spatial axes. The pass never raises: an odd
node makes its outputs global, a bug becomes :attr:`ReceptiveField.failure`.

Pure: no torch import; returns new objects and never mutates the IR.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import MappingProxyType

from convscope.errors import describe
from convscope.ir import graph as ir
from convscope.ir.text import op_name
from convscope.passes.receptive import contractions, merges, windows
from convscope.passes.receptive.layout import (
    MERGED,
    OTHER,
    Dim,
    Layout,
    dim_axis,
    fit_rank,
    has_spatial,
    layout_dims,
    standard,
)
from convscope.passes.receptive.merges import Merged
from convscope.passes.receptive.result import Misalignment, NodeRF, ReceptiveField
from convscope.passes.receptive.state import TensorState, area, derive, initial, largest, lost
from convscope.passes.receptive.state import reported as reported_rf
from convscope.passes.receptive.views import view

__all__ = ["receptive_field"]


class _Walk:
    def __init__(self, graph: ir.Graph) -> None:
        self.graph = graph
        self.first_spatial = 2  # dim of the first spatial axis in the graph input
        spatial = tuple(int(s) for s in graph.input_spatial)
        if (
            graph.inputs
            and len(graph.inputs[0].shape) >= 2
            and _window_rank(graph) == len(graph.inputs[0].shape) - 1
        ):
            # an unbatched [C, H, W] image (detection models) or a [N, F, T] signal that
            # the model unsqueezes for 2-d convs: both leading-dim-free axes are spatial
            self.first_spatial = 1
            spatial = tuple(int(s) for s in graph.inputs[0].shape[1:])
        self.input_size: tuple[int, ...] = spatial
        self.nd = len(self.input_size)
        self.states: dict[int, TensorState] = {}
        self.misalignments: list[Misalignment] = []
        self.shape: dict[int, tuple[int, ...]] = {t.id: t.shape for t in graph.tensors}
        self.storage: dict[int, int] = {t.id: t.storage for t in graph.tensors}
        # in-place writes: storage → (node id, tensor id written, its state)
        self.writes: dict[int, tuple[int, int, TensorState]] = {}
        self.seen_write: dict[int, int] = {}
        self.reported: dict[int, tuple[TensorState, NodeRF]] = {}

    def run(self) -> ReceptiveField:
        g = self.graph
        if self.nd == 0:
            return ReceptiveField(
                per_tensor=MappingProxyType({}),
                per_node=MappingProxyType({}),
                per_layer=MappingProxyType({}),
                output=None,
                input_size=(),
                misalignments=(),
            )
        for t in g.inputs:
            if len(t.shape) == self.nd + self.first_spatial:
                lay = (
                    standard(t.shape, self.nd)
                    if self.first_spatial == 2
                    else (((OTHER, t.shape[0]),), *(((a, n),) for a, n in enumerate(t.shape[1:])))
                )
                self.states[t.id] = initial(self.input_size, lay)
        per_node: dict[int, NodeRF] = {}
        per_layer: dict[str, TensorState] = {}
        for node in g.nodes:
            if node.kind is ir.OpKind.CREATE or not node.outputs:
                continue
            for i in dict.fromkeys(node.inputs):
                self.read(i)
            in_ids = [i for i in dict.fromkeys(node.inputs) if i in self.states]
            if not in_ids:
                continue
            try:
                outs = self.apply(node, in_ids)
            except Exception:  # never raise on odd graphs: conservative global
                outs = [lost([self.states[i] for i in in_ids], approx=True)]
            for k, o in enumerate(node.outputs):
                st = outs[k] if k < len(outs) else outs[0]
                if st.layout is not None and len(st.layout) != len(o.shape):
                    st = derive(st, layout=fit_rank(st.layout, o.shape, outs[0].layout))
                    if st.layout is None:
                        st = derive(st, layout=None, is_global=True, approx=True)
                self.states[o.id] = st
                if o.storage != o.id and node.kind is not ir.OpKind.VIEW:
                    self.writes[o.storage] = (node.id, o.id, st)  # in-place write
            first = self.states[node.outputs[0].id]
            per_node[node.id] = self.report(first)
            for path in _ancestors(node.module):
                per_layer[path] = first
        return self.result(per_node, per_layer)

    def read(self, tid: int) -> None:
        """Fold an in-place write into a tensor read after it through another alias
        (``buf = zeros(...); buf[:, :c].copy_(x); conv(buf)``)."""
        storage = self.storage.get(tid, tid)
        w = self.writes.get(storage)
        if w is None or w[1] == tid or self.seen_write.get(tid) == w[0]:
            return
        prod = self.graph.producer.get(tid)
        if prod is not None and prod.id >= w[0]:
            return
        self.seen_write[tid] = w[0]
        written = _adapt(w[2], self.shape.get(w[1], ()), self.shape.get(tid, ()))
        own = self.states.get(tid)
        if own is None or own.layout is None or written.layout is None:
            self.states[tid] = written if own is None else largest([own, written])
            return
        self.states[tid] = merges.merge(None, [own, written], own.layout)[0]

    def report(self, t: TensorState) -> NodeRF:
        """The RF of a state as reported (:func:`state.reported`), once per state."""
        done = self.reported.get(id(t))
        if done is not None and done[0] is t:
            return done[1]
        rf = reported_rf(t)
        self.reported[id(t)] = (t, rf)
        return rf

    def result(
        self, per_node: dict[int, NodeRF], per_layer: dict[str, TensorState]
    ) -> ReceptiveField:
        outs = [self.states[t] for t in self.graph.outputs if t in self.states]
        output = None
        if outs:
            output = max(
                (self.report(t) for t in outs), key=lambda rf: (rf.is_global, area(rf.size))
            )
        dims: dict[str, tuple[int, ...]] = {}
        tol: dict[str, tuple[float, ...]] = {}
        approx: set[str] = set()
        for path, st in per_layer.items():
            d = layout_dims(st.layout, self.nd)
            if d is not None:
                dims[path] = d
            tol[path] = st.jitter
            if st.approx:
                approx.add(path)
        return ReceptiveField(
            per_tensor=MappingProxyType({k: self.report(v) for k, v in self.states.items()}),
            per_node=MappingProxyType(per_node),
            per_layer=MappingProxyType({k: self.report(v) for k, v in per_layer.items()}),
            output=output,
            input_size=self.input_size,
            misalignments=tuple(self.misalignments),
            layer_dims=MappingProxyType(dims),
            layer_tolerance=MappingProxyType(tol),
            approximate=frozenset(approx),
        )

    def merged(self, result: Merged) -> list[TensorState]:
        """A merge's state as the node's outputs; its misalignments are recorded."""
        state, found = result
        self.misalignments.extend(found)
        return [state]

    def apply(self, node: ir.Node, in_ids: list[int]) -> list[TensorState]:
        """The states of ``node``'s outputs, dispatched on its op kind."""
        ins = [self.states[i] for i in in_ids]
        shapes = [self.shape.get(i, ()) for i in in_ids]
        out_shapes = [o.shape for o in node.outputs]
        k, a = node.kind, node.attrs
        K = ir.OpKind
        if k is K.ATTENTION:
            return [contractions.attention(ins, shapes, out_shapes[0])]
        if k is K.CONV and isinstance(a, ir.ConvAttrs):
            return [windows.conv(a, ins, shapes, out_shapes[0])]
        if k is K.POOL and isinstance(a, ir.PoolAttrs):
            return [windows.pool(a, ins[0], shapes[0], out_shapes[0])]
        if k is K.ADAPTIVE_POOL:
            return [windows.adaptive(ins[0], shapes[0], out_shapes[0])]
        if k is K.UPSAMPLE and isinstance(a, ir.UpsampleAttrs):
            return [windows.upsample(op_name(node), a, ins[0], shapes[0], out_shapes[0])]
        if k is K.PAD and isinstance(a, ir.PadAttrs):
            return [windows.pad(a, ins[0], shapes[0], out_shapes[0])]
        if k is K.REDUCE and isinstance(a, ir.ReduceAttrs):
            return [contractions.reduce(a, ins[0], shapes[0], out_shapes)]
        if k is K.LINEAR and isinstance(a, ir.LinearAttrs):
            return [contractions.linear(a, ins, shapes, out_shapes[0])]
        if k is K.VIEW:
            order = a.order if isinstance(a, ir.ViewAttrs) else None
            return view(op_name(node), order, ins[0], shapes[0], out_shapes)
        if k is K.CAT:
            return self.merged(merges.cat(node, ins, shapes, out_shapes[0]))
        if k is K.COPY:
            return self.copy(node, ins, shapes, out_shapes[0])
        if k is K.SOFTMAX:
            [t] = self.merged(merges.pointwise(node, ins, shapes, out_shapes[0], exact=True))
            if t.layout is not None and t.layout and dim_axis(t.layout[-1]) == MERGED:
                return [derive(t, keep_layout=True, is_global=True)]
            return [t]
        exact = k in (K.NORM, K.ACTIVATION, K.ELEMENTWISE, K.DROPOUT, K.EMBEDDING)
        return self.merged(merges.pointwise(node, ins, shapes, out_shapes[0], exact=exact))

    def copy(
        self,
        node: ir.Node,
        ins: list[TensorState],
        shapes: list[tuple[int, ...]],
        out_shape: tuple[int, ...],
    ) -> list[TensorState]:
        """Copies and the ops that move elements (pixel shuffle, roll, flip)."""
        packet = op_name(node)
        if packet in ("copy_", "copy") and len(ins) > 1:
            ins, shapes = ins[-1:], shapes[-1:]
        if packet in ("pixel_shuffle", "pixel_unshuffle"):
            shuffled = windows.pixel_shuffle(packet, ins[0], shapes[0], out_shape)
            if shuffled is not None:
                return [shuffled]
        exact = packet not in ("roll", "flip")
        return self.merged(merges.pointwise(node, ins, shapes, out_shape, exact=exact))


def _ancestors(path: str) -> list[str]:
    """``"a.b.c"`` → ``["", "a", "a.b", "a.b.c"]``."""
    if not path:
        return [""]
    parts = path.split(".")
    return [""] + [".".join(parts[: i + 1]) for i in range(len(parts))]


def _window_rank(graph: ir.Graph) -> int:
    """Spatial rank of the first conv / pool of the graph (0 if none)."""
    for n in graph.nodes:
        if isinstance(n.attrs, (ir.ConvAttrs, ir.PoolAttrs)):
            return len(n.attrs.kernel)
    return 0


def _adapt(t: TensorState, src: Sequence[int], dst: Sequence[int]) -> TensorState:
    """State of a write into a region of shape ``src`` seen through an alias of shape
    ``dst`` (right-aligned dims; the write is assumed to start at offset 0)."""
    if t.layout is None or len(t.layout) != len(src):
        return t
    if tuple(src) == tuple(dst):
        return t
    extra = len(src) - len(dst)
    if extra > 0 and any(has_spatial(d) for d in t.layout[:extra]):
        return derive(t, layout=None, is_global=True, approx=True)
    new: list[Dim] = []
    approx = False
    for d, n in enumerate(dst):
        e = d - (len(dst) - len(src))
        if e < 0:
            new.append(((OTHER, n),))
            continue
        atoms = t.layout[e]
        if src[e] == n:
            new.append(atoms)
            continue
        ax = dim_axis(atoms)
        if ax == MERGED:
            return derive(t, layout=None, is_global=True, approx=True)
        if ax is not None and ax >= 0:
            new.append(((ax, n),))
            approx = True
        else:
            new.append(((OTHER, n),))
    layout: Layout = tuple(new)
    return derive(t, layout=layout, approx=approx)


def receptive_field(graph: ir.Graph) -> ReceptiveField:
    """Receptive field of every tensor, node and layer of ``graph`` (see the module doc)."""
    try:
        return _Walk(graph).run()
    except Exception as exc:  # the counts still stand; the result says what went wrong
        nd = len(graph.input_spatial)
        return ReceptiveField(
            per_tensor=MappingProxyType({}),
            per_node=MappingProxyType({}),
            per_layer=MappingProxyType({}),
            output=None,
            input_size=tuple(int(s) for s in graph.input_spatial)[:nd],
            misalignments=(),
            failure=f"the receptive-field pass failed: {describe(exc)} (please report this bug)",
        )
