"""``convscope lint --format sarif``: SARIF 2.1.0 for GitHub code scanning and other viewers.

One run; ``tool.driver.rules`` holds every rule that ran (plus the ``CS000`` / ``BUDGET``
pseudo-rules when they appear), results point at their rule by ``ruleId`` and ``ruleIndex``.
A result carries a physical location (file relative to the working directory, start line)
when the layer's source is known and is not inside an installed package, and always a
logical location naming the layer (``model::layer``). ``partialFingerprints
["convscope/v1"]`` hashes model spec, layer path and code, so a finding keeps its identity
when messages or values change.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from convscope import __version__
from convscope.linting import catalog as data
from convscope.linting.finding import (
    BUDGET_CODE,
    BUDGET_NAME,
    INTERNAL_ERROR_CODE,
    INTERNAL_ERROR_NAME,
    Finding,
    LintResult,
    Severity,
)
from convscope.linting.registry import Registry

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/convscope/convscope"
FINGERPRINT_KEY = "convscope/v1"

LEVELS = {
    Severity.ERROR: "error",
    Severity.WARNING: "warning",
    Severity.INFO: "note",
    Severity.OFF: "none",
}

_PSEUDO = {
    INTERNAL_ERROR_CODE: (INTERNAL_ERROR_NAME, "A lint rule crashed; its findings are incomplete."),
    BUDGET_CODE: (BUDGET_NAME, "A model total exceeds the budget set in the configuration."),
}


def _rule_doc(code: str, name: str) -> str | None:
    try:
        path = data.rule_doc(code, name)
        return path.read_text(encoding="utf-8") if path.is_file() else None
    except OSError:
        return None


def _descriptor(code: str, registry: Registry) -> dict[str, Any]:
    rule = registry.get(code)
    if rule is None:
        name, text = _PSEUDO.get(code, (code.lower(), code))
        return {
            "id": code,
            "name": name,
            "shortDescription": {"text": text},
            "fullDescription": {"text": text},
            "defaultConfiguration": {"level": "error"},
        }
    doc = _rule_doc(rule.code, rule.name)
    full = (rule.__doc__ or rule.summary).strip()
    d: dict[str, Any] = {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": " ".join(full.split())},
        "helpUri": data.rule_doc_url(rule.code, rule.name),
        "defaultConfiguration": {
            "level": LEVELS[rule.default_severity],
            "enabled": rule.default_severity is not Severity.OFF,
        },
        "properties": {"tags": [rule.code.rstrip("0123456789")]},
    }
    if doc:
        d["help"] = {"text": doc, "markdown": doc}
    return d


def _uri(path: Path, cwd: Path) -> str:
    try:
        return path.resolve().relative_to(cwd).as_posix()
    except ValueError:
        return path.resolve().as_uri()


def _result(f: Finding, index: int, cwd: Path) -> dict[str, Any]:
    location: dict[str, Any] = {
        "logicalLocations": [
            {
                "fullyQualifiedName": f"{f.model}::{f.layer_display}",
                "name": f.layer_display,
                "kind": "module",
            }
        ]
    }
    if f.location is not None and not f.location.third_party:
        location["physicalLocation"] = {
            "artifactLocation": {"uri": _uri(f.location.file, cwd)},
            "region": {"startLine": f.location.line},
        }
    text = f"{f.layer_display}: {f.message}"
    if f.location is None or f.location.third_party:
        text = f"{f.model}: {text}"
    if f.suggestion:
        text += f". Fix: {f.suggestion}"
    out: dict[str, Any] = {
        "ruleId": f.code,
        "ruleIndex": index,
        "level": LEVELS[f.severity],
        "message": {"text": text},
        "locations": [location],
        "partialFingerprints": {FINGERPRINT_KEY: f.fingerprint},
        "properties": {"model": f.model, "layer": f.layer, "values": dict(f.values)},
    }
    if f.rewrite:
        out["properties"]["rewrite"] = f.rewrite
    return out


def to_dict(
    results: Sequence[LintResult], registry: Registry, cwd: Path | None = None
) -> dict[str, Any]:
    base = (cwd or Path.cwd()).resolve()
    findings = [f for r in results for f in r.all_findings]
    codes = sorted({c for r in results for c in r.rules_run} | {f.code for f in findings})
    index = {c: i for i, c in enumerate(codes)}
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "convscope",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "informationUri": INFORMATION_URI,
                        "rules": [_descriptor(c, registry) for c in codes],
                    }
                },
                "results": [_result(f, index[f.code], base) for f in findings],
                "columnKind": "unicodeCodePoints",
                "invocations": [
                    {
                        "executionSuccessful": not any(
                            f.code == INTERNAL_ERROR_CODE for f in findings
                        )
                    }
                ],
            }
        ],
    }


def render(results: Sequence[LintResult], registry: Registry, cwd: Path | None = None) -> str:
    return json.dumps(to_dict(results, registry, cwd), indent=2, ensure_ascii=False) + "\n"
