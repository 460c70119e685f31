"""The keys of the sections the passes produce (see :mod:`convscope.sections`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from convscope.sections import SectionKey

if TYPE_CHECKING:
    from convscope.passes.quant.structure import ActivationStats, QuantReport
    from convscope.passes.receptive.structure import ReceptiveField

__all__ = ["CALIBRATION", "QUANT", "RECEPTIVE_FIELD"]

RECEPTIVE_FIELD: SectionKey[ReceptiveField] = SectionKey(
    "receptive_field", "convscope.passes.receptive.structure:ReceptiveField"
)
QUANT: SectionKey[QuantReport] = SectionKey("quant", "convscope.passes.quant.structure:QuantReport")
#: The activation ranges of a calibration run (also inside QUANT; rule QF005 reads this).
CALIBRATION: SectionKey[ActivationStats] = SectionKey(
    "calibration", "convscope.passes.quant.structure:ActivationStats"
)
