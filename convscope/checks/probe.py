"""What both gradient measurements share: a real CPU copy of the model, inputs drawn for
it, and how a pixel position is written.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

from convscope.model.materialize import materialize
from convscope.model.modes import set_eval

__all__ = ["draw_inputs", "position_text", "real_copy"]


def real_copy(model: nn.Module, seed: int = 0) -> nn.Module:
    """A CPU copy in eval mode with real storage (seeded random weights for a meta model)."""
    return set_eval(materialize(model, seed=seed).module)


def draw_inputs(
    inputs: Sequence[Any],
    dtype: torch.dtype,
    make: Callable[..., torch.Tensor],
) -> tuple[Any, ...]:
    """Real CPU inputs for ``inputs``: floating tensors drawn by ``make(shape, dtype)``,
    other meta tensors as zeros, other tensors and non-tensors as they are."""
    out: list[Any] = []
    for x in inputs:
        if isinstance(x, torch.Tensor):
            if x.is_floating_point():
                out.append(make(tuple(x.shape), dtype))
            elif x.is_meta:
                out.append(torch.zeros(tuple(x.shape), dtype=x.dtype))
            else:
                out.append(x.detach().to("cpu"))
        else:
            out.append(x)
    return tuple(out)


def position_text(p: Sequence[int]) -> str:
    """``(y,x)``: a pixel as both checks' reports write it."""
    return "(" + ",".join(str(x) for x in p) + ")"
