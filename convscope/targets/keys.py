"""The key of the section the target profiles produce (see :mod:`convscope.sections`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from convscope.sections import SectionKey

if TYPE_CHECKING:
    from convscope.targets.roofline import RooflineParams

__all__ = ["ROOFLINE"]

#: The target profile's roofline figures (the lint engine fills it for the rules).
ROOFLINE: SectionKey[RooflineParams] = SectionKey(
    "roofline", "convscope.targets.roofline:RooflineParams"
)
