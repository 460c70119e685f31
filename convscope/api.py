"""The public library API: every function the CLI calls, re-exported from the package that
owns it. No logic lives here, and nothing here imports this module back.

Names resolve lazily (on first attribute access) so that ``convscope --help`` and
``convscope rule`` never import torch; type checkers read the imports below.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from convscope.analysis.build import Analysis, folded
    from convscope.analysis.latency import predict_latency, with_latency
    from convscope.analysis.quant import load_calibration_file, quant_report, with_quant
    from convscope.analysis.rf import receptive_field, with_receptive_field
    from convscope.analysis.run import analyze, analyze_loaded, analyze_spec, as_inputs, with_extra
    from convscope.analysis.schema import to_dict as analysis_document
    from convscope.catalog import rule_doc
    from convscope.checks.crosscheck import reconcile as crosscheck
    from convscope.checks.erf import effective_rf
    from convscope.checks.keys import CROSSCHECK, ERF, RF_VERIFY
    from convscope.checks.rf_verify import verify_rf
    from convscope.diff.compare import diff_reports
    from convscope.diff.document import as_dict as diff_document
    from convscope.diff.gate import check as check_diff
    from convscope.diff.gate import parse_thresholds
    from convscope.diff.reports import is_report_path
    from convscope.diff.reports import load_side as load_diff_side
    from convscope.errors import describe
    from convscope.linting.baseline import apply as apply_baseline
    from convscope.linting.baseline import find_root as baseline_root
    from convscope.linting.baseline import load as load_baseline
    from convscope.linting.baseline import model_identity
    from convscope.linting.baseline import render as render_baseline
    from convscope.linting.config import ModelEntry, Settings, load_settings
    from convscope.linting.engine import lint
    from convscope.linting.finding import LintResult, Severity
    from convscope.linting.finding import statistics as lint_statistics
    from convscope.linting.places import Places, report_places
    from convscope.linting.profiles import load_profile, resolve_target
    from convscope.linting.registry import Registry, default_registry
    from convscope.linting.validation import unknown_code_message
    from convscope.model.arguments import ModelInputs
    from convscope.model.guard import ModelCodeError, culprit, interrupted_in, time_limit
    from convscope.model.load import LoadedModel, load_model
    from convscope.model.shapes import parse_input_shapes, parse_inputs
    from convscope.model.state import global_state, preserved_global_state
    from convscope.passes.keys import CALIBRATION, QUANT, RECEPTIVE_FIELD
    from convscope.profiling.calibrate import calibrate
    from convscope.profiling.kernel_bench import calibrate_kernels
    from convscope.profiling.keys import PROFILE
    from convscope.profiling.measure import check_device
    from convscope.profiling.reliability import assess as assess_reliability
    from convscope.profiling.run import check_memory, max_threads, profile, with_profile
    from convscope.profiling.speed_check import (
        DEFAULT_SPEED_CHECK_S,
        PredictionCheck,
        SpeedCheck,
        speed_check,
    )
    from convscope.report.build import build_report
    from convscope.report.build import render as render_report
    from convscope.report.compare import build_comparison, compare_documents
    from convscope.report.compare import render as render_comparison
    from convscope.rewriting.apply import export_program, state_dict_path
    from convscope.rewriting.run import rewrite
    from convscope.sections import WEIGHTS, SectionKey
    from convscope.targets.kernels import KernelModel
    from convscope.targets.keys import LATENCY, ROOFLINE
    from convscope.targets.latency import LatencyPrediction
    from convscope.targets.profiles import available_profiles, roofline_params
    from convscope.targets.roofline import RooflineParams
    from convscope.validate import ConfigError

#: public name → (owning module, name there)
_EXPORTS: dict[str, tuple[str, str]] = {
    "Analysis": ("convscope.analysis.build", "Analysis"),
    "receptive_field": ("convscope.analysis.rf", "receptive_field"),
    "with_receptive_field": ("convscope.analysis.rf", "with_receptive_field"),
    "analyze": ("convscope.analysis.run", "analyze"),
    "analyze_loaded": ("convscope.analysis.run", "analyze_loaded"),
    "analyze_spec": ("convscope.analysis.run", "analyze_spec"),
    "as_inputs": ("convscope.analysis.run", "as_inputs"),
    "with_extra": ("convscope.analysis.run", "with_extra"),
    "analysis_document": ("convscope.analysis.schema", "to_dict"),
    "CALIBRATION": ("convscope.passes.keys", "CALIBRATION"),
    "CROSSCHECK": ("convscope.checks.keys", "CROSSCHECK"),
    "ERF": ("convscope.checks.keys", "ERF"),
    "LATENCY": ("convscope.targets.keys", "LATENCY"),
    "predict_latency": ("convscope.analysis.latency", "predict_latency"),
    "with_latency": ("convscope.analysis.latency", "with_latency"),
    "calibrate_kernels": ("convscope.profiling.kernel_bench", "calibrate_kernels"),
    "speed_check": ("convscope.profiling.speed_check", "speed_check"),
    "SpeedCheck": ("convscope.profiling.speed_check", "SpeedCheck"),
    "PredictionCheck": ("convscope.profiling.speed_check", "PredictionCheck"),
    "DEFAULT_SPEED_CHECK_S": ("convscope.profiling.speed_check", "DEFAULT_SPEED_CHECK_S"),
    "KernelModel": ("convscope.targets.kernels", "KernelModel"),
    "LatencyPrediction": ("convscope.targets.latency", "LatencyPrediction"),
    "PROFILE": ("convscope.profiling.keys", "PROFILE"),
    "QUANT": ("convscope.passes.keys", "QUANT"),
    "RECEPTIVE_FIELD": ("convscope.passes.keys", "RECEPTIVE_FIELD"),
    "RF_VERIFY": ("convscope.checks.keys", "RF_VERIFY"),
    "ROOFLINE": ("convscope.targets.keys", "ROOFLINE"),
    "WEIGHTS": ("convscope.sections", "WEIGHTS"),
    "SectionKey": ("convscope.sections", "SectionKey"),
    "crosscheck": ("convscope.checks.crosscheck", "reconcile"),
    "effective_rf": ("convscope.checks.erf", "effective_rf"),
    "verify_rf": ("convscope.checks.rf_verify", "verify_rf"),
    "diff_document": ("convscope.diff.document", "as_dict"),
    "check_diff": ("convscope.diff.gate", "check"),
    "diff_reports": ("convscope.diff.compare", "diff_reports"),
    "is_report_path": ("convscope.diff.reports", "is_report_path"),
    "parse_thresholds": ("convscope.diff.gate", "parse_thresholds"),
    "load_diff_side": ("convscope.diff.reports", "load_side"),
    "apply_baseline": ("convscope.linting.baseline", "apply"),
    "load_baseline": ("convscope.linting.baseline", "load"),
    "render_baseline": ("convscope.linting.baseline", "render"),
    "rule_doc": ("convscope.catalog", "rule_doc"),
    "ModelEntry": ("convscope.linting.config", "ModelEntry"),
    "Settings": ("convscope.linting.config", "Settings"),
    "load_settings": ("convscope.linting.config", "load_settings"),
    "lint": ("convscope.linting.engine", "lint"),
    "LintResult": ("convscope.linting.finding", "LintResult"),
    "Severity": ("convscope.linting.finding", "Severity"),
    "Registry": ("convscope.linting.registry", "Registry"),
    "default_registry": ("convscope.linting.registry", "default_registry"),
    "LoadedModel": ("convscope.model.load", "LoadedModel"),
    "load_model": ("convscope.model.load", "load_model"),
    "parse_input_shapes": ("convscope.model.shapes", "parse_input_shapes"),
    "parse_inputs": ("convscope.model.shapes", "parse_inputs"),
    "ModelInputs": ("convscope.model.arguments", "ModelInputs"),
    "quant_report": ("convscope.analysis.quant", "quant_report"),
    "with_quant": ("convscope.analysis.quant", "with_quant"),
    "calibrate": ("convscope.profiling.calibrate", "calibrate"),
    "check_device": ("convscope.profiling.measure", "check_device"),
    "profile": ("convscope.profiling.run", "profile"),
    "with_profile": ("convscope.profiling.run", "with_profile"),
    "build_report": ("convscope.report.build", "build_report"),
    "render_report": ("convscope.report.build", "render"),
    "build_comparison": ("convscope.report.compare", "build_comparison"),
    "compare_documents": ("convscope.report.compare", "compare_documents"),
    "render_comparison": ("convscope.report.compare", "render"),
    "export_program": ("convscope.rewriting.apply", "export_program"),
    "rewrite": ("convscope.rewriting.run", "rewrite"),
    "available_profiles": ("convscope.targets.profiles", "available_profiles"),
    "load_profile": ("convscope.linting.profiles", "load_profile"),
    "RooflineParams": ("convscope.targets.roofline", "RooflineParams"),
    "ConfigError": ("convscope.validate", "ConfigError"),
    "unknown_code_message": ("convscope.linting.validation", "unknown_code_message"),
    "Places": ("convscope.linting.places", "Places"),
    "report_places": ("convscope.linting.places", "report_places"),
    "state_dict_path": ("convscope.rewriting.apply", "state_dict_path"),
    "ModelCodeError": ("convscope.model.guard", "ModelCodeError"),
    "culprit": ("convscope.model.guard", "culprit"),
    "describe": ("convscope.errors", "describe"),
    "interrupted_in": ("convscope.model.guard", "interrupted_in"),
    "time_limit": ("convscope.model.guard", "time_limit"),
    "global_state": ("convscope.model.state", "global_state"),
    "preserved_global_state": ("convscope.model.state", "preserved_global_state"),
    "load_calibration_file": ("convscope.analysis.quant", "load_calibration_file"),
    "check_memory": ("convscope.profiling.run", "check_memory"),
    "max_threads": ("convscope.profiling.run", "max_threads"),
    "assess_reliability": ("convscope.profiling.reliability", "assess"),
    "resolve_target": ("convscope.linting.profiles", "resolve_target"),
    "roofline_params": ("convscope.targets.profiles", "roofline_params"),
    "folded": ("convscope.analysis.build", "folded"),
    "baseline_root": ("convscope.linting.baseline", "find_root"),
    "model_identity": ("convscope.linting.baseline", "model_identity"),
    "lint_statistics": ("convscope.linting.finding", "statistics"),
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    target = _EXPORTS.get(name)
    if target is None:
        raise AttributeError(f"module 'convscope.api' has no attribute {name!r}")
    return getattr(importlib.import_module(target[0]), target[1])
