"""Baselines: written from findings, matched on model + layer + code, malformed files refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from convscope.linting import baseline
from convscope.linting.finding import Finding, LintResult, Severity
from convscope.validate import ConfigError


def result(*layers: str, code: str = "DW001", model: str = "m.py") -> LintResult:
    return LintResult(
        model=model,
        findings=tuple(
            Finding(
                code, "narrow-depthwise", Severity.WARNING, layer, f"message {layer}", model=model
            )
            for layer in layers
        ),
    )


def test_roundtrip_suppresses_known_findings(tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    crash = Finding("CS000", "internal-error", Severity.ERROR, "", "boom", model="m.py")
    old = result("a", "b")
    old = LintResult(model="m.py", findings=(*old.findings, crash))
    path.write_text(baseline.render([old, result("a", model="other.py")]))
    doc = json.loads(path.read_text())
    assert doc["version"] == 1
    assert [(f["model"], f["layer"], f["code"]) for f in doc["findings"]] == [
        ("m.py", "a", "DW001"),
        ("m.py", "b", "DW001"),
        ("other.py", "a", "DW001"),
    ]
    assert all(len(f["fingerprint"]) == 32 for f in doc["findings"])  # CS000 never baselined
    keys = baseline.load(path)
    new = baseline.apply(
        LintResult(model="m.py", findings=(*result("a", "c").findings, crash)), keys
    )
    assert [f.layer for f in new.findings] == ["c", ""]  # a suppressed; crash kept
    assert new.suppressed == 1
    # messages do not matter, the code does
    other_code = baseline.apply(result("a", code="DW002"), keys)
    assert other_code.suppressed == 0


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "{not json",
            "malformed JSON: Expecting property name enclosed in double quotes at line 1, column 2",
        ),
        ("[]", "expected a JSON object with 'version' and 'findings'"),
        ('{"version": 2, "findings": []}', "version: expected 1, got 2"),
        ('{"version": 1}', "findings: expected a list"),
        ('{"version": 1, "findings": [3]}', "findings[0]: expected an object"),
        (
            '{"version": 1, "findings": [{"model": "m", "layer": "a"}]}',
            "findings[0].code: expected a string",
        ),
        ('{"version": 1, "findings": [], "extra": 1}', "unknown key 'extra'"),
    ],
)
def test_malformed_baseline(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "b.json"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        baseline.load(path)
    assert str(info.value) == f"baseline {path}: {expected}"


def test_missing_baseline(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        baseline.load(tmp_path / "none.json")
