"""The handler signature and the argument readers every adapter shares."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch

from convscope.ir import graph as ir

Handler = Callable[[Sequence[Any], Mapping[str, Any], Sequence[torch.Tensor]], ir.Attrs]


def no_attrs(
    args: Sequence[Any], kwargs: Mapping[str, Any], outs: Sequence[torch.Tensor]
) -> ir.Attrs:
    return ir.NoAttrs()


def arg(
    args: Sequence[Any], kwargs: Mapping[str, Any], index: int, name: str, default: Any = None
) -> Any:
    if len(args) > index:
        return args[index]
    return kwargs.get(name, default)


def int_tuple(value: Any, n: int, default: int) -> tuple[int, ...]:
    """Expand an int / short list to ``n`` ints (ATen passes ``[]`` for "same as kernel")."""
    if value is None:
        return (default,) * n
    if isinstance(value, int):
        return (value,) * n
    vals = tuple(int(v) for v in value)
    if not vals:
        return (default,) * n
    if len(vals) == 1:
        return vals * n
    return vals
