"""The one meta→real materializer: a CPU copy of a module, and CPU inputs, that can run.

A model analysed on the meta device has shapes but no values. Whatever has to *run* it —
applying a checkpoint to a user's instance, verifying receptive fields by gradients,
measuring a rewrite's weight error, the recorder's fallback for data-dependent ops — needs
real tensors. They all come from here so that every such copy is initialised the same
way and the same seed gives the same numbers:

1. the user's module is deep-copied (never modified);
2. when the copy holds meta tensors, storage is allocated and every floating-point
   parameter gets seeded ``N(0, 0.02)`` values and every buffer zeros, so that tensors no
   ``reset_parameters`` knows about (layer-scale gammas, position embeddings) are finite;
3. then each submodule's own ``reset_parameters`` / ``reset_running_stats`` runs under the
   same seed, so standard layers get torch's own initialisation (BatchNorm variance 1).

Seeding happens on a forked RNG: the caller's global torch RNG is left as it was.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch.utils._pytree import tree_map

__all__ = ["Materialized", "has_meta", "materialize", "real_inputs"]

_RESETS = ("reset_parameters", "reset_running_stats")


@dataclass(frozen=True)
class Materialized:
    """A runnable CPU copy of a module; ``random`` when its weights were invented here."""

    module: torch.nn.Module
    random: bool


def has_meta(module: torch.nn.Module) -> bool:
    """True when any parameter or buffer of ``module`` lives on the meta device."""
    return any(t.is_meta for t in (*module.parameters(), *module.buffers()))


def materialize(
    module: torch.nn.Module, *, seed: int = 0, device: str | None = "cpu"
) -> Materialized:
    """A deep copy of ``module`` with real values (seeded random ones for meta tensors).

    ``module`` itself is never touched. A copy that already had real values keeps them and
    moves to ``device`` (``None``: stays where the model is); meta tensors are allocated on
    CPU.
    """
    clone = copy.deepcopy(module)
    if not has_meta(clone):
        return Materialized(clone if device is None else clone.to(device), random=False)
    clone = clone.to_empty(device="cpu")
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in clone.parameters():
            if p.is_floating_point():
                p.normal_(0.0, 0.02, generator=gen)
            else:
                p.zero_()
        for b in clone.buffers():
            b.zero_()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for sub in clone.modules():
            for name in _RESETS:
                reset = getattr(sub, name, None)
                if callable(reset):
                    # A custom reset that fails leaves the finite N(0, 0.02) values of step 2.
                    with contextlib.suppress(Exception):
                        reset()
    return Materialized(clone, random=True)


def real_inputs(inputs: Sequence[Any], *, seed: int = 0) -> tuple[Any, ...]:
    """CPU stand-ins for the meta tensors among ``inputs``: seeded standard-normal noise for
    floating point, zeros otherwise. Real tensors and non-tensors pass through; lists,
    tuples and dicts (a detection model's list of images) keep their structure."""
    gen = torch.Generator().manual_seed(seed)

    def convert(x: Any) -> Any:
        if not isinstance(x, torch.Tensor) or not x.is_meta:
            return x
        if x.dtype.is_floating_point:
            return torch.randn(x.shape, dtype=x.dtype, generator=gen)
        return torch.zeros(x.shape, dtype=x.dtype)

    return tuple(tree_map(convert, list(inputs)))
