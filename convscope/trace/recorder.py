"""Run a model once under a dispatch recorder and return its :class:`~convscope.ir.graph.Graph`.

The recorder is a ``TorchDispatchMode``: it sees every ATen op, including functional
calls (``F.conv2d``, ``x + y``, ``@``) that forward hooks miss, follows Python control
flow, and runs on meta tensors, so no weight or activation is allocated. Ownership of an
op is the innermost module whose ``forward`` was running, tracked with *global* module
hooks that are removed on exit (nothing is registered on the user's modules). A module
instance registered under several paths (one ``SiLU`` shared by every conv block) is named
by the path under the module that called it, so each place it runs is its own layer; its
parameters keep their first name and are counted once.

The user's model is never changed: a model with real weights is run through
``torch.func.functional_call`` with meta stand-ins for its parameters and buffers (the
originals are put back by torch even on error), and every module's train/eval flag is
restored afterwards. Lazy modules (``nn.LazyConv2d``...) are materialized the way torch
does it, by one forward on the example input, but on a deep copy (see
:func:`convscope.model.materialize.materialize_lazy`). When the model cannot run on meta
(data-dependent ops such as NMS or ``.item()``), the trace falls back to real CPU tensors
and the graph says why.
"""

from __future__ import annotations

import dataclasses
import os
import re
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten
from torch.utils.weak import WeakIdKeyDictionary

from convscope.errors import TraceError, describe
from convscope.ir import graph as ir
from convscope.model.arguments import ModelInputs
from convscope.model.guard import ModelCodeError, model_code, module_label
from convscope.model.materialize import has_meta, materialize_lazy, real_inputs
from convscope.model.modes import eval_mode, global_forward_hooks, kept_attributes
from convscope.trace.classify import classify


def _dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


class _Recorder(TorchDispatchMode):
    """Records ops into plain lists; turned into a frozen Graph by :func:`trace`."""

    def __init__(
        self, param_names: Mapping[int, str], module_names: Mapping[int, Sequence[str]]
    ) -> None:
        super().__init__()
        self.param_names = param_names  # id(tensor) → canonical parameter / buffer name
        self.module_names = module_names  # id(module) → every path it is registered under
        self.tids: WeakIdKeyDictionary = WeakIdKeyDictionary()  # tensor → current tensor id
        self.param_views: WeakIdKeyDictionary = WeakIdKeyDictionary()  # view of a param → name
        self.tensors: list[ir.TensorSpec] = []
        self.nodes: list[ir.Node] = []
        self.stack: list[tuple[str, str, int]] = [("", "", 0)]  # (path, type, call index)
        self.calls: dict[str, int] = {}
        self.input_ids: list[int] = []

    # -- tensors -----------------------------------------------------------------------
    def new_tensor(self, t: torch.Tensor, storage: int | None = None) -> ir.TensorSpec:
        tid = len(self.tensors)
        spec = ir.TensorSpec(
            id=tid,
            shape=tuple(int(s) for s in t.shape),
            dtype=_dtype_name(t.dtype),
            storage=tid if storage is None else storage,
        )
        self.tensors.append(spec)
        self.tids[t] = tid
        return spec

    def param_name(self, t: torch.Tensor) -> str | None:
        name = self.param_names.get(id(t))
        if name is not None:
            return name
        return self.param_views.get(t)

    # -- modules -----------------------------------------------------------------------
    def enter(self, module: torch.nn.Module) -> None:
        paths = self.module_names.get(id(module))
        # a module created inside forward has no name: it belongs to its caller
        path = self.stack[-1][0] if paths is None else self._place(paths)
        index = self.calls.get(path, 0)
        self.calls[path] = index + 1
        self.stack.append((path, type(module).__name__, index))

    def _place(self, paths: Sequence[str]) -> str:
        """Where a module registered under several paths (one activation instance shared by
        every conv block) runs: the path under the module now running it, so each place
        gets its own row. Several such paths under one parent are taken in call order."""
        if len(paths) == 1:
            return paths[0]
        caller = self.stack[-1][0]
        under = [p for p in paths if p.rpartition(".")[0] == caller]
        if under:
            return min(under, key=lambda p: self.calls.get(p, 0))  # stable: first on ties
        prefix = caller + "." if caller else ""
        inside = [p for p in paths if p.startswith(prefix)]
        return min(inside, key=lambda p: p.count(".")) if inside else paths[0]

    def leave(self) -> None:
        if len(self.stack) > 1:
            self.stack.pop()

    # -- ops ---------------------------------------------------------------------------
    def __torch_dispatch__(
        self,
        func: Any,
        types: Any,
        args: Sequence[Any] = (),
        kwargs: Mapping[str, Any] | None = None,
    ) -> Any:
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        flat_in = [a for a in tree_flatten((args, kwargs))[0] if isinstance(a, torch.Tensor)]
        flat_out = [o for o in tree_flatten(out)[0] if isinstance(o, torch.Tensor)]
        kind, attrs = classify(func, args, kwargs, flat_out)

        params: list[str] = []
        inputs: list[int] = []
        for t in flat_in:
            name = self.param_name(t)
            if name is not None:
                if name not in params:
                    params.append(name)
                continue
            tid = self.tids.get(t)
            if tid is None:  # a constant made outside the trace
                tid = self.new_tensor(t).id
            inputs.append(tid)

        # A view of a parameter (``t(weight)`` before ``addmm``) stays a parameter: the op
        # that consumes it reads the weight, and the view itself costs nothing.
        if kind is ir.OpKind.VIEW and params and not inputs:
            for o in flat_out:
                self.param_views[o] = params[0]
            return out

        if isinstance(attrs, ir.LinearAttrs) and params:
            attrs = dataclasses.replace(attrs, weight=True)

        schema = func._schema
        aliases_input = bool(schema.returns) and schema.returns[0].alias_info is not None
        outputs: list[ir.TensorSpec] = []
        for o in flat_out:
            storage = None
            if aliases_input and inputs:
                storage = self.tensors[inputs[0]].storage
            outputs.append(self.new_tensor(o, storage))

        path, type_name, index = self.stack[-1]
        self.nodes.append(
            ir.Node(
                id=len(self.nodes),
                op=str(func),
                kind=kind,
                attrs=attrs,
                inputs=tuple(inputs),
                params=tuple(params),
                outputs=tuple(outputs),
                module=path,
                module_type=type_name,
                call_index=index,
                call_site=_call_site() if kind in _LAYER_KINDS else None,
            )
        )
        return out


@contextmanager
def _module_hooks(recorder: _Recorder) -> Iterator[None]:
    """Global forward hooks that track the running module; removed on exit.

    The post hook is not ``always_call``: when a forward raises, the stack keeps the
    failing module on top, so the error message can name it.
    """

    def pre(module: torch.nn.Module, args: Any) -> None:
        recorder.enter(module)

    def post(module: torch.nn.Module, args: Any, output: Any) -> None:
        recorder.leave()

    with global_forward_hooks(pre, post):
        yield


@contextmanager
def _eval_mode(model: torch.nn.Module) -> Iterator[None]:
    """Eval mode for the call, each module's flag restored (see :mod:`convscope.model.modes`)."""
    with eval_mode(model):
        yield


def _named_tensors(model: torch.nn.Module) -> list[tuple[str, torch.Tensor, bool]]:
    """Every (name, tensor, is_buffer), with duplicates: shared modules and tied weights
    appear under each of their names."""
    out: list[tuple[str, torch.Tensor, bool]] = []
    for name, p in model.named_parameters(remove_duplicate=False):
        out.append((name, p, False))
    for name, b in model.named_buffers(remove_duplicate=False):
        out.append((name, b, True))
    return out


def _owners(
    named: Sequence[tuple[str, torch.Tensor, bool]],
) -> tuple[list[ir.TensorOwner], dict[int, str]]:
    """Group names by tensor identity: tied weights are one owner with aliases."""
    groups: dict[int, list[tuple[str, torch.Tensor, bool]]] = {}
    for entry in named:
        groups.setdefault(id(entry[1]), []).append(entry)
    owners: list[ir.TensorOwner] = []
    canonical: dict[int, str] = {}
    for key, entries in groups.items():
        name, t, is_buffer = entries[0]
        canonical[key] = name
        owners.append(
            ir.TensorOwner(
                name=name,
                aliases=tuple(e[0] for e in entries[1:]),
                shape=tuple(int(s) for s in t.shape),
                dtype=_dtype_name(t.dtype),
                trainable=bool(t.requires_grad) and not is_buffer,
                is_buffer=is_buffer,
                module=name.rpartition(".")[0],
            )
        )
    return owners, canonical


def _to_device(inputs: ModelInputs, device: str) -> ModelInputs:
    """Meta stand-ins or real random tensors with the inputs' shapes and dtypes.

    Inputs may nest tensors in lists, tuples and dicts (detection models take a list of
    images): every tensor leaf is converted, the structure is kept.
    """
    if device != "meta":
        return real_inputs(inputs)  # seeded, so a fallback run is reproducible
    return inputs.map_tensors(lambda x: torch.empty(x.shape, dtype=x.dtype, device="meta"))


def _run(
    model: torch.nn.Module,
    inputs: ModelInputs,
    device: str,
    stand_ins: Mapping[str, torch.Tensor] | None,
    holder: list[_Recorder],
) -> tuple[_Recorder, Any, list[ir.TensorOwner]]:
    """One traced call. ``holder`` receives the recorder so a failure can name its layer."""
    named = _named_tensors(model)
    owners, canonical = _owners(named)
    # Parameters as the recorder will see them: the stand-ins when we substitute them.
    if stand_ins is not None:
        by_name = {n: canonical[id(t)] for n, t, _ in named}
        param_names = {id(stand_ins[n]): by_name[n] for n in stand_ins}
    else:
        param_names = dict(canonical)
    module_names: dict[int, list[str]] = {}
    for name, m in model.named_modules(remove_duplicate=False):
        module_names.setdefault(id(m), []).append(name)
    recorder = _Recorder(param_names, module_names)
    holder.append(recorder)
    given = _to_device(inputs, device)
    recorder.input_ids = [recorder.new_tensor(a).id for a in given.tensors()]
    with (
        model_code("forward", module_label(model)),
        kept_attributes(model),  # a forward's cache (``self.anchors = ...``) holds meta
        _eval_mode(model),
        torch.no_grad(),
        _module_hooks(recorder),
        recorder,
    ):
        if stand_ins is not None:
            out = torch.func.functional_call(
                model,
                dict(stand_ins),
                given.args,
                dict(given.kwargs),
                strict=False,
                tie_weights=True,
            )
        else:
            out = given.call(model)
    return recorder, out, owners


def _meta_stand_ins(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """One meta tensor per unique parameter/buffer, reused for its aliases (tied weights)."""
    made: dict[int, torch.Tensor] = {}
    out: dict[str, torch.Tensor] = {}
    for name, t, is_buffer in _named_tensors(model):
        if id(t) not in made:
            # Same strides: a model converted to channels-last runs its convs so.
            stand_in = torch.empty_strided(t.shape, t.stride(), dtype=t.dtype, device="meta")
            made[id(t)] = (
                torch.nn.Parameter(stand_in, requires_grad=t.requires_grad)
                if not is_buffer
                else stand_in
            )
        out[name] = made[id(t)]
    return out


def _on_meta(model: torch.nn.Module) -> bool:
    tensors = [t for _, t, _ in _named_tensors(model)]
    return bool(tensors) and all(t.is_meta for t in tensors)


def _failing_layer(holder: Sequence[_Recorder]) -> str:
    """The innermost module running when an exception escaped the forward."""
    if not holder or len(holder[0].stack) <= 1:
        return ""
    path, type_name, _ = holder[0].stack[-1]
    return f" in layer '{path or '(root)'}' ({type_name})"


def _batch_hint(inputs: ModelInputs, exc: BaseException) -> str:
    """A hint when a 3-D input (C×H×W) probably lacks its batch dimension: conv, norm and
    pool layers then fail with "expected 4D input (got 3D input)" or a shape mismatch."""
    flat = inputs.tensors()
    short = [t for t in flat if t.dim() == 3]
    if not short or not re.search(r"\b3D\b|dimension|dims|shape|size", str(exc)):
        return ""
    shape = tuple(short[0].shape)
    shown = "×".join(map(str, shape))
    if shape[0] == 1:
        # 1×C×W: a batch of one with a spatial dimension missing (torch then takes the 1 for
        # the channels of an unbatched C×H×W map); a square map is the likely intent.
        fixed = (*shape, shape[-1])
        why = f"the input {shown} has 3 dimensions; a 2-D layer takes N×C×H×W"
    else:
        fixed = (1, *shape)
        why = f"the input {shown} has no batch dimension? shapes include it"
    return f" ({why}: -i {','.join(map(str, fixed))})"


def trace(
    model: torch.nn.Module,
    inputs: ModelInputs | Sequence[Any],
    *,
    device: str = "meta",
    rebuild: Callable[[], torch.nn.Module] | None = None,
) -> ir.Graph:
    """Trace ``model(*inputs.args, **inputs.kwargs)`` (``model(*inputs)`` for a sequence)
    into a Graph.

    ``device="meta"`` (default) runs without allocating weights or activations and falls
    back to real CPU tensors when an op cannot run on meta; ``rebuild`` supplies a real
    CPU model for that fallback when ``model`` itself lives on meta. ``device="cpu"``
    runs on real tensors directly.
    """
    if device not in ("meta", "cpu"):
        raise TraceError(f"unsupported trace device '{device}' (use meta or cpu)")
    inputs = ModelInputs.of(inputs)
    model = materialize_lazy(model, inputs)
    model_on_meta = _on_meta(model)
    fallback_reason: str | None = None
    if device == "meta":
        stand_ins = None if model_on_meta else _meta_stand_ins(model)
        holder: list[_Recorder] = []
        try:
            recorder, out, owners = _run(model, inputs, "meta", stand_ins, holder)
            return _freeze(model, recorder, out, owners, "meta", None)
        except ModelCodeError:  # exit, interrupt or timeout: running again would repeat it
            raise
        except Exception as exc:
            fallback_reason = f"meta tracing failed{_failing_layer(holder)}: {describe(exc)}"
    real = model
    if has_meta(model):
        # Even one meta parameter or buffer (a model partly built on meta) cannot run on
        # real tensors: the CPU run needs a real copy, never the meta one.
        if rebuild is None:
            raise TraceError(
                f"{fallback_reason or 'the model has meta parameters or buffers'}; "
                "no real copy of the model is available to run on CPU"
            )
        try:
            real = materialize_lazy(rebuild(), inputs)
        except (ModelCodeError, TraceError):
            raise
        except Exception as exc:
            raise TraceError(
                f"{fallback_reason or 'the model is on meta'}; building a real CPU copy "
                f"for the fallback failed: {describe(exc)}"
            ) from exc
        if has_meta(real):
            raise TraceError(
                f"{fallback_reason or 'the model is on meta'}; the rebuilt copy for the CPU "
                "fallback still has meta parameters or buffers"
            )
    holder = []
    try:
        recorder, out, owners = _run(real, inputs, "cpu", None, holder)
    except ModelCodeError:
        raise
    except Exception as exc:
        raise TraceError(
            f"running the model failed{_failing_layer(holder)}: {describe(exc)}"
            f"{_batch_hint(inputs, exc)}"
        ) from exc
    return _freeze(real, recorder, out, owners, "cpu", fallback_reason)


def _freeze(
    model: torch.nn.Module,
    rec: _Recorder,
    out: Any,
    owners: list[ir.TensorOwner],
    mode: str,
    fallback_reason: str | None,
) -> ir.Graph:
    outputs = tuple(
        rec.tids[o] for o in tree_flatten(out)[0] if isinstance(o, torch.Tensor) and o in rec.tids
    )
    # Every path, a shared module's second names included: each place it runs is a layer.
    named = list(dict(model.named_modules(remove_duplicate=False)).items())
    modules = tuple(
        ir.ModuleInfo(
            path=name,
            type_name=type(m).__name__,
            is_leaf=not list(m.children()),
            calls=rec.calls.get(name, 0),
        )
        for name, m in named
    )
    return ir.Graph(
        nodes=tuple(rec.nodes),
        inputs=tuple(rec.tensors[i] for i in rec.input_ids),
        outputs=outputs,
        tensors=tuple(rec.tensors),
        params=tuple(owners),
        modules=modules,
        mode=mode,
        fallback_reason=fallback_reason,
        model_type=type(model).__name__,
    )


#: Ops that make a finding's layer: for these the user's call line is kept, so a finding on
#: a functional call (``F.conv2d`` in a forward) can point at it.
_LAYER_KINDS = frozenset({ir.OpKind.CONV, ir.OpKind.LINEAR, ir.OpKind.POOL, ir.OpKind.VIEW})
# torch's and convscope's own package folders (a checkout named "convscope" is user code)
_OWN_DIRS = (
    os.path.dirname(torch.__file__) + os.sep,
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep,
)


def _call_site() -> tuple[str, int] | None:
    """The innermost frame outside torch and convscope: the model code that made the call."""
    frame = sys._getframe(2)
    while frame is not None:
        name = frame.f_code.co_filename
        if not name.startswith("<") and not name.startswith(_OWN_DIRS):
            return name, frame.f_lineno
        frame = frame.f_back  # type: ignore[assignment]
    return None
