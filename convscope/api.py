"""The public library API: every function the CLI calls, re-exported from the package that
owns it. No logic lives here, and nothing here imports this module back."""

from __future__ import annotations

from convscope.analysis.build import Analysis
from convscope.analysis.rf import receptive_field, with_receptive_field
from convscope.analysis.run import analyze, analyze_loaded, analyze_spec, as_inputs, with_extra
from convscope.analysis.schema import to_dict as analysis_document
from convscope.checks.rf_verify import effective_rf, verify_rf
from convscope.linting.engine import lint
from convscope.model.guard import ModelCodeError, culprit, describe, interrupted_in, time_limit
from convscope.model.state import global_state, preserved_global_state
from convscope.passes.quant.measure import load_calibration_file, quant_report, with_quant
from convscope.profiling.run import check_memory, max_threads, profile, with_profile
from convscope.rewriting.run import rewrite

__all__ = [
    "Analysis",
    "ModelCodeError",
    "analysis_document",
    "analyze",
    "analyze_loaded",
    "analyze_spec",
    "as_inputs",
    "check_memory",
    "culprit",
    "describe",
    "effective_rf",
    "global_state",
    "interrupted_in",
    "lint",
    "load_calibration_file",
    "max_threads",
    "preserved_global_state",
    "profile",
    "quant_report",
    "receptive_field",
    "rewrite",
    "time_limit",
    "verify_rf",
    "with_extra",
    "with_profile",
    "with_quant",
    "with_receptive_field",
]
