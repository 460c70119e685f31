"""Output formats of ``convscope lint``: text, JSON, SARIF 2.1.0, GitHub annotations, JUnit."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

from convscope.linting.finding import (
    BudgetResult,
    Finding,
    LintResult,
    Location,
    Severity,
    SkippedRule,
    fingerprint,
)
from convscope.linting.registry import default_registry
from convscope.render.lint import github, junit, rule_doc, sarif
from convscope.render.lint import json as lint_json
from convscope.render.lint import text as lint_text

HERE = Path(__file__).resolve().parents[1]
CWD = HERE.parent


DW_MESSAGE = "depthwise 3×3 conv over 16 channels: below 32"


def make_results(message: str = DW_MESSAGE) -> list[LintResult]:
    loc = Location(HERE / "render" / "test_lint.py", 12)
    outside = Location(Path("/opt/elsewhere/model.py"), 3)
    site = Location(Path("/usr/lib/python3/site-packages/tv/models/m.py"), 40)
    a = LintResult(
        model="examples/mobilenet.py",
        findings=(
            Finding(
                "DW001",
                "narrow-depthwise",
                Severity.WARNING,
                "features.1.conv.0.0",
                message,
                {"channels": 16, "min_channels": 32},
                suggestion="widen it",
                location=loc,
                model="examples/mobilenet.py",
            ),
            Finding(
                "DW003",
                "separable-candidate",
                Severity.INFO,
                "features.2",
                "a, b: 50% off\nsecond line",
                {"savings": 0.5},
                rewrite="convscope rewrite examples/mobilenet.py --only features.2",
                location=outside,
                model="examples/mobilenet.py",
            ),
            Finding(
                "CS000",
                "internal-error",
                Severity.ERROR,
                "",
                "rule QF003 (unfoldable-batchnorm) crashed with ValueError: x",
                model="examples/mobilenet.py",
            ),
            Finding(
                "HW001",
                "channel-alignment",
                Severity.WARNING,
                "conv",
                "in_channels 20 is not a multiple of 8",
                location=site,
                model="examples/mobilenet.py",
            ),
        ),
        rules_run=("DW001", "DW003", "HW001", "QF003"),
        skipped=(SkippedRule("RF001", "rf-under-coverage", "needs receptive fields"),),
        budgets=(BudgetResult("params", 1000, 2000), BudgetResult("macs", 10**9, 10)),
        suppressed=2,
        target="edge-int8",
    )
    b = LintResult(model="torchvision:resnet50", findings=(), rules_run=("DW001",))
    return [a, b]


# --------------------------------------------------------------------------- SARIF


# --------------------------------------------------------------------------- SARIF


LEVELS = {"none", "note", "warning", "error"}


def validate_sarif(doc: dict[str, Any]) -> None:
    """The required structure of a SARIF 2.1.0 log, level by level (§3 of the OASIS spec)."""
    assert doc["version"] == "2.1.0"
    assert doc["$schema"].endswith("sarif-2.1.0.json")
    assert isinstance(doc["runs"], list) and doc["runs"]
    for run in doc["runs"]:
        driver = run["tool"]["driver"]
        assert isinstance(driver["name"], str) and driver["name"]
        assert driver["informationUri"].startswith("https://")
        assert isinstance(driver["version"], str)
        rules = driver.get("rules", [])
        ids = [r["id"] for r in rules]
        assert len(ids) == len(set(ids)), "rule ids must be unique"
        for r in rules:
            assert isinstance(r["id"], str) and r["id"]
            assert r["shortDescription"]["text"] and r["fullDescription"]["text"]
            assert r["defaultConfiguration"]["level"] in LEVELS
            if "helpUri" in r:
                assert re.match(
                    r"^https://\S+/rules/[A-Z]+\d{3}-[a-z0-9-]+/README\.md$", r["helpUri"]
                )
        for res in run["results"]:
            assert isinstance(res["message"]["text"], str) and res["message"]["text"]
            assert res["level"] in LEVELS
            idx = res["ruleIndex"]
            assert isinstance(idx, int) and 0 <= idx < len(rules)
            assert rules[idx]["id"] == res["ruleId"]
            assert res["locations"], "GitHub code scanning needs a location"
            for loc in res["locations"]:
                assert "physicalLocation" in loc or "logicalLocations" in loc
                phys = loc.get("physicalLocation")
                if phys is not None:
                    uri = phys["artifactLocation"]["uri"]
                    assert isinstance(uri, str) and uri and not uri.startswith("/")
                    line = phys["region"]["startLine"]
                    assert isinstance(line, int) and line >= 1
                for logical in loc.get("logicalLocations", []):
                    assert logical["fullyQualifiedName"]
            fp = res["partialFingerprints"]
            assert all(isinstance(k, str) and isinstance(v, str) and v for k, v in fp.items())


def test_sarif_structure_and_content(sarif_check: Callable[[dict[str, Any]], None]) -> None:
    results = make_results()
    doc = json.loads(sarif.render(results, default_registry(), cwd=CWD))
    sarif_check(doc)
    run = doc["runs"][0]
    assert run["originalUriBaseIds"] == {"%SRCROOT%": {"uri": CWD.as_uri() + "/"}}
    ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert ids == sorted(ids) and {"DW001", "CS000", "BUDGET", "QF003"} <= set(ids)
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    dw = rules["DW001"]
    assert dw["name"] == "narrow-depthwise" and dw["defaultConfiguration"]["level"] == "warning"
    assert "## What it does" in dw["help"]["markdown"]
    # no link to an unpublished site; the pseudo-rules are documented too
    assert all("helpUri" not in r for r in rules.values())
    assert "--debug" in rules["CS000"]["help"]["text"]
    assert "budgets" in rules["BUDGET"]["help"]["markdown"]
    by_rule = {r["ruleId"]: r for r in run["results"]}
    assert set(by_rule) == {"DW001", "DW003", "CS000", "HW001", "BUDGET"}
    assert by_rule["DW003"]["level"] == "note" and by_rule["CS000"]["level"] == "error"
    phys = by_rule["DW001"]["locations"][0]["physicalLocation"]
    assert phys["artifactLocation"] == {
        "uri": "tests/render/test_lint.py",
        "uriBaseId": "%SRCROOT%",
    }
    line = (HERE / "render" / "test_lint.py").read_text().splitlines()[11]
    indent = len(line) - len(line.lstrip())
    assert phys["region"] == {
        "startLine": 12,
        "startColumn": indent + 1,
        "endLine": 12,
        "endColumn": len(line.rstrip()) + 1,
    }
    # Outside the repository, in an installed package, or no layer at all: without anchors
    # for the model, the stable fallback at the repository root.
    for code in ("DW003", "HW001", "CS000", "BUDGET"):
        fallback = by_rule[code]["locations"][0]["physicalLocation"]
        assert fallback["artifactLocation"]["uri"] == "pyproject.toml", code
        assert fallback["region"]["startLine"] == 1
    logical = by_rule["CS000"]["locations"][0]["logicalLocations"][0]
    assert logical["fullyQualifiedName"] == "examples/mobilenet.py::(root)"
    assert "features.1.conv.0.0" in by_rule["DW001"]["message"]["text"]
    assert by_rule["HW001"]["message"]["text"].startswith("examples/mobilenet.py: conv:")
    assert run["invocations"][0]["executionSuccessful"] is False


def test_sarif_fingerprints_are_stable() -> None:
    first = json.loads(sarif.render(make_results(), default_registry(), cwd=CWD))
    again = json.loads(
        sarif.render(make_results("other text, new threshold 64"), default_registry(), cwd=CWD)
    )

    def fps(doc: dict[str, Any]) -> list[str]:
        return [r["partialFingerprints"]["convscope/v1"] for r in doc["runs"][0]["results"]]

    assert fps(first) == fps(again)
    assert len(set(fps(first))) == len(fps(first))
    assert fps(first)[0] == fingerprint("examples/mobilenet.py", "features.1.conv.0.0", "DW001")


# --------------------------------------------------------------------------- GitHub

ANNOTATION = re.compile(
    r"^::(?P<cmd>error|warning|notice) "
    r"(?:file=(?P<file>[^,:%\n]+),line=(?P<line>\d+),)?"
    r"title=(?P<title>[^,:\n]+)::(?P<msg>[^\r\n]+)$"
)


def test_github_annotation_lines() -> None:
    text = github.render(make_results(), cwd=CWD)
    lines = text.splitlines()
    assert len(lines) == 5 and text.endswith("\n")
    parsed = [ANNOTATION.match(line) for line in lines]
    assert all(parsed), lines
    first = parsed[0]
    assert first is not None
    assert first["cmd"] == "warning" and first["file"] == "tests/render/test_lint.py"
    assert first["line"] == "12" and first["title"] == "DW001 narrow-depthwise"
    assert "features.1.conv.0.0" in first["msg"] and "widen it" in first["msg"]
    second = parsed[1]
    assert second is not None and second["cmd"] == "notice" and second["file"] is None
    # '%', CR, LF escaped in the message; the literal newline never reaches the output
    assert "50%25 off%0Asecond line" in second["msg"]
    assert parsed[2] is not None and parsed[2]["cmd"] == "error"
    assert parsed[4] is not None and parsed[4]["title"] == "BUDGET budget-exceeded"


def test_github_property_escaping() -> None:
    assert github.escape_property("a,b:c%d\ne") == "a%2Cb%3Ac%25d%0Ae"
    assert github.escape_data("a,b:c%d\r\n") == "a,b:c%25d%0D%0A"


# --------------------------------------------------------------------------- JUnit


def test_junit_report(junit_check: Callable[[str], None]) -> None:
    text = junit.render(make_results(), Severity.WARNING, cwd=CWD, registry=default_registry())
    junit_check(text)
    root = ET.fromstring(text)
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["examples/mobilenet.py", "torchvision:resnet50"]
    first = suites[0]
    cases = {c.get("name"): c for c in first.findall("testcase")}
    assert set(cases) == {
        "DW001 narrow-depthwise",
        "DW003 separable-candidate",
        "HW001 channel-alignment",
        "QF003 unfoldable-batchnorm",
        "CS000 internal-error",
        "RF001 rf-under-coverage",
        "budgets",
    }
    assert cases["DW001 narrow-depthwise"].find("failure") is not None
    assert cases["DW003 separable-candidate"].find("failure") is None  # info < warning
    assert "separable" not in (cases["DW001 narrow-depthwise"].findtext("failure") or "")
    assert cases["DW003 separable-candidate"].find("system-out") is not None
    assert cases["CS000 internal-error"].find("error") is not None
    assert cases["RF001 rf-under-coverage"].find("skipped") is not None
    assert cases["budgets"].find("failure") is not None
    assert first.get("tests") == "7" and first.get("failures") == "3"
    assert first.get("errors") == "1" and first.get("skipped") == "1"
    assert root.get("tests") == "8" and root.get("skipped") is None  # not in junit-10.xsd
    for case in first.findall("testcase"):
        assert len(case.findall("failure")) <= 1


# --------------------------------------------------------------------------- JSON, text


def test_json_report() -> None:
    doc = json.loads(lint_json.render(make_results(), cwd=CWD))
    assert doc["version"] == 1 and doc["tool"]["name"] == "convscope"
    m = doc["models"][0]
    assert m["target"] == "edge-int8" and m["suppressed"] == 2
    f = m["findings"][0]
    assert f["location"] == {"file": "tests/render/test_lint.py", "line": 12}
    assert f["values"] == {"channels": 16, "min_channels": 32}
    assert f["fingerprint"] == fingerprint(m["model"], f["layer"], f["code"])
    assert m["budgets"][0] == {"metric": "params", "limit": 1000, "actual": 2000, "exceeded": True}
    assert doc["summary"] == {
        "findings": 4,
        "errors": 1,
        "warnings": 2,
        "info": 1,
        "suppressed": 2,
        "noqa": 0,
        "stale_baseline": 0,
        "budgets_exceeded": 1,
    }


def test_text_report() -> None:
    text = lint_text.to_text(make_results(), cwd=CWD)
    assert "examples/mobilenet.py  (target edge-int8)" in text
    assert "features.1.conv.0.0  tests/render/test_lint.py:12" in text
    assert "warning DW001 narrow-depthwise" in text
    assert "run: convscope rewrite examples/mobilenet.py --only features.2" in text
    assert "budget params: 2K of 1K (200.0%) EXCEEDED" in text
    assert "skipped RF001 rf-under-coverage: needs receptive fields" in text
    assert "torchvision:resnet50  (target generic)\n  no findings" in text
    assert text.rstrip().splitlines()[-1] == (
        "4 findings (1 error, 2 warnings, 1 info); 2 suppressed by the baseline; 1 budget exceeded"
    )
    assert "\x1b[" not in text


def test_rules_table() -> None:
    text = rule_doc.rules_text(default_registry())
    for code, rule in default_registry().items():
        assert re.search(
            rf"^{code}\s+{rule.name}\s+{rule.default_severity.value}\s", text, re.MULTILINE
        )
