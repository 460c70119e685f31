"""The typed key of a section an analysis carries, and the one key no package produces.

A section is a result attached to an :class:`~convscope.analysis.build.Analysis` (the
receptive field, the quantization report, measured latency...) or handed to the lint rules
that ``require`` it (the target's roofline figures, the model's weights). The package that
produces a section declares its key (``passes/keys.py``, ``targets/keys.py``,
``profiling/keys.py``, ``checks/keys.py``), and every reader and writer uses the key
object, never its name::

    rf = analysis.section(RECEPTIVE_FIELD)        # ReceptiveField | None
    analysis = analysis.with_section(ERF, erf)    # a new Analysis; refuses a wrong type

A key's ``name`` is the section's field in the JSON document (``receptive_field``,
``profile``...). Its ``type`` is the class of the value, or ``"module:qualname"`` resolved
on first use, so that declaring a key imports nothing (no torch). This module sits at the
bottom of the package, importing nothing of convscope, so every package can declare keys.
"""

from __future__ import annotations

import builtins
import importlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

__all__ = ["WEIGHTS", "SectionKey", "index"]

T = TypeVar("T")


@dataclass(frozen=True)
class SectionKey(Generic[T]):
    """The key of one section: its JSON ``name`` and the ``type`` of its value (a class,
    or ``"module:qualname"`` imported when a value is first checked)."""

    name: str
    type: builtins.type[T] | str

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise ValueError(f"a section name is an identifier, got {self.name!r}")
        if isinstance(self.type, str) and self.type.count(":") != 1:
            raise ValueError(
                f"section {self.name!r}: type {self.type!r} must be a class or 'module:qualname'"
            )

    def resolve(self) -> builtins.type[T]:
        """The class of this section's value."""
        if not isinstance(self.type, str):
            return self.type
        module, _, qualname = self.type.partition(":")
        found: Any = importlib.import_module(module)
        for part in qualname.split("."):
            found = getattr(found, part)
        if not isinstance(found, builtins.type):
            raise TypeError(f"section {self.name!r}: {self.type} is not a class")
        return found

    def check(self, value: object) -> T:
        """``value`` when it is an instance of this key's type; TypeError otherwise."""
        cls = self.resolve()
        if not isinstance(value, cls):
            raise TypeError(
                f"section {self.name!r} holds a {cls.__module__}.{cls.__qualname__}, "
                f"got {builtins.type(value).__qualname__}"
            )
        return value

    def __repr__(self) -> str:
        return f"SectionKey({self.name!r})"


#: The model's weights, a live module or a mapping name → tensor (a lint provider the caller
#: gives; the engine measures QUANT from it).
WEIGHTS: SectionKey[object] = SectionKey("weights", object)


def index(keys: Iterable[SectionKey[Any]]) -> dict[str, SectionKey[Any]]:
    """Name → key; ValueError when two different keys share a name (one JSON field)."""
    out: dict[str, SectionKey[Any]] = {}
    for k in keys:
        other = out.setdefault(k.name, k)
        if other != k:
            raise ValueError(f"two sections are named {k.name!r}: {other.type} and {k.type}")
    return out
