"""The lint engine: resolve settings, run the selected rules, post-process their findings.

Steps for one model:

1. :meth:`Settings.resolve` picks the rules, their severities and options (target profile
   and config applied).
2. Each section key in a rule's ``requires`` is satisfied from the analysis's sections or
   by calling an injected provider once (``receptive_field=...`` or
   ``providers={WEIGHTS: ...}``); ``ROOFLINE``
   (:class:`~convscope.targets.roofline.RooflineParams`) comes from the target profile's
   figures, and ``LATENCY`` (:class:`~convscope.targets.latency.LatencyPrediction`) is
   predicted from the target profile's kernel model when it has one. A provided value must
   be of its key's type. A rule whose requirement cannot be met is skipped with a note,
   never run on invented data; a section a rule only ``uses`` is provided the same way
   when it can be, and the rule runs without it otherwise.
3. ``rule.check(ctx)`` runs; an exception becomes one error finding ``CS000
   internal-error`` naming the rule, and the other rules still run.
4. Findings are de-duplicated (a shared module runs more than once), filtered by
   ``per-module-ignores``, given source locations when the live module is available,
   filtered by inline ``# convscope: ignore[...]`` comments on those lines (unused ones
   become ``CS100`` findings, see :mod:`convscope.linting.suppress`), and sorted by layer
   order, code and message.
5. Budgets are compared with the model totals.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from convscope.analysis.build import Analysis
from convscope.analysis.latency import predict_latency
from convscope.analysis.quant import report_from_weights
from convscope.analysis.sections import as_key
from convscope.errors import ConvscopeError, describe
from convscope.ir.flow import Flow
from convscope.linting import suppress
from convscope.linting.config import Budgets, Resolved, Settings
from convscope.linting.finding import (
    INTERNAL_ERROR_CODE,
    INTERNAL_ERROR_NAME,
    UNUSED_SUPPRESSION_CODE,
    BudgetResult,
    Finding,
    LintResult,
    Severity,
    SkippedRule,
)
from convscope.linting.registry import Registry, default_registry
from convscope.linting.rule import RuleContext
from convscope.linting.source import SourceLocator
from convscope.model.guard import ModelCodeError
from convscope.model.state import keeps_global_state
from convscope.passes.keys import QUANT, RECEPTIVE_FIELD
from convscope.sections import WEIGHTS, SectionKey
from convscope.targets.keys import LATENCY, ROOFLINE
from convscope.targets.latency import LatencyPrediction
from convscope.targets.profiles import Profile, roofline_params
from convscope.targets.roofline import RooflineParams

Provider = Callable[[Analysis], Any]

#: Why a requirement may be missing, shown when a rule is skipped.
REQUIREMENT_HINTS: Mapping[SectionKey[Any], str] = {
    WEIGHTS: "needs model weights (pass --weights CKPT)",
    QUANT: "needs model weights (pass --weights CKPT)",
    RECEPTIVE_FIELD: "needs the receptive-field analysis, which is not available",
    ROOFLINE: "needs roofline figures (peak-flops, bandwidth) in the target profile: use "
    "--target gpu-fp16 or a profile written by `convscope profile --calibrate`",
}


@keeps_global_state
def lint(
    analysis: Analysis,
    settings: Settings | None = None,
    *,
    module: Any = None,
    source_file: str | Path | None = None,
    receptive_field: Provider | None = None,
    providers: Mapping[SectionKey[Any], Provider] | None = None,
    registry: Registry | None = None,
    budgets: Budgets | None = None,
    command_model: str | None = None,
) -> LintResult:
    """Lint one analysed model.

    ``module`` (the live ``nn.Module``, optional) and ``source_file`` (the user's model file)
    give findings a source location. ``receptive_field`` computes the
    ``RECEPTIVE_FIELD`` section on demand for rules that need it; ``providers`` does the
    same for any other section key (or the name of a built-in one: ``"weights"``), and
    ``WEIGHTS`` also provides ``QUANT``. ``budgets`` replaces the settings' budgets
    limit by limit (per-model budgets from the config). ``command_model`` is how commands
    in findings name the model when ``analysis.model`` is not usable from the current
    directory (a spec relative to a config file).
    """
    registry = registry if registry is not None else default_registry()
    settings = settings if settings is not None else Settings()
    resolved = settings.resolve(registry)
    all_providers = {as_key(k): p for k, p in (providers or {}).items()}
    if receptive_field is not None:
        all_providers.setdefault(RECEPTIVE_FIELD, receptive_field)
    if WEIGHTS in all_providers and QUANT not in all_providers:
        all_providers[QUANT] = _quant_provider(all_providers[WEIGHTS])
    profile = resolved.profile
    if profile.kernels is not None:  # the target's kernel model predicts latency
        all_providers.setdefault(LATENCY, _latency_provider(profile))

    findings, rules_run, skipped = _run_rules(analysis, resolved, all_providers, command_model)
    findings, ignored = _filter(findings, settings)
    noqa = 0
    if module is not None:
        locator = SourceLocator(module, source_file)
        findings = [
            dataclasses.replace(f, location=f.location or locator.locate(f.layer))
            if f.code != INTERNAL_ERROR_CODE
            else f
            for f in findings
        ]
        unused_severity = next(
            (a.severity for a in resolved.active if a.rule.code == UNUSED_SUPPRESSION_CODE),
            None,
        )
        user_file = locator.user_file

        def layers_by_line() -> dict[int, str]:
            lines: dict[int, str] = {}
            for row in analysis.rows:
                loc = locator.locate(row.path) if row.path else None
                if loc is not None and loc.file == user_file:
                    lines.setdefault(loc.line, row.path)
            return lines

        findings, noqa, unused = suppress.apply(
            findings,
            user_file=user_file,
            rules_run=rules_run,
            known_codes=registry.keys(),
            unused_severity=unused_severity,
            locate_layers=layers_by_line,
            model=analysis.model,
        )
        findings.extend(unused)
    limits = settings.budgets.merged(budgets)
    latency = None
    if limits.latency is not None:
        latency = analysis.section(LATENCY)
        if latency is None and LATENCY in all_providers:
            latency = all_providers[LATENCY](analysis)
            if isinstance(latency, Analysis):  # a provider may return an analysis
                latency = latency.section(LATENCY)
        if latency is None:
            raise ConvscopeError(
                f"budget 'latency' needs a predicted latency, and target '{profile.name}' "
                "has no kernel model: measure one on the device with `convscope profile "
                "--calibrate --kernels -o DEVICE.yaml` and lint with --target DEVICE.yaml "
                "(or `target:` in the config)"
            )
    return LintResult(
        model=analysis.model,
        findings=tuple(_sorted(findings, analysis)),
        rules_run=tuple(rules_run),
        skipped=tuple(skipped),
        budgets=check_budgets(analysis, limits, latency),
        ignored=ignored,
        target=resolved.profile.name,
        noqa=noqa,
    )


def check_budgets(
    analysis: Analysis, budgets: Budgets, latency: LatencyPrediction | None = None
) -> tuple[BudgetResult, ...]:
    """Each budget against the model's totals; ``latency`` against ``latency``'s predicted
    end-to-end milliseconds (required when that budget is set)."""
    t = analysis.totals
    actual: dict[str, int | float] = {
        "params": t.params,
        "macs": t.macs,
        "peak_activation_bytes": t.peak_activation_bytes,
    }
    if latency is not None:
        actual["latency"] = round(latency.predicted_ms, 6)
    return tuple(BudgetResult(metric, limit, actual[metric]) for metric, limit in budgets.items())


def _latency_provider(profile: Profile) -> Provider:
    """The target's prediction for ``LATENCY``, computed once per lint run (rules and the
    latency budget share it)."""
    memo: list[tuple[Analysis, LatencyPrediction]] = []

    def provide(analysis: Analysis) -> LatencyPrediction:
        for seen, value in memo:
            if seen is analysis:
                return value
        value = predict_latency(analysis, profile)
        memo.append((analysis, value))
        return value

    return provide


def _run_rules(
    analysis: Analysis,
    resolved: Resolved,
    providers: Mapping[SectionKey[Any], Provider],
    command_model: str | None = None,
) -> tuple[list[Finding], list[str], list[SkippedRule]]:
    flow = Flow(analysis.graph)
    extras: dict[SectionKey[Any], Any] = dict(analysis.extras)
    roofline = profile_roofline(resolved.profile)
    if roofline is not None:  # the target's figures, for rules that require ROOFLINE
        extras.setdefault(ROOFLINE, roofline)
    failed: dict[SectionKey[Any], str] = {}
    findings: list[Finding] = []
    rules_run: list[str] = []
    skipped: list[SkippedRule] = []
    for active in resolved.active:
        rule = active.rule
        missing: list[str] = []
        for need in sorted(rule.requires, key=_name):
            if need not in extras and need not in failed:
                _provide(need, analysis, providers, extras, failed)
            why = _failure(extras.get(need))
            if why is not None and need not in failed:
                failed[need] = f"computing {need.name} failed: {why}"
            if need in failed:
                extras.pop(need, None)
            if need not in extras:
                missing.append(failed.get(need) or _hint(need))
        if missing:
            skipped.append(SkippedRule(rule.code, rule.name, "; ".join(missing)))
            continue
        for use in sorted(rule.uses - rule.requires, key=_name):
            if use not in extras and use not in failed:
                _provide(use, analysis, providers, extras, failed, optional=True)
        ctx = RuleContext(
            analysis=analysis,
            rule=rule,
            severity=active.severity,
            options=active.options,
            profile=resolved.profile,
            flow=flow,
            extras=extras,
            command_model=command_model,
        )
        rules_run.append(rule.code)
        try:
            for f in rule.check(ctx):
                if f.code == rule.code:
                    # A rule may lower one finding (down to info) when the target makes it
                    # harmless; it can never raise it above the configured severity.
                    lowered = Severity.INFO.rank <= f.severity.rank < active.severity.rank
                    severity = f.severity if lowered else active.severity
                    f = dataclasses.replace(f, severity=severity, model=analysis.model)
                findings.append(f)
        except ModelCodeError:  # the model's code exited or timed out: stop, say so
            raise
        except Exception as exc:  # a broken rule must not stop the others
            findings.append(internal_error(analysis.model, rule.code, rule.name, exc))
    for need, reason in sorted(failed.items(), key=lambda item: item[0].name):
        users = sorted(
            a.rule.code for a in resolved.active if need in a.rule.requires | a.rule.uses
        )
        if users and reason.startswith("computing"):
            findings.append(
                Finding(
                    code=INTERNAL_ERROR_CODE,
                    name=INTERNAL_ERROR_NAME,
                    severity=Severity.ERROR,
                    layer="",
                    message=f"{reason} (needed by {', '.join(users)})",
                    model=analysis.model,
                )
            )
    return findings, rules_run, skipped


def profile_roofline(profile: Profile) -> RooflineParams | None:
    """The target profile's roofline figures, or None when it has none (the one conversion
    ``profile`` and ``report`` use too)."""

    params: RooflineParams | None = roofline_params(profile)
    return params


def _quant_provider(weights: Provider) -> Provider:
    """The quantization report (``quant``) measured from what the ``weights`` provider
    gives; the QF rules read only that report."""

    def provide(analysis: Analysis) -> Any:
        return report_from_weights(analysis, weights(analysis))

    return provide


def _failure(value: Any) -> str | None:
    """A section that records why it could not be computed (``ReceptiveField.failure``)
    counts as a failed computation: its rules are skipped and the failure reported."""
    why = getattr(value, "failure", None)
    return why if isinstance(why, str) else None


def _name(key: SectionKey[Any]) -> str:
    return key.name


def _hint(key: SectionKey[Any]) -> str:
    return REQUIREMENT_HINTS.get(key, f"needs {key.name}")


def _provide(
    need: SectionKey[Any],
    analysis: Analysis,
    providers: Mapping[SectionKey[Any], Provider],
    extras: dict[SectionKey[Any], Any],
    failed: dict[SectionKey[Any], str],
    *,
    optional: bool = False,
) -> None:
    provider = providers.get(need)
    if provider is None:
        return
    try:
        value = provider(analysis)
        if isinstance(value, Analysis):  # a provider may return an analysis with the section
            value = value.section(need)
        if value is not None:
            need.check(value)
    except ConvscopeError:  # bad input (a calibration file that cannot load): a usage error
        raise
    except Exception as exc:  # reported as an internal error finding
        failed[need] = f"computing {need.name} failed: {describe(exc)}"
        return
    if value is None:
        if not optional:
            failed[need] = _hint(need)
        return
    extras[need] = value


def internal_error(model: str, code: str, name: str, exc: BaseException) -> Finding:
    return Finding(
        code=INTERNAL_ERROR_CODE,
        name=INTERNAL_ERROR_NAME,
        severity=Severity.ERROR,
        layer="",
        message=f"rule {code} ({name}) crashed with {describe(exc)}; "
        f"its findings are incomplete (please report this bug)",
        values={"rule": code},
        model=model,
    )


def _filter(findings: Iterable[Finding], settings: Settings) -> tuple[list[Finding], int]:
    """De-duplicate and apply per-module-ignores; returns kept findings and the ignored count."""
    seen: set[tuple[str, str, str]] = set()
    kept: list[Finding] = []
    ignored = 0
    for f in findings:
        ident = (f.code, f.layer, f.message)
        if ident in seen:
            continue
        seen.add(ident)
        if f.code != INTERNAL_ERROR_CODE and settings.module_ignored(f.layer, f.code):
            ignored += 1
            continue
        kept.append(f)
    return kept, ignored


def _sorted(findings: list[Finding], analysis: Analysis) -> list[Finding]:
    order = {r.path: i for i, r in enumerate(analysis.rows)}
    end = len(order)
    return sorted(
        findings,
        key=lambda f: (
            f.code != INTERNAL_ERROR_CODE,
            order.get(f.layer, end),
            f.layer,
            f.code,
            f.message,
        ),
    )
