"""The keys of the sections the torch-side checks produce (see :mod:`convscope.sections`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from convscope.sections import SectionKey

if TYPE_CHECKING:
    from convscope.checks.crosscheck import CrossCheck
    from convscope.checks.erf import ERFResult
    from convscope.checks.rf_verify import VerifyResult

__all__ = ["CROSSCHECK", "ERF", "RF_VERIFY"]

RF_VERIFY: SectionKey[VerifyResult] = SectionKey(
    "rf_verify", "convscope.checks.rf_verify:VerifyResult"
)
ERF: SectionKey[ERFResult] = SectionKey("erf", "convscope.checks.erf:ERFResult")
CROSSCHECK: SectionKey[CrossCheck] = SectionKey(
    "crosscheck", "convscope.checks.crosscheck:CrossCheck"
)
