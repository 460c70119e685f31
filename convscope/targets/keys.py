"""The keys of the sections the target profiles produce (see :mod:`convscope.sections`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from convscope.sections import SectionKey

if TYPE_CHECKING:
    from convscope.targets.latency import LatencyPrediction
    from convscope.targets.roofline import RooflineParams

__all__ = ["LATENCY", "ROOFLINE"]

#: The target profile's roofline figures (the lint engine fills it for the rules).
ROOFLINE: SectionKey[RooflineParams] = SectionKey(
    "roofline", "convscope.targets.roofline:RooflineParams"
)

#: Predicted latency on a target's kernel model (``analyze --target``), roofline beside it.
LATENCY: SectionKey[LatencyPrediction] = SectionKey(
    "latency", "convscope.targets.latency:LatencyPrediction"
)
