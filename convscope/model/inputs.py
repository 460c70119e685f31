"""The example inputs a loaded model is traced with: ``-i`` shapes, then what the model file
declares (``example_inputs()``, ``INPUT_SHAPE``), then what the spec knows (a ``.pt2``
program's sample inputs, a zoo model's own size), then the default; and a check that
``forward`` gets enough.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from convscope.errors import InputError, describe
from convscope.model.guard import ModelCodeError, model_code
from convscope.model.shapes import DEFAULT_INPUT_SHAPE, is_shape, meta_inputs, validate_shapes
from convscope.model.target import Target
from convscope.model.usercode import type_name

__all__ = ["check_input_count", "choose_inputs"]


def _file_inputs(target: Target) -> tuple[tuple[torch.Tensor, ...], str] | None:
    """Inputs the model file declares: ``example_inputs()`` first, then ``INPUT_SHAPE``."""
    ns = vars(target.namespace) if target.namespace is not None else {}
    where = f"in {target.origin}"
    if "example_inputs" in ns:
        provider = ns["example_inputs"]
        try:
            with model_code("example_inputs()", target.origin):
                value = provider() if callable(provider) else provider
        except ModelCodeError:
            raise
        except Exception as exc:  # user code; reported as one line
            raise InputError(f"example_inputs() {where} failed: {describe(exc)}") from exc
        return _as_tensors(value, where), "example_inputs"
    if "INPUT_SHAPE" in ns:
        declared = ns["INPUT_SHAPE"]
        shapes: Sequence[Any] = (declared,) if is_shape(declared) else declared
        if not isinstance(shapes, (tuple, list)) or not all(is_shape(s) for s in shapes):
            raise InputError(
                f"INPUT_SHAPE {where} must be a tuple of positive ints or a list "
                f"of such tuples, got {declared!r}"
            )
        return meta_inputs(validate_shapes(shapes, where)), "INPUT_SHAPE"
    return None


def _as_tensors(value: Any, where: str) -> tuple[torch.Tensor, ...]:
    items = (value,) if isinstance(value, torch.Tensor) else value
    if (
        not isinstance(items, (tuple, list))
        or not items
        or not all(isinstance(t, torch.Tensor) for t in items)
    ):
        raise InputError(
            f"example_inputs() {where} must return a tensor or a tuple of "
            f"tensors, got {type_name(value)}"
        )
    return tuple(items)


def choose_inputs(
    target: Target, module: nn.Module, input_shapes: Sequence[tuple[int, ...]] | None
) -> tuple[tuple[torch.Tensor, ...], str]:
    if input_shapes:
        return meta_inputs(validate_shapes(input_shapes, "from the command line")), "cli"
    declared = _file_inputs(target)
    if declared is not None:
        return declared
    if target.example_inputs is not None:
        return target.example_inputs, "example_inputs"
    if target.natural_inputs is not None:
        return meta_inputs(target.natural_inputs(module)), "default"
    return meta_inputs((DEFAULT_INPUT_SHAPE,)), "default"


def check_input_count(module: nn.Module, inputs: Sequence[torch.Tensor], source: str) -> None:
    """Fail before tracing when ``forward`` needs more inputs than were given, saying how
    to give them; a traced ``missing 1 required positional argument`` says neither."""
    try:
        params = inspect.signature(module.forward).parameters.values()
    except (TypeError, ValueError):
        return
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    needed = [p.name for p in params if p.kind in positional and p.default is p.empty]
    if len(needed) <= len(inputs):
        return
    where = {"cli": "from -i", "default": "the default shape"}.get(source, source)
    shown = " ".join(f"-i {','.join(map(str, t.shape))}" for t in inputs)
    more = " -i SHAPE" * (len(needed) - len(inputs))
    raise InputError(
        f"{type(module).__name__}.forward takes {len(needed)} inputs ({', '.join(needed)}) "
        f"but got {len(inputs)} ({where}): repeat -i once per input, in forward's order "
        f"({shown}{more}), or define example_inputs() in the model file"
    )
