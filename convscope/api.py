"""The public library API: every function the CLI calls, re-exported from the package that
owns it. No logic lives here, and nothing here imports this module back."""

from __future__ import annotations

from convscope.analysis.build import Analysis, folded
from convscope.analysis.rf import receptive_field, with_receptive_field
from convscope.analysis.run import analyze, analyze_loaded, analyze_spec, as_inputs, with_extra
from convscope.analysis.schema import to_dict as analysis_document
from convscope.checks.rf_verify import effective_rf, verify_rf
from convscope.linting.engine import lint
from convscope.passes.quant.measure import quant_report, with_quant
from convscope.profiling.calibrate import calibrate
from convscope.profiling.reliability import assess as assess_reliability
from convscope.profiling.run import profile, with_profile
from convscope.rewriting.run import rewrite
from convscope.targets.profiles import resolve_target, roofline_params

__all__ = [
    "Analysis",
    "analysis_document",
    "analyze",
    "analyze_loaded",
    "analyze_spec",
    "as_inputs",
    "assess_reliability",
    "calibrate",
    "effective_rf",
    "folded",
    "lint",
    "profile",
    "quant_report",
    "receptive_field",
    "resolve_target",
    "rewrite",
    "roofline_params",
    "verify_rf",
    "with_extra",
    "with_profile",
    "with_quant",
    "with_receptive_field",
]
