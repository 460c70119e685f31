"""The keys of the sections the passes produce (see :mod:`convscope.sections`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from convscope.sections import SectionKey

if TYPE_CHECKING:
    from convscope.passes.quant.activations import ActivationStats
    from convscope.passes.quant.report import QuantReport
    from convscope.passes.receptive.result import ReceptiveField

__all__ = ["CALIBRATION", "QUANT", "RECEPTIVE_FIELD"]

RECEPTIVE_FIELD: SectionKey[ReceptiveField] = SectionKey(
    "receptive_field", "convscope.passes.receptive.result:ReceptiveField"
)
QUANT: SectionKey[QuantReport] = SectionKey("quant", "convscope.passes.quant.report:QuantReport")
#: The activation ranges of a calibration run (also inside QUANT; rule QF005 reads this).
CALIBRATION: SectionKey[ActivationStats] = SectionKey(
    "calibration", "convscope.passes.quant.activations:ActivationStats"
)
