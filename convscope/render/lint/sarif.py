"""``convscope lint --format sarif``: SARIF 2.1.0 for GitHub code scanning and other viewers.

One run; ``tool.driver.rules`` holds every rule that ran (plus the ``CS000`` / ``BUDGET``
pseudo-rules when they appear), results point at their rule by ``ruleId`` and ``ruleIndex``.
Every result carries a physical location, as GitHub code scanning requires: the line that
built the layer when it lies in the repository, else the anchor of its model or budget (the
config line naming it; see :mod:`convscope.linting.places`). URIs are percent-encoded and
relative to the repository root through ``uriBaseId`` ``%SRCROOT%``; results also carry a
logical location naming the layer (``model::layer``). ``partialFingerprints
["convscope/v1"]`` hashes model spec, layer path and code, so a finding keeps its identity
when messages or values change.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from convscope import catalog as data
from convscope._version import __version__
from convscope.linting.finding import (
    BUDGET_CODE,
    BUDGET_NAME,
    INTERNAL_ERROR_CODE,
    INTERNAL_ERROR_NAME,
    Finding,
    LintResult,
    Severity,
)
from convscope.linting.places import (
    Place,
    Places,
    relative_uri,
    repository_root,
    root_fallback,
)
from convscope.linting.registry import Registry

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
#: Paths are relative to the repository root, named by this base id (GitHub's convention);
#: ``run.originalUriBaseIds`` maps it to the root's absolute ``file:`` URI.
ROOT_ID = "%SRCROOT%"
FINGERPRINT_KEY = "convscope/v1"

LEVELS = {
    Severity.ERROR: "error",
    Severity.WARNING: "warning",
    Severity.INFO: "note",
    Severity.OFF: "none",
}

_PSEUDO = {
    INTERNAL_ERROR_CODE: (
        INTERNAL_ERROR_NAME,
        "A lint rule crashed; its findings are incomplete.",
        "A lint rule raised an exception instead of returning findings, so this model was "
        "not fully checked. The other rules still ran. Rerun with `--debug` to see the "
        "traceback, and report it with the model spec.",
    ),
    BUDGET_CODE: (
        BUDGET_NAME,
        "A model total exceeds the budget set in the configuration.",
        "A model total (`params`, `macs` or `peak_activation_bytes`) is above the limit set "
        "under `budgets` in the configuration, globally or for this model. Shrink the model "
        "or raise the limit deliberately; budgets are never baselined.",
    ),
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
        name, text, help_text = _PSEUDO.get(code, (code.lower(), code, code))
        return {
            "id": code,
            "name": name,
            "shortDescription": {"text": text},
            "fullDescription": {"text": text},
            "help": {"text": help_text, "markdown": f"# {code} {name}\n\n{help_text}\n"},
            "defaultConfiguration": {"level": "error"},
        }
    doc = _rule_doc(rule.code, rule.name)
    full = (rule.__doc__ or rule.summary).strip()
    d: dict[str, Any] = {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": " ".join(full.split())},
        "defaultConfiguration": {
            "level": LEVELS[rule.default_severity],
            "enabled": rule.default_severity is not Severity.OFF,
        },
        "properties": {"tags": [rule.code.rstrip("0123456789")]},
    }
    # The rule's README is embedded in full: there is no published docs site to link to.
    doc = doc or f"# {rule.code} {rule.name}\n\n{rule.summary}\n\n{full}\n"
    d["help"] = {"text": doc, "markdown": doc}
    return d


def default_places(cwd: Path | None = None) -> Places:
    """No anchors: the repository around ``cwd`` (else ``cwd``) as the root."""
    here = (cwd or Path.cwd()).resolve()
    root = repository_root(here) or here
    return Places(root=root, fallback=root_fallback(root))


def _physical(place: Place, root: Path) -> dict[str, Any]:
    uri = relative_uri(place.file, root)
    artifact = (
        {"uri": uri, "uriBaseId": ROOT_ID}
        if uri is not None
        else {"uri": place.file.resolve().as_uri()}  # cannot happen for anchors; kept valid
    )
    region: dict[str, Any] = {"startLine": place.line}
    if place.column is not None:
        region["startColumn"] = place.column
        if place.end_column is not None and place.end_column > place.column:
            region["endLine"] = place.line
            region["endColumn"] = place.end_column
    return {"artifactLocation": artifact, "region": region}


def _result(f: Finding, index: int, places: Places) -> dict[str, Any]:
    own = places.layer_place(f.location) if f.code != BUDGET_CODE else None
    location: dict[str, Any] = {
        "physicalLocation": _physical(places.place(f), places.root),
        "logicalLocations": [
            {
                "fullyQualifiedName": f"{f.model}::{f.layer_display}",
                "name": f.layer_display,
                "kind": "module",
            }
        ],
    }
    text = f"{f.layer_display}: {f.message}"
    if own is None:
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
    results: Sequence[LintResult],
    registry: Registry,
    places: Places | None = None,
    *,
    cwd: Path | None = None,
) -> dict[str, Any]:
    """The SARIF log; ``places`` anchors findings without a layer line (see
    :mod:`convscope.linting.places`), by default only on the repository around ``cwd``."""
    where = places or default_places(cwd)
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
                        "rules": [_descriptor(c, registry) for c in codes],
                    }
                },
                "originalUriBaseIds": {ROOT_ID: {"uri": where.root.as_uri().rstrip("/") + "/"}},
                "results": [_result(f, index[f.code], where) for f in findings],
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


def render(
    results: Sequence[LintResult],
    registry: Registry,
    places: Places | None = None,
    *,
    cwd: Path | None = None,
) -> str:
    doc = to_dict(results, registry, places, cwd=cwd)
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
