"""Reading a side: report validation and load errors that name the file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from diff_docs import report

from convscope.diff.errors import DiffError
from convscope.diff.reports import load_report, validate_report


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        ([1, 2], "x.json is not a convscope JSON report"),
        ({"lint": []}, "x.json is not a convscope JSON report (no schema_version"),
        (
            {**report(), "schema_version": 2},
            "x.json has schema_version 2; this convscope compares version 1",
        ),
        ({**report(), "totals": None}, "x.json: 'totals' is missing"),
        ({**report(), "layers": {}}, "x.json: 'layers' is missing or not a list"),
        ({**report(), "layers": [{"type": "Conv2d"}]}, "x.json: layers[0] has no 'path'"),
    ],
)
def test_validate_report(doc: Any, expected: str) -> None:
    with pytest.raises(DiffError) as info:
        validate_report(doc, "x.json")
    assert expected in str(info.value)


def test_validate_rejects_non_numbers() -> None:
    doc = report()
    doc["totals"]["macs"] = "many"
    with pytest.raises(DiffError, match=r"x\.json: totals\.macs is not a number in range: 'many'"):
        validate_report(doc, "x.json")


def test_validate_rejects_counts_no_float_can_hold_and_boolean_versions() -> None:
    doc = report()
    doc["totals"]["macs"] = 10**400
    with pytest.raises(DiffError, match=r"totals\.macs is not a number in range: 1000.*\.\.\."):
        validate_report(doc, "x.json")
    doc = report()
    doc["schema_version"] = True  # True == 1 in Python, but it is not a version
    with pytest.raises(DiffError, match="schema_version True"):
        validate_report(doc, "x.json")
    doc = report()
    doc["inputs"] = 5
    with pytest.raises(DiffError, match="'inputs' must be a list of shapes, got 5"):
        validate_report(doc, "x.json")


def test_load_report_errors_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(DiffError, match=r"bad.json is not valid JSON: .* line 1 column 2"):
        load_report(bad)
    with pytest.raises(DiffError, match=r"report not found: .*missing\.json"):
        load_report(tmp_path / "missing.json")
    good = tmp_path / "good.json"
    good.write_text(json.dumps(report(params=7)), encoding="utf-8")
    assert load_report(good)["totals"]["params"] == 7
