"""Receptive-field entry points of the library API (re-exported by :mod:`convscope.api`).

``with_receptive_field(analysis)`` attaches the receptive-field pass to an existing
:class:`~convscope.analysis.build.Analysis` (its ``RECEPTIVE_FIELD`` section, which the
terminal, JSON, markdown and HTML reporters pick up); ``receptive_field(model, inputs)`` traces a
model and returns the :class:`~convscope.passes.receptive.result.ReceptiveField` directly.
"""

from __future__ import annotations

from typing import Any

from convscope.analysis.build import Analysis
from convscope.model.state import keeps_global_state
from convscope.passes.keys import RECEPTIVE_FIELD
from convscope.passes.receptive import walk as receptive_pass
from convscope.passes.receptive.result import ReceptiveField

__all__ = ["ReceptiveField", "receptive_field", "with_receptive_field"]


def with_receptive_field(a: Analysis) -> Analysis:
    """A copy of ``a`` with the ``RECEPTIVE_FIELD`` section set; ``a`` is not changed."""
    return a.with_section(RECEPTIVE_FIELD, receptive_pass.receptive_field(a.graph))


@keeps_global_state
def receptive_field(model: Any, inputs: Any = None, **analyze_kwargs: Any) -> ReceptiveField:
    """Trace ``model`` on ``inputs`` (a tensor, tensors or a shape; default 1×3×224×224, on
    meta tensors) and compute its receptive fields. The model is not modified.

    Extra keyword arguments go to :func:`convscope.api.analyze` (``device``, ``rebuild``).
    """
    from convscope.analysis.run import analyze  # imports torch

    return receptive_pass.receptive_field(analyze(model, inputs, **analyze_kwargs).graph)
