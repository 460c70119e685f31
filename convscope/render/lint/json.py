"""``convscope lint --format json``: every model's findings, budgets and skipped rules.

Document (``version`` 1)::

    {"version": 1, "tool": {"name", "version"},
     "models": [{"model", "target", "findings": [{code, name, severity, layer, message,
                 values, value, suggestion, rewrite, location: {file, line} | null,
                 fingerprint}],
                 "budgets": [{metric, limit, actual, exceeded}], "skipped": [{code, name,
                 reason}], "rules_run": [...], "suppressed", "ignored", "noqa",
                 "identity", "stale_baseline": [{layer, code}]}],
     "summary": {findings, errors, warnings, info, suppressed, noqa, stale_baseline,
                 budgets_exceeded}}

``value`` is the rule's headline measurement (what baselines compare) or null;
``identity`` is the normalized model name baselines key on.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from convscope._version import __version__
from convscope.linting.finding import Finding, LintResult, relative_path, summary_counts

VERSION = 1


def finding_dict(f: Finding, cwd: Path | None = None) -> dict[str, Any]:
    return {
        "code": f.code,
        "name": f.name,
        "severity": f.severity.value,
        "layer": f.layer,
        "message": f.message,
        "values": dict(f.values),
        "value": f.value,
        "suggestion": f.suggestion,
        "rewrite": f.rewrite,
        "location": (
            {"file": relative_path(f.location.file, cwd), "line": f.location.line}
            if f.location
            else None
        ),
        "fingerprint": f.fingerprint,
    }


def to_dict(results: Sequence[LintResult], cwd: Path | None = None) -> dict[str, Any]:
    return {
        "version": VERSION,
        "tool": {"name": "convscope", "version": __version__},
        "models": [
            {
                "model": r.model,
                "target": r.target,
                "findings": [finding_dict(f, cwd) for f in r.findings],
                "budgets": [
                    {
                        "metric": b.metric,
                        "limit": b.limit,
                        "actual": b.actual,
                        "exceeded": b.exceeded,
                    }
                    for b in r.budgets
                ],
                "skipped": [
                    {"code": s.code, "name": s.name, "reason": s.reason} for s in r.skipped
                ],
                "rules_run": list(r.rules_run),
                "suppressed": r.suppressed,
                "ignored": r.ignored,
                "noqa": r.noqa,
                "identity": r.model_id,
                "stale_baseline": [
                    {"layer": layer, "code": code} for layer, code in r.stale_baseline
                ],
            }
            for r in results
        ],
        "summary": summary_counts(results),
    }


def render(results: Sequence[LintResult], cwd: Path | None = None) -> str:
    return json.dumps(to_dict(results, cwd), indent=2, ensure_ascii=False) + "\n"
