"""Trace and analyze a model: the entry points behind :func:`convscope.analyze`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import torch

from convscope.analysis import build as analysis_mod
from convscope.analysis.sections import as_key
from convscope.errors import InputError, UnsupportedOpError
from convscope.model.arguments import GivenInputs, ModelInputs
from convscope.model.guard import check_module_tree
from convscope.model.inputs import check_input_count
from convscope.model.load import load_model
from convscope.model.state import keeps_global_state
from convscope.sections import SectionKey
from convscope.trace import recorder as trace_mod

Analysis = analysis_mod.Analysis

__all__ = [
    "Analysis",
    "analyze",
    "analyze_loaded",
    "analyze_spec",
    "as_inputs",
    "with_extra",
]

DEFAULT_SHAPE = (1, 3, 224, 224)
T = TypeVar("T")


def as_inputs(inputs: Any = None, kwargs: Mapping[str, Any] | None = None) -> ModelInputs:
    """Normalise what a user passes as inputs into :class:`ModelInputs`: a tensor, a
    tuple/list of tensors, a shape tuple ``(1, 3, 224, 224)``, a list of shapes, a dict of
    keyword inputs (``{"pixel_values": x}``) or :class:`ModelInputs` itself; ``kwargs``
    adds keyword inputs. Shapes become meta tensors. Nothing at all means one
    1×3×224×224 input."""
    if isinstance(inputs, ModelInputs):
        base = inputs
    elif isinstance(inputs, Mapping):
        base = ModelInputs((), {k: _value(v) for k, v in inputs.items()})
    elif inputs is None:
        base = ModelInputs(() if kwargs else (torch.empty(DEFAULT_SHAPE, device="meta"),))
    elif isinstance(inputs, torch.Tensor):
        base = ModelInputs((inputs,))
    elif isinstance(inputs, (tuple, list)):
        if inputs and all(isinstance(d, int) for d in inputs):
            base = ModelInputs((_shape_tensor(tuple(inputs)),))
        else:
            base = ModelInputs(tuple(_value(item) for item in inputs))
    else:
        raise InputError(
            "inputs must be a tensor, a tuple of tensors, a shape or a dict of keyword "
            f"inputs, not {type(inputs).__name__}"
        )
    if not kwargs:
        return base
    twice = sorted(set(base.kwargs) & set(kwargs))
    if twice:
        raise InputError(f"keyword input {twice[0]!r} is given twice")
    return ModelInputs(base.args, {**base.kwargs, **{k: _value(v) for k, v in kwargs.items()}})


def _value(item: Any) -> Any:
    """One input: a shape becomes a meta tensor, anything else is kept."""
    if isinstance(item, (tuple, list)) and item and all(isinstance(d, int) for d in item):
        return _shape_tensor(tuple(item))
    return item


def _shape_tensor(shape: tuple[int, ...]) -> torch.Tensor:
    if any(d <= 0 for d in shape):
        raise InputError(f"input shape {shape} has a non-positive dimension")
    return torch.empty(shape, device="meta")


@keeps_global_state
def analyze(
    model: torch.nn.Module,
    inputs: Any = None,
    *,
    kwargs: Mapping[str, Any] | None = None,
    device: str = "meta",
    dtype: str | None = None,
    name: str | None = None,
    rebuild: Callable[[], torch.nn.Module] | None = None,
    strict: bool = False,
) -> Analysis:
    """Trace ``model`` on ``inputs`` and compute per-layer parameters, MACs, memory traffic
    and mixing profile.

    ``inputs`` and ``kwargs`` are what ``forward`` is called with (see :func:`as_inputs`):
    ``analyze(model, kwargs={"pixel_values": (1, 3, 224, 224)})`` calls
    ``model(pixel_values=...)``; a forward whose required arguments are not all given
    raises :class:`InputError` naming them.

    ``device="meta"`` (default) allocates no weights or activations and falls back to real
    CPU tensors when the model cannot run on meta (the result's ``graph.mode`` and
    ``graph.fallback_reason`` say so). ``dtype`` re-prices bytes (``"float16"``, ``"int8"``).
    With ``strict=True`` ops that have no cost formula raise :class:`UnsupportedOpError`.
    The model is not modified.
    """
    check_module_tree(model, name or type(model).__name__)
    given = as_inputs(inputs, kwargs)
    check_input_count(model, given, "call")
    graph = trace_mod.trace(model, given, device=device, rebuild=rebuild)
    result = analysis_mod.build(name or type(model).__name__, graph, dtype=dtype)
    if strict and result.unknown:
        listed = ", ".join(f"{u.op} ×{u.count} (in {u.layers[0]})" for u in result.unknown[:5])
        raise UnsupportedOpError(f"{len(result.unknown)} op type(s) have no cost formula: {listed}")
    return result


@keeps_global_state
def analyze_spec(
    spec: str,
    *,
    input_shapes: GivenInputs | None = None,
    weights: str | None = None,
    trust_pickle: bool = False,
    device: str = "meta",
    dtype: str | None = None,
    strict: bool = False,
) -> Analysis:
    """Load a MODEL spec (``examples/resnet.py``, ``torchvision:resnet50``, ...) and analyze it."""

    loaded = load_model(
        spec, input_shapes=input_shapes, weights=weights, trust_pickle=trust_pickle, device=device
    )
    return analyze_loaded(loaded, device=device, dtype=dtype, strict=strict)


@keeps_global_state
def analyze_loaded(
    loaded: Any, *, device: str = "meta", dtype: str | None = None, strict: bool = False
) -> Analysis:
    """Analyze a :class:`convscope.model.load.LoadedModel` (its module, inputs, spec as the name,
    and its rebuild function for the CPU fallback)."""
    return analyze(
        loaded.module,
        loaded.inputs,
        device=device,
        dtype=dtype,
        name=loaded.spec,
        rebuild=loaded.rebuild,
        strict=strict,
    )


def with_extra(a: Analysis, key: SectionKey[T], section: T) -> Analysis:
    """A copy of ``a`` with the ``key`` section set to ``section`` (a result with
    ``summary_dict`` / ``layer_dict``, which reporters render); ``a`` is not changed.
    :meth:`Analysis.with_section` as a function: TypeError when ``section`` is not of the
    key's type. ``key`` may also be the name of a built-in key (``"erf"``)."""
    return a.with_section(as_key(key), section)
