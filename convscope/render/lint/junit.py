"""``convscope lint --format junit``: JUnit XML for CI systems that show test reports.

A ``<testsuite>`` per model, a ``<testcase>`` per rule that ran (``classname`` is the model,
``name`` the rule code and name). A rule with findings at or above ``--fail-on`` gets one
``<failure>`` element whose text lists every finding (one failure per test case keeps the
file valid for strict JUnit schemas); findings below the threshold go to ``<system-out>``.
Skipped rules become ``<skipped>`` test cases, and budgets a ``budgets`` test case. The file
validates against the Jenkins xUnit plugin's ``junit-10.xsd``: ``skipped`` is counted on each
``<testsuite>`` only (that schema has no such attribute on ``<testsuites>``), and source
paths are relative to the repository root.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

from convscope.linting.finding import (
    BUDGET_CODE,
    INTERNAL_ERROR_CODE,
    Finding,
    LintResult,
    Severity,
)
from convscope.linting.places import repository_root
from convscope.linting.registry import Registry


def _describe(f: Finding, cwd: Path | None) -> str:
    where = f" ({f.location.display(cwd)})" if f.location else ""
    text = f"{f.severity.value} {f.code} {f.name} {f.layer_display}{where}: {f.message}"
    if f.suggestion:
        text += f"\n    fix: {f.suggestion}"
    return text


def _case(
    suite: ET.Element,
    model: str,
    name: str,
    findings: list[Finding],
    fail_on: Severity,
    cwd: Path | None,
) -> tuple[int, int]:
    case = ET.SubElement(suite, "testcase", classname=model, name=name, time="0")
    failing = [f for f in findings if f.severity.at_least(fail_on) or f.code == BUDGET_CODE]
    other = [f for f in findings if f not in failing]
    errors = 0
    if failing:
        first = failing[0]
        is_error = first.code == INTERNAL_ERROR_CODE
        el = ET.SubElement(
            case,
            "error" if is_error else "failure",
            message=f"{len(failing)} finding(s): {first.message}"[:500],
            type=first.severity.value,
        )
        el.text = "\n".join(_describe(f, cwd) for f in failing)
        errors = int(is_error)
    if other:
        out = ET.SubElement(case, "system-out")
        out.text = "\n".join(_describe(f, cwd) for f in other)
    return int(bool(failing)) - errors, errors


def render(
    results: Sequence[LintResult],
    fail_on: Severity = Severity.WARNING,
    cwd: Path | None = None,
    registry: Registry | None = None,
    root_dir: Path | None = None,
) -> str:
    """The JUnit XML document; ``registry`` supplies rule names for rules without findings,
    paths are relative to ``root_dir`` (default: the repository around ``cwd``)."""
    here = (cwd or Path.cwd()).resolve()
    cwd = root_dir.resolve() if root_dir else repository_root(here) or here
    root = ET.Element("testsuites", name="convscope lint")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for r in results:
        suite = ET.SubElement(root, "testsuite", name=r.model)
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        by_code: dict[str, list[Finding]] = {}
        for f in r.findings:
            by_code.setdefault(f.code, []).append(f)
        names = {code: rule.name for code, rule in (registry or {}).items()}
        names.update({f.code: f.name for f in r.findings})
        for code in r.rules_run:
            label = f"{code} {names.get(code, '')}".strip()
            fails, errs = _case(suite, r.model, label, by_code.pop(code, []), fail_on, cwd)
            counts["tests"] += 1
            counts["failures"] += fails
            counts["errors"] += errs
        for code, findings in sorted(by_code.items()):  # CS000 and codes not in rules_run
            fails, errs = _case(
                suite, r.model, f"{code} {findings[0].name}", findings, fail_on, cwd
            )
            counts["tests"] += 1
            counts["failures"] += fails
            counts["errors"] += errs
        for s in r.skipped:
            case = ET.SubElement(
                suite, "testcase", classname=r.model, name=f"{s.code} {s.name}", time="0"
            )
            ET.SubElement(case, "skipped", message=s.reason)
            counts["tests"] += 1
            counts["skipped"] += 1
        if r.budgets:
            fails, errs = _case(suite, r.model, "budgets", list(r.budget_findings), fail_on, cwd)
            counts["tests"] += 1
            counts["failures"] += fails
        for k, v in counts.items():
            suite.set(k, str(v))
            totals[k] += v
    for k, v in totals.items():
        if k != "skipped":
            root.set(k, str(v))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
