"""The public library API: every function the CLI calls, re-exported from the package that
owns it. No logic lives here, and nothing here imports this module back."""

from __future__ import annotations

from convscope.analysis.build import Analysis
from convscope.analysis.rf import receptive_field, with_receptive_field
from convscope.analysis.run import analyze, analyze_loaded, analyze_spec, as_inputs, with_extra
from convscope.analysis.schema import to_dict as analysis_document
from convscope.checks.rf_verify import effective_rf, verify_rf
from convscope.linting.baseline import apply as apply_baseline
from convscope.linting.baseline import find_root as baseline_root
from convscope.linting.baseline import load as load_baseline
from convscope.linting.baseline import model_identity
from convscope.linting.baseline import render as render_baseline
from convscope.linting.engine import lint
from convscope.linting.finding import statistics as lint_statistics
from convscope.passes.quant.measure import quant_report, with_quant
from convscope.profiling.run import profile, with_profile
from convscope.rewriting.run import rewrite

__all__ = [
    "Analysis",
    "analysis_document",
    "analyze",
    "analyze_loaded",
    "analyze_spec",
    "apply_baseline",
    "as_inputs",
    "baseline_root",
    "effective_rf",
    "lint",
    "lint_statistics",
    "load_baseline",
    "model_identity",
    "profile",
    "quant_report",
    "receptive_field",
    "render_baseline",
    "rewrite",
    "verify_rf",
    "with_extra",
    "with_profile",
    "with_quant",
    "with_receptive_field",
]
