"""What a MODEL spec names, before anything is built: the shared record of spec resolution,
construction and input choice.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import nn

from convscope.model.arguments import ModelInputs

__all__ = ["Target"]


@dataclass(frozen=True)
class Target:
    """What a spec names, before anything is built.

    Exactly one of ``build`` (a fresh construction, run under the chosen device) and
    ``instance`` (an already-built module we must not modify) is set.
    """

    name: str
    origin: str
    build: Callable[[], Any] | None = None
    instance: nn.Module | None = None
    namespace: types.ModuleType | None = None
    source_file: Path | None = None
    natural_inputs: Callable[[nn.Module], tuple[tuple[int, ...], ...]] | None = None
    example_inputs: ModelInputs | None = None
