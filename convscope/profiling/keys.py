"""The key of the section profiling produces (see :mod:`convscope.sections`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from convscope.sections import SectionKey

if TYPE_CHECKING:
    from convscope.profiling.run import ProfileSection

__all__ = ["PROFILE"]

PROFILE: SectionKey[ProfileSection] = SectionKey(
    "profile", "convscope.profiling.run:ProfileSection"
)
