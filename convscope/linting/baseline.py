"""Baselines: adopt the linter on an existing model and fail only on new findings.

A baseline file is JSON::

    {"version": 1,
     "findings": [{"model": "examples/mobilenet.py", "layer": "features.1.conv.0.0",
                   "code": "DW001", "fingerprint": "…"}]}

Findings match on model spec + layer path + rule code (the fingerprint is the hash of those
three, kept so other tools can match on it); messages and measured values are ignored, so a
tweak of a threshold does not resurrect an accepted finding. Internal errors (CS000) and
budgets are never baselined.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

from convscope.linting.finding import INTERNAL_ERROR_CODE, Finding, LintResult, fingerprint
from convscope.validate import TOO_DEEP, ConfigError

BASELINE_VERSION = 1

Key = tuple[str, str, str]


def render(results: Iterable[LintResult]) -> str:
    """The baseline document for ``results`` (sorted, stable, one finding per key)."""
    keys = sorted({f.key for r in results for f in r.findings if f.code != INTERNAL_ERROR_CODE})
    doc = {
        "version": BASELINE_VERSION,
        "findings": [
            {"model": m, "layer": layer, "code": c, "fingerprint": fingerprint(m, layer, c)}
            for m, layer, c in keys
        ],
    }
    return json.dumps(doc, indent=2) + "\n"


def load(path: str | Path) -> frozenset[Key]:
    """The keys in a baseline file; :class:`ConfigError` naming the file and the problem."""
    p = Path(path)
    label = f"baseline {p}"
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{label}: file not found (create it with --write-baseline)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{label}: cannot read: {exc}") from None
    try:
        doc: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{label}: malformed JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from None
    except RecursionError:
        raise ConfigError(f"{label}: {TOO_DEEP}") from None
    if not isinstance(doc, dict):
        raise ConfigError(f"{label}: expected a JSON object with 'version' and 'findings'")
    unknown = sorted(set(doc) - {"version", "findings"})
    if unknown:
        raise ConfigError(f"{label}: unknown key {unknown[0]!r}")
    version = doc.get("version")
    # JSON true is Python True, and True == 1: only a real integer is a version
    if type(version) is not int or version != BASELINE_VERSION:
        raise ConfigError(
            f"{label}: version: expected {BASELINE_VERSION}, got {doc.get('version')!r}"
        )
    findings = doc.get("findings")
    if not isinstance(findings, list):
        raise ConfigError(f"{label}: findings: expected a list")
    keys: set[Key] = set()
    for i, item in enumerate(findings):
        where = f"{label}: findings[{i}]"
        if not isinstance(item, dict):
            raise ConfigError(f"{where}: expected an object")
        for field in ("model", "layer", "code"):
            if not isinstance(item.get(field), str):
                raise ConfigError(f"{where}.{field}: expected a string")
        if "fingerprint" in item and not isinstance(item["fingerprint"], str):
            raise ConfigError(f"{where}.fingerprint: expected a string")
        keys.add((item["model"], item["layer"], item["code"]))
    return frozenset(keys)


def apply(result: LintResult, keys: frozenset[Key]) -> LintResult:
    """Drop findings whose key is in the baseline; count them in ``suppressed``."""
    kept: list[Finding] = []
    dropped = 0
    for f in result.findings:
        if f.code != INTERNAL_ERROR_CODE and f.key in keys:
            dropped += 1
        else:
            kept.append(f)
    return replace(result, findings=tuple(kept), suppressed=result.suppressed + dropped)
