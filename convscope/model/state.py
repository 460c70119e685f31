"""The caller's process-wide settings, kept as they were across a convscope call.

Analysis runs the user's model code, builds modules (whose default init draws from the
global RNG), seeds, and sets threads; any of that would leak into the caller's program.
:func:`preserved_global_state` snapshots what torch, numpy and ``random`` keep globally
and puts it back afterwards, error or not; :func:`keeps_global_state` decorates a function
with it.
"""

from __future__ import annotations

import contextlib
import functools
import random
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import torch

__all__ = [
    "GlobalState",
    "global_state",
    "keeps_global_state",
    "preserved_global_state",
    "seeded",
]

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class GlobalState:
    """What a call must not change. Compare two snapshots with :meth:`same`."""

    torch_rng: torch.Tensor
    cuda_rng: list[torch.Tensor] | None
    python_rng: Any
    numpy_rng: Any
    default_dtype: torch.dtype
    grad: bool
    threads: int
    deterministic: bool
    deterministic_warn_only: bool
    cudnn_deterministic: bool
    cudnn_benchmark: bool

    def same(self, other: GlobalState) -> list[str]:
        """Names of the settings that differ (empty: nothing changed)."""
        diffs = []
        if not torch.equal(self.torch_rng, other.torch_rng):
            diffs.append("torch RNG")
        if (self.cuda_rng is None) != (other.cuda_rng is None) or (
            self.cuda_rng is not None
            and other.cuda_rng is not None
            and not all(
                torch.equal(a, b) for a, b in zip(self.cuda_rng, other.cuda_rng, strict=True)
            )
        ):
            diffs.append("CUDA RNG")
        if self.python_rng != other.python_rng:
            diffs.append("python random")
        if not _numpy_equal(self.numpy_rng, other.numpy_rng):
            diffs.append("numpy RNG")
        for name in (
            "default_dtype",
            "grad",
            "threads",
            "deterministic",
            "deterministic_warn_only",
            "cudnn_deterministic",
            "cudnn_benchmark",
        ):
            if getattr(self, name) != getattr(other, name):
                diffs.append(name)
        return diffs


def _all_equal(a: list[torch.Tensor] | None, b: list[torch.Tensor] | None) -> bool:
    if a is None or b is None:
        return a is b
    return len(a) == len(b) and all(torch.equal(x, y) for x, y in zip(a, b, strict=True))


def _numpy_equal(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is b
    import numpy as np  # optional: torch runs without numpy; the caller had imported it

    return bool(a[0] == b[0] and np.array_equal(a[1], b[1]) and tuple(a[2:]) == tuple(b[2:]))


def global_state() -> GlobalState:
    """The current global settings (numpy's only if the caller imported numpy)."""
    numpy = sys.modules.get("numpy")
    cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None
    return GlobalState(
        torch_rng=torch.get_rng_state(),
        cuda_rng=cuda,
        python_rng=random.getstate(),
        numpy_rng=numpy.random.get_state() if numpy is not None else None,
        default_dtype=torch.get_default_dtype(),
        grad=torch.is_grad_enabled(),
        threads=torch.get_num_threads(),
        deterministic=torch.are_deterministic_algorithms_enabled(),
        deterministic_warn_only=torch.is_deterministic_algorithms_warn_only_enabled(),
        cudnn_deterministic=bool(torch.backends.cudnn.deterministic),
        cudnn_benchmark=bool(torch.backends.cudnn.benchmark),
    )


def _restore(state: GlobalState) -> None:
    torch.set_rng_state(state.torch_rng)
    if state.cuda_rng is not None:
        torch.cuda.set_rng_state_all(state.cuda_rng)
    random.setstate(state.python_rng)
    if state.numpy_rng is not None:
        sys.modules["numpy"].random.set_state(state.numpy_rng)
    torch.set_default_dtype(state.default_dtype)
    torch.set_grad_enabled(state.grad)
    if torch.get_num_threads() != state.threads:
        torch.set_num_threads(state.threads)
    torch.use_deterministic_algorithms(state.deterministic, warn_only=state.deterministic_warn_only)
    torch.backends.cudnn.deterministic = state.cudnn_deterministic
    torch.backends.cudnn.benchmark = state.cudnn_benchmark


@contextlib.contextmanager
def preserved_global_state() -> Iterator[GlobalState]:
    """Restore the global settings on exit, however the block ends."""
    before = global_state()
    try:
        yield before
    finally:
        _restore(before)


def keeps_global_state(fn: F) -> F:
    """Decorate a public entry point so the caller's global settings survive it."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with preserved_global_state():
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


@contextlib.contextmanager
def seeded(seed: int | None) -> Iterator[None]:
    """Torch's CPU RNG seeded with ``seed`` inside the block and the caller's state back
    afterwards (``None``: the block runs as it is). A model's own initialisation draws from
    the global RNG, so this is how a build with random weights becomes reproducible."""
    if seed is None:
        yield
        return
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield
