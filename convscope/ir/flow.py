"""Dataflow helpers over the frozen graph, shared by the rules.

Ops are classified by :class:`~convscope.ir.graph.OpKind` and attrs only:

* **channel mixing**: a conv whose groups see more than one input channel (dense, grouped or
  pointwise; not depthwise), or a linear layer with a weight;
* **spatial**: a conv with a kernel larger than 1 (depthwise or dense) and windowed pooling;
* **merge**: a concatenation, or an elementwise op combining two or more activations of the
  output's own shape that derive from *different* tensors (a residual ``add``); an
  elementwise op whose second operand broadcasts (a squeeze-excitation gate ``x * s``) is a
  *gate* and passes its full-size input through;
* **self-gate**: an elementwise op whose full-size operands are all per-element functions of
  one tensor (``x * sigmoid(x)``, ``x * relu6(x + 3) / 6``, a hand-written GELU or Mish):
  an activation written out, not a merge. "Per-element function" is dataflow, never names:
  the operands reach a common tensor through activations and elementwise ops whose
  activation inputs are all full-size and reach it too. A broadcast operand (a gate computed
  through a reduction, as in squeeze-excitation) ends that derivation, so ``x * s`` stays a
  gate and ``x + x * s`` stays a merge;
* **transparent**: ops that keep the channel structure (norms, activations, views, copies,
  dropout, padding, upsampling, reductions, gates): walks pass through them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import cached_property

from convscope.ir import graph as ir

K = ir.OpKind
_VIEWS = frozenset({K.VIEW})
_PASS_THROUGH = frozenset({K.NORM, K.ACTIVATION, K.VIEW, K.COPY, K.DROPOUT, K.PAD})
# ops that compute each output element from the same element of their inputs
_PER_ELEMENT = frozenset({K.ACTIVATION, K.ELEMENTWISE, K.COPY})

NodeFilter = Callable[[ir.Node], bool]


class Flow:
    """Producer / consumer walks over one graph. Build once per lint run; stateless after."""

    def __init__(self, graph: ir.Graph) -> None:
        self.graph = graph

    # ------------------------------------------------------------------ classification

    @staticmethod
    def conv(node: ir.Node) -> ir.ConvAttrs | None:
        if node.kind is K.CONV and isinstance(node.attrs, ir.ConvAttrs):
            return node.attrs
        return None

    @staticmethod
    def linear(node: ir.Node) -> ir.LinearAttrs | None:
        """Attrs of a linear layer with a weight (activation-by-activation matmuls excluded)."""
        if node.kind is K.LINEAR and isinstance(node.attrs, ir.LinearAttrs) and node.attrs.weight:
            return node.attrs
        return None

    def is_depthwise(self, node: ir.Node) -> bool:
        """A depthwise conv with a spatial kernel (``groups == in_channels > 1``, k > 1)."""
        a = self.conv(node)
        return a is not None and a.is_depthwise and not a.transposed and not a.is_pointwise

    def is_channel_mixing(self, node: ir.Node) -> bool:
        a = self.conv(node)
        if a is not None:  # a depthwise 1×1 (one input channel per group) mixes nothing
            return a.in_channels // a.groups > 1
        return self.linear(node) is not None

    def is_spatial(self, node: ir.Node) -> bool:
        """Ops that look at a neighbourhood: k×k convs and windowed pooling."""
        a = self.conv(node)
        if a is not None:
            return not a.is_pointwise
        return node.kind is K.POOL

    def is_merge(self, node: ir.Node) -> bool:
        if node.kind is K.CAT:
            return len(self._activation_inputs(node)) >= 2
        if node.kind is K.ELEMENTWISE and node.outputs:
            return len({self.root(t) for t in self._full_inputs(node)}) >= 2
        return False

    def is_self_gate(self, node: ir.Node) -> bool:
        """An elementwise op of several full-size operands that are all per-element functions
        of one tensor (``x * sigmoid(x)``): an activation written by hand."""
        if node.kind is not K.ELEMENTWISE or not node.outputs:
            return False
        full = self._full_inputs(node)
        return len(full) >= 2 and len({self.root(t) for t in full}) == 1

    def is_activation(self, node: ir.Node) -> bool:
        """An activation, from the library or written by hand: an activation op, or an
        elementwise op whose output is a per-element function of one tensor (the ``x + 3``,
        ``x * sigmoid(x)`` and ``/ 6`` of a hard-swish written out)."""
        if node.kind is K.ACTIVATION:
            return True
        return (
            node.kind is K.ELEMENTWISE
            and len(node.outputs) == 1
            and self.root(node.outputs[0].id) != node.outputs[0].id
        )

    def root(self, tensor: int) -> int:
        """The tensor that ``tensor`` is a per-element function of (itself, unless it was
        computed from one tensor through activations and full-size elementwise ops)."""
        return self._roots.get(tensor, tensor)

    def is_gate(self, node: ir.Node) -> bool:
        """An elementwise op with one full-size activation input (``x * s``, ``x + 1``)."""
        return node.kind is K.ELEMENTWISE and not self.is_merge(node)

    def is_transparent(self, node: ir.Node) -> bool:
        """Ops a walk passes through: they keep channels and mix nothing."""
        if node.kind in _PASS_THROUGH or node.kind in (K.UPSAMPLE, K.REDUCE, K.ADAPTIVE_POOL):
            return True
        return self.is_gate(node)

    # ------------------------------------------------------------------ tensors

    def _shape(self, tensor: int) -> tuple[int, ...] | None:
        t = self.graph.tensor.get(tensor)
        return t.shape if t is not None else None

    def _full_inputs(self, node: ir.Node) -> list[int]:
        """Activation inputs of the output's shape (broadcast operands left out)."""
        shape = node.outputs[0].shape
        return [t for t in self._activation_inputs(node) if self._shape(t) == shape]

    @cached_property
    def _roots(self) -> dict[int, int]:
        """Output tensor → the tensor it is a per-element function of, for the outputs of
        per-element ops whose activation inputs are all full-size and share one root.
        One pass in execution order, so chains of any length cost no recursion."""
        roots: dict[int, int] = {}
        for n in self.graph.nodes:
            if n.kind not in _PER_ELEMENT or len(n.outputs) != 1:
                continue
            inputs = self._activation_inputs(n)
            if not inputs or len(self._full_inputs(n)) != len(inputs):
                continue  # a broadcast operand (a squeeze-excitation gate) ends the function
            found = {roots.get(t, t) for t in inputs}
            if len(found) == 1:
                roots[n.outputs[0].id] = found.pop()
        return roots

    def _activation_inputs(self, node: ir.Node) -> list[int]:
        """Distinct input tensors that are activations (produced by a node or graph inputs)."""
        graph_inputs = self._graph_inputs
        return [
            t for t in dict.fromkeys(node.inputs) if t in self.graph.producer or t in graph_inputs
        ]

    @cached_property
    def _graph_inputs(self) -> frozenset[int]:
        return frozenset(t.id for t in self.graph.inputs)

    @cached_property
    def _graph_outputs(self) -> frozenset[int]:
        return frozenset(self.graph.outputs)

    def main_input(self, node: ir.Node) -> int | None:
        """The activation input that carries the data: the first one of the output's shape,
        else the first activation input."""
        inputs = self._activation_inputs(node)
        if not inputs:
            return None
        if node.outputs:
            shape = node.outputs[0].shape
            for t in inputs:
                if self._shape(t) == shape:
                    return t
        return inputs[0]

    # ------------------------------------------------------------------ walks

    def source(self, node: ir.Node, through: NodeFilter | None = None) -> ir.Node | None:
        """The nearest producer of ``node``'s main input, walking back through ops accepted
        by ``through`` (default: views only). ``None`` when the walk reaches a graph input."""
        accept = through or (lambda n: n.kind in _VIEWS)
        tensor = self.main_input(node)
        seen: set[int] = set()
        while tensor is not None:
            producer = self.graph.producer.get(tensor)
            if producer is None or producer.id in seen:
                return None
            seen.add(producer.id)
            if not accept(producer):
                return producer
            tensor = self.main_input(producer)
        return None

    def source_through_transparent(self, node: ir.Node) -> ir.Node | None:
        """Nearest producer walking back through norms, activations, views and gates."""
        return self.source(node, lambda n: self.is_transparent(n) and not self._is_reduction(n))

    def _is_reduction(self, node: ir.Node) -> bool:
        return node.kind in (K.REDUCE, K.ADAPTIVE_POOL)

    def consumers(self, node: ir.Node, through: NodeFilter | None = None) -> list[ir.Node]:
        """Nodes that read ``node``'s outputs, looking through ops accepted by ``through``
        (default: views only). Order: execution order, duplicates removed."""
        accept = through or (lambda n: n.kind in _VIEWS)
        out: dict[int, ir.Node] = {}
        seen: set[int] = set()
        stack = [t.id for t in node.outputs]
        while stack:
            tensor = stack.pop()
            for c in self.graph.consumers.get(tensor, ()):
                if c.id in seen:
                    continue
                seen.add(c.id)
                if accept(c):
                    stack.extend(t.id for t in c.outputs)
                else:
                    out[c.id] = c
        return [out[k] for k in sorted(out)]

    def reaches_output(self, node: ir.Node, through: NodeFilter | None = None) -> bool:
        """True when ``node``'s output is (through ops accepted by ``through``) a model output."""
        accept = through or (lambda n: n.kind in _VIEWS)
        stack = [t.id for t in node.outputs]
        seen: set[int] = set()
        while stack:
            tensor = stack.pop()
            if tensor in self._graph_outputs:
                return True
            for c in self.graph.consumers.get(tensor, ()):
                if c.id not in seen and accept(c):
                    seen.add(c.id)
                    stack.extend(t.id for t in c.outputs)
        return False

    def forward(self, node: ir.Node, through: NodeFilter) -> Iterator[ir.Node]:
        """First nodes downstream of ``node`` that ``through`` does not accept, on every path."""
        seen: set[int] = set()
        stack = [t.id for t in node.outputs]
        while stack:
            tensor = stack.pop()
            for c in self.graph.consumers.get(tensor, ()):
                if c.id in seen:
                    continue
                seen.add(c.id)
                if through(c):
                    stack.extend(t.id for t in c.outputs)
                else:
                    yield c

    # ------------------------------------------------------------------ collections

    def nodes(self, predicate: NodeFilter) -> Iterator[ir.Node]:
        return (n for n in self.graph.nodes if predicate(n))

    def convs(self) -> Iterator[tuple[ir.Node, ir.ConvAttrs]]:
        for n in self.graph.nodes:
            a = self.conv(n)
            if a is not None:
                yield n, a

    def uses_fixed_weights(self, node: ir.Node) -> bool:
        """True when the op reads no parameter, only buffers (e.g. a blur filter in a buffer)."""
        owners = [self.graph.param.get(p) for p in node.params]
        return not any(o is not None and not o.is_buffer for o in owners)
