"""What both gradient measurements share: a real CPU copy of the model, inputs drawn for
it, and how a pixel position is written.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

from convscope.model.arguments import ModelInputs
from convscope.model.materialize import materialize
from convscope.model.modes import set_eval

__all__ = ["draw_inputs", "first_float", "position_text", "real_copy"]


def real_copy(model: nn.Module, seed: int = 0) -> nn.Module:
    """A CPU copy in eval mode with real storage (seeded random weights for a meta model)."""
    return set_eval(materialize(model, seed=seed).module)


def draw_inputs(
    inputs: ModelInputs,
    dtype: torch.dtype,
    make: Callable[..., torch.Tensor],
) -> ModelInputs:
    """Real CPU inputs for ``inputs``: floating tensors drawn by ``make(shape, dtype)``,
    other meta tensors as zeros, other tensors and non-tensors as they are."""

    def draw(x: Any) -> Any:
        if not isinstance(x, torch.Tensor):
            return x
        if x.is_floating_point():
            return make(tuple(x.shape), dtype)
        if x.is_meta:
            return torch.zeros(tuple(x.shape), dtype=x.dtype)
        return x.detach().to("cpu")

    return inputs.map(draw)


def first_float(inputs: ModelInputs) -> torch.Tensor:
    """The input whose gradient is measured: the first floating-point one."""
    return next(a for a in inputs.values() if isinstance(a, torch.Tensor) and a.is_floating_point())


def position_text(p: Sequence[int]) -> str:
    """``(y,x)``: a pixel as both checks' reports write it."""
    return "(" + ",".join(str(x) for x in p) + ")"
