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

Lazy modules (``nn.LazyConv2d``...) are the other kind of tensor without values: torch
shapes them on the first forward, so :func:`materialize_lazy` runs that forward on a copy.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, overload

import torch
from torch.nn.parameter import UninitializedBuffer, UninitializedParameter, is_lazy

from convscope.errors import TraceError, describe
from convscope.model.arguments import ModelInputs
from convscope.model.modes import eval_mode

__all__ = ["Materialized", "has_meta", "materialize", "materialize_lazy", "real_inputs"]

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


@overload
def real_inputs(inputs: ModelInputs, *, seed: int = 0) -> ModelInputs: ...
@overload
def real_inputs(inputs: Sequence[Any], *, seed: int = 0) -> tuple[Any, ...]: ...
def real_inputs(
    inputs: ModelInputs | Sequence[Any], *, seed: int = 0
) -> ModelInputs | tuple[Any, ...]:
    """CPU stand-ins for the meta tensors among ``inputs``: seeded standard-normal noise for
    floating point, zeros otherwise. Real tensors and non-tensors pass through; lists,
    tuples and dicts (a detection model's list of images) keep their structure. Returns
    :class:`ModelInputs` for ModelInputs (keyword inputs drawn after positional ones),
    else a tuple."""
    gen = torch.Generator().manual_seed(seed)

    def convert(x: torch.Tensor) -> torch.Tensor:
        if not x.is_meta:
            return x
        if x.dtype.is_floating_point:
            return torch.randn(x.shape, dtype=x.dtype, generator=gen)
        return torch.zeros(x.shape, dtype=x.dtype)

    converted = ModelInputs.of(inputs).map_tensors(convert)
    return converted if isinstance(inputs, ModelInputs) else converted.args


# --------------------------------------------------------------------------- lazy modules


def _lazy_modules(model: torch.nn.Module) -> list[tuple[str, str]]:
    """(path, class name) of each module whose parameters or buffers are uninitialized."""

    out = []
    for path, m in model.named_modules():
        own = list(m.parameters(recurse=False)) + list(m.buffers(recurse=False))
        if any(is_lazy(t) for t in own):
            out.append((path or "(root)", type(m).__name__))
    return out


def _fresh_uninitialized(model: torch.nn.Module) -> dict[int, Any]:
    """A ``deepcopy`` memo mapping each uninitialized tensor to a new one: torch refuses
    to copy them, and a new one is all a copy needs (it holds no data yet)."""

    memo: dict[int, Any] = {}
    for t in list(model.parameters()) + list(model.buffers()):
        if is_lazy(t) and id(t) not in memo:
            kind: Any = (  # the stubs omit the device / dtype arguments torch takes
                UninitializedParameter if isinstance(t, torch.nn.Parameter) else UninitializedBuffer
            )
            memo[id(t)] = kind(requires_grad=t.requires_grad, device=t.device, dtype=t.dtype)
    return memo


def materialize_lazy(
    model: torch.nn.Module, inputs: ModelInputs | Sequence[Any]
) -> torch.nn.Module:
    """``model`` itself when it has no lazy module, else a deep copy whose lazy modules
    were materialized by one forward on real (CPU) versions of ``inputs``.

    Torch shapes a lazy module's parameters on its first forward; doing that on the user's
    model would change it, so it happens on the copy, with the RNG state (the parameters'
    initialization draws from it), grad mode and train/eval flags restored. A copy that
    cannot be made or run raises :class:`TraceError` naming the lazy layers.
    """
    lazy = _lazy_modules(model)
    if not lazy:
        return model
    names = ", ".join(f"'{p}' ({t})" for p, t in lazy[:3]) + (" …" if len(lazy) > 3 else "")
    what = f"lazy module{'s' if len(lazy) > 1 else ''} {names} ha{'ve' if len(lazy) > 1 else 's'}"
    try:
        clone = copy.deepcopy(model, _fresh_uninitialized(model))
    except Exception as exc:
        raise TraceError(
            f"{what} uninitialized parameters and the model cannot be copied to "
            f"initialize them: {describe(exc)}; run one forward on the model first"
        ) from exc

    args = real_inputs(ModelInputs.of(inputs))
    try:
        with torch.random.fork_rng(devices=[]), eval_mode(clone), torch.no_grad():
            args.call(clone)
    except Exception as exc:
        raise TraceError(
            f"{what} uninitialized parameters, and the forward that would initialize them "
            f"failed on the example input: {describe(exc)}"
        ) from exc
    left = _lazy_modules(clone)
    if left:
        raise TraceError(
            f"{what} uninitialized parameters; one forward on the example input left "
            f"'{left[0][0]}' ({left[0][1]}) uninitialized"
        )
    return clone
