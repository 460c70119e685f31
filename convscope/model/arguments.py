"""What a model's ``forward`` is called with: positional and keyword inputs, as one value.

Transformers' vision models are called ``model(pixel_values=x)``, and a ``forward`` may
have keyword-only arguments, so inputs are not just a tuple. :class:`ModelInputs` carries
both from where they are chosen (``-i``, ``example_inputs()``, the library call) to every
place that runs the model (the recorder, the materializer, profiling, rewriting, checks).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import torch
from torch.utils._pytree import tree_flatten, tree_map

__all__ = ["GivenInputs", "ModelInputs"]


def _frozen(kwargs: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(kwargs))


@dataclass(frozen=True, eq=False)
class ModelInputs:
    """``forward(*args, **kwargs)``'s arguments. Immutable; ``eq=False`` because comparing
    tensors field-wise is meaningless."""

    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=lambda: _frozen({}))

    def __post_init__(self) -> None:
        object.__setattr__(self, "args", tuple(self.args))
        object.__setattr__(self, "kwargs", _frozen(self.kwargs))

    @classmethod
    def of(cls, value: ModelInputs | Sequence[Any]) -> ModelInputs:
        """``value`` itself, or a sequence of positional inputs wrapped."""
        return value if isinstance(value, ModelInputs) else cls(tuple(value))

    def __bool__(self) -> bool:
        return bool(self.args or self.kwargs)

    def values(self) -> Iterator[Any]:
        """The top-level values: positional ones, then keyword ones in their order."""
        yield from self.args
        yield from self.kwargs.values()

    def map(self, fn: Callable[[Any], Any]) -> ModelInputs:
        """A copy with ``fn`` applied to every top-level value."""
        return ModelInputs(
            tuple(fn(a) for a in self.args), {k: fn(v) for k, v in self.kwargs.items()}
        )

    def map_tensors(self, fn: Callable[[torch.Tensor], Any]) -> ModelInputs:
        """A copy with ``fn`` applied to every tensor, however lists, tuples and dicts nest
        them (a detection model takes a list of images); the structure is kept."""

        def one(x: Any) -> Any:
            return fn(x) if isinstance(x, torch.Tensor) else x

        return ModelInputs(tuple(tree_map(one, list(self.args))), tree_map(one, dict(self.kwargs)))

    def tensors(self) -> list[torch.Tensor]:
        """Every tensor the call receives, in order (positional first), however nested."""
        flat = tree_flatten((list(self.args), dict(self.kwargs)))[0]
        return [x for x in flat if isinstance(x, torch.Tensor)]

    def call(self, fn: Callable[..., Any]) -> Any:
        return fn(*self.args, **self.kwargs)

    def describe(self) -> str:
        """``1×3×224×224, mask=1×224×224``: the shapes, keyword ones named."""

        def shown(x: Any) -> str:
            if isinstance(x, torch.Tensor):
                return "×".join(map(str, x.shape)) or "scalar"
            return type(x).__name__

        parts = [shown(a) for a in self.args]
        parts += [f"{k}={shown(v)}" for k, v in self.kwargs.items()]
        return ", ".join(parts) or "no inputs"

    def cli_text(self) -> str:
        """The ``-i`` options that give these inputs (``-i 1,3,8,8 -i mask=1,8,8``)."""

        def shape(x: Any) -> str:
            return ",".join(map(str, x.shape)) if isinstance(x, torch.Tensor) else "SHAPE"

        parts = [f"-i {shape(a)}" for a in self.args]
        parts += [f"-i {k}={shape(v)}" for k, v in self.kwargs.items()]
        return " ".join(parts)


#: Inputs as a caller gives them to loading: shapes of positional inputs, or inputs.
GivenInputs = ModelInputs | Sequence[tuple[int, ...]]
