"""The example inputs a loaded model is traced with: ``-i`` shapes, then what the model file
declares (``example_inputs()``, ``INPUT_SHAPE``), then what the spec knows (a ``.pt2``
program's sample inputs, a zoo model's own size), then the default; and a check that
``forward`` gets enough.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from convscope.errors import InputError, describe
from convscope.model.arguments import GivenInputs, ModelInputs
from convscope.model.guard import ModelCodeError, model_code
from convscope.model.shapes import DEFAULT_INPUT_SHAPE, is_shape, meta_inputs, validate_shapes
from convscope.model.target import Target
from convscope.model.usercode import type_name

__all__ = ["as_model_inputs", "check_input_count", "choose_inputs"]


def _file_inputs(target: Target) -> tuple[ModelInputs, str] | None:
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
        return as_model_inputs(value, where), "example_inputs"
    if "INPUT_SHAPE" in ns:
        declared = ns["INPUT_SHAPE"]
        shapes: Sequence[Any] = (declared,) if is_shape(declared) else declared
        if not isinstance(shapes, (tuple, list)) or not all(is_shape(s) for s in shapes):
            raise InputError(
                f"INPUT_SHAPE {where} must be a tuple of positive ints or a list "
                f"of such tuples, got {declared!r}"
            )
        return ModelInputs(meta_inputs(validate_shapes(shapes, where))), "INPUT_SHAPE"
    return None


# Plain values a keyword argument may take beside tensors (``return_dict=False``).
_PLAIN = (bool, int, float, str, type(None))


def as_model_inputs(value: Any, where: str) -> ModelInputs:
    """What ``example_inputs()`` returned, as inputs: a tensor, a tuple of tensors, a dict
    of keyword inputs (``{"pixel_values": x}``) or an ``(args, kwargs)`` pair."""
    if isinstance(value, ModelInputs):
        return value
    args: Any = value
    kwargs: Any = {}
    if isinstance(value, Mapping):
        args, kwargs = (), value
    elif (
        isinstance(value, tuple)
        and len(value) == 2
        and isinstance(value[0], (tuple, list))
        and isinstance(value[1], Mapping)
    ):
        args, kwargs = value
    if isinstance(args, torch.Tensor):
        args = (args,)
    good_args = isinstance(args, (tuple, list)) and all(isinstance(t, torch.Tensor) for t in args)
    good_kwargs = all(
        isinstance(k, str) and k.isidentifier() and isinstance(v, (torch.Tensor, *_PLAIN))
        for k, v in kwargs.items()
    )
    if not good_args or not good_kwargs or not (args or kwargs):
        raise InputError(
            f"example_inputs() {where} must return a tensor, a tuple of tensors, a dict of "
            f"keyword inputs ({{'pixel_values': x}}) or an (args, kwargs) pair, "
            f"got {type_name(value)}"
        )
    return ModelInputs(tuple(args), dict(kwargs))


def choose_inputs(
    target: Target,
    module: nn.Module,
    input_shapes: GivenInputs | None,
) -> tuple[ModelInputs, str]:
    if isinstance(input_shapes, ModelInputs) and input_shapes:
        return input_shapes, "cli"
    if input_shapes:
        shapes = validate_shapes(input_shapes, "from the command line")  # type: ignore[arg-type]
        return ModelInputs(meta_inputs(shapes)), "cli"
    declared = _file_inputs(target)
    if declared is not None:
        return declared
    if target.example_inputs is not None:
        return ModelInputs.of(target.example_inputs), "example_inputs"
    if target.natural_inputs is not None:
        return ModelInputs(meta_inputs(target.natural_inputs(module))), "default"
    return ModelInputs(meta_inputs((DEFAULT_INPUT_SHAPE,))), "default"


_WHERE = {"cli": "from -i", "default": "the default shape", "call": "in the call"}


def check_input_count(module: nn.Module, inputs: ModelInputs, source: str) -> None:
    """Fail before tracing when ``forward``'s required arguments are not all given, or a
    keyword input names no argument, saying how to give them; a traced ``missing 1
    required positional argument`` says neither."""
    try:
        params = list(inspect.signature(module.forward).parameters.values())
    except (TypeError, ValueError):
        return
    P = inspect.Parameter
    positional = [p for p in params if p.kind in (P.POSITIONAL_ONLY, P.POSITIONAL_OR_KEYWORD)]
    takes_var_args = any(p.kind is P.VAR_POSITIONAL for p in params)
    takes_var_kwargs = any(p.kind is P.VAR_KEYWORD for p in params)
    by_position = {p.name for p in positional[: len(inputs.args)]}
    missing = [
        p.name
        for p in params
        if p.default is p.empty
        and p.kind not in (P.VAR_POSITIONAL, P.VAR_KEYWORD)
        and p.name not in by_position
        and p.name not in inputs.kwargs
    ]
    named = {p.name for p in params if p.kind is not P.POSITIONAL_ONLY}
    unexpected = [k for k in inputs.kwargs if k not in named and not takes_var_kwargs]
    twice = [k for k in inputs.kwargs if k in by_position]
    extra = len(inputs.args) - len(positional) if not takes_var_args else 0
    if not (missing or unexpected or twice or extra > 0):
        return
    where = _WHERE.get(source, source)
    given = inputs.describe()
    forward = f"{type(module).__name__}.forward"
    if unexpected or twice:
        bad = unexpected or twice
        what = "takes no argument" if unexpected else "already gets positionally"
        raise InputError(
            f"{forward} {what} {', '.join(map(repr, bad))} (inputs {given}, {where}); its "
            f"arguments are {', '.join(p.name for p in params) or 'none'}"
        )
    if extra > 0:
        raise InputError(
            f"{forward} takes {len(positional)} positional input(s) but got "
            f"{len(inputs.args)} ({given}, {where})"
        )
    keyword_only = {p.name for p in params if p.kind is P.KEYWORD_ONLY}
    if not inputs.kwargs and not keyword_only.intersection(missing):
        needed = [p.name for p in positional if p.default is p.empty]
        more = " -i SHAPE" * len(missing)
        raise InputError(
            f"{forward} takes {len(needed)} inputs ({', '.join(needed)}) but got "
            f"{len(inputs.args)} ({where}): repeat -i once per input, in forward's order "
            f"({inputs.cli_text()}{more}), or -i NAME=SHAPE, or define example_inputs() in "
            "the model file"
        )
    shape = ",".join(map(str, DEFAULT_INPUT_SHAPE))
    dict_form = "{" + ", ".join(f"'{n}': tensor" for n in missing) + "}"
    options = " ".join(f"-i {n}={shape}" for n in missing)
    raise InputError(
        f"{forward} needs {', '.join(missing)} but got {given} ({where}): give each with "
        f"-i NAME=SHAPE ({options}), or return {dict_form} from example_inputs() in the "
        "model file"
    )
