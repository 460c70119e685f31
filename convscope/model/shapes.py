"""Input shapes: the ``-i`` text parsed, a declared shape checked, meta tensors made for it.

A shape is a tuple of positive ints that a tensor can have (sizes are signed 64-bit).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeGuard

import torch

from convscope.errors import InputError
from convscope.model.arguments import ModelInputs

__all__ = [
    "DEFAULT_INPUT_SHAPE",
    "is_shape",
    "meta_inputs",
    "parse_input_shapes",
    "parse_inputs",
    "validate_shapes",
]


DEFAULT_INPUT_SHAPE: tuple[int, ...] = (1, 3, 224, 224)
_SHAPE_SEPARATORS = ("x", "X", "×")


def parse_input_shapes(texts: Sequence[str]) -> tuple[tuple[int, ...], ...]:
    """Parse ``-i`` values such as ``1,3,224,224`` or ``1x3x224x224``, one shape per text."""
    return tuple(_parse_shape(text) for text in texts)


def parse_inputs(texts: Sequence[str]) -> ModelInputs:
    """Parse ``-i`` values into meta inputs: ``1,3,224,224`` is the next positional input,
    ``pixel_values=1,3,224,224`` the keyword input ``pixel_values``."""
    args: list[tuple[int, ...]] = []
    kwargs: dict[str, tuple[int, ...]] = {}
    for text in texts:
        name, sep, shape = text.partition("=")
        if not sep:
            args.append(_parse_shape(text))
            continue
        name = name.strip()
        if not name.isidentifier():
            raise InputError(
                f"bad input '{text}': '{name}' is not an argument name "
                "(-i SHAPE for the next positional input, -i NAME=SHAPE for a keyword one)"
            )
        if name in kwargs:
            raise InputError(f"input '{name}' is given twice with -i")
        kwargs[name] = _parse_shape(shape)
    return ModelInputs(
        meta_inputs(args), dict(zip(kwargs, meta_inputs(tuple(kwargs.values())), strict=True))
    )


def _parse_shape(text: str) -> tuple[int, ...]:
    normalized = text.strip()
    for sep in _SHAPE_SEPARATORS:
        normalized = normalized.replace(sep, ",")
    parts = [p.strip() for p in normalized.split(",")]
    if not normalized or any(p == "" for p in parts):
        raise InputError(f"bad input shape '{text}': expected integers like 1,3,224,224")
    dims: list[int] = []
    for part in parts:
        try:
            dims.append(int(part))
        except ValueError:
            raise InputError(f"bad input shape '{text}': '{part}' is not an integer") from None
    if any(d <= 0 for d in dims):
        raise InputError(f"bad input shape '{text}': every dimension must be positive")
    _check_size(dims, f"'{text}'")
    return tuple(dims)


# torch sizes are signed 64-bit: a larger dimension, or element count, cannot exist.
_MAX_ELEMENTS = 2**63 - 1


def _check_size(dims: Sequence[int], shown: str) -> None:
    """Reject a shape no tensor can have, naming the offending dimension."""
    for d in dims:
        if d > _MAX_ELEMENTS:
            raise InputError(
                f"bad input shape {shown}: dimension {d} is too large "
                f"(a tensor dimension must be below 2**63)"
            )
    numel = 1
    for d in dims:
        numel *= d
    if numel > _MAX_ELEMENTS:
        raise InputError(
            f"bad input shape {shown}: {numel} elements in all, more than a "
            "tensor can hold (2**63 - 1)"
        )


def is_shape(value: Any) -> TypeGuard[Sequence[int]]:
    return (
        isinstance(value, (tuple, list))
        and len(value) > 0
        and all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in value)
    )


def validate_shapes(shapes: Sequence[Sequence[int]], where: str) -> tuple[tuple[int, ...], ...]:
    out = []
    for shape in shapes:
        if not is_shape(shape):
            raise InputError(
                f"bad input shape {shape!r} {where}: every dimension must be a positive integer"
            )
        _check_size(shape, repr(tuple(shape)))
        out.append(tuple(int(d) for d in shape))
    if not out:
        raise InputError(f"no input shape given {where}")
    return tuple(out)


def meta_inputs(shapes: Sequence[tuple[int, ...]]) -> tuple[torch.Tensor, ...]:
    return tuple(torch.empty(shape, device="meta") for shape in shapes)
