"""Markdown outputs fit one GitHub comment: long tables are cut with a line saying what was
left out; lint's Markdown and statistics renderers."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest
from torch import nn

import convscope
from convscope.linting.finding import Finding, LintResult, Location, Severity, statistics
from convscope.render.analysis import markdown as analysis_markdown
from convscope.render.lint import markdown as lint_markdown
from convscope.render.lint import statistics as lint_statistics
from convscope.render.markdown_limit import BUDGET, GITHUB_COMMENT_LIMIT, cap, fit_rows


def test_fit_rows_keeps_everything_that_fits() -> None:
    rows = [f"| row {i} |" for i in range(10)]
    assert fit_rows(rows, 10_000, "rows", "x") == rows


def test_fit_rows_counts_what_it_cuts() -> None:
    rows = [f"| row {i:03} |" for i in range(100)]  # 12 characters + newline each
    fitted = fit_rows(rows, 500, "layers", "the JSON has every row")
    kept = fitted[:-2]
    assert kept == rows[: len(kept)] and fitted[-2] == ""
    assert fitted[-1] == f"… {100 - len(kept)} more layers not shown (the JSON has every row)"
    assert sum(len(line) + 1 for line in fitted) <= 500


def test_cap_cuts_at_a_line_and_closes_details() -> None:
    text = "<details>\n" + "".join(f"line {i}\n" for i in range(20_000))
    capped = cap(text, 1000)
    assert len(capped) <= 1000 + len("\n\n</details>")
    assert capped.count("</details>") == 1
    assert "output truncated to fit a GitHub comment" in capped
    assert cap("short\n", 1000) == "short\n"


def test_analysis_markdown_of_a_deep_model_fits_its_budget() -> None:
    model = nn.Sequential(*[nn.Conv2d(4, 4, 1) for _ in range(150)])
    a = convscope.analyze(model, (1, 4, 8, 8), device="meta", name="deep")
    assert BUDGET < GITHUB_COMMENT_LIMIT
    assert "more layers not shown" not in analysis_markdown.render(a)  # 150 rows fit 60,000
    text = analysis_markdown.render(a, budget=6000)
    assert len(text) < 6000
    m = re.search(r"… ([0-9,]+) more layers not shown \(the JSON has every row", text)
    assert m is not None
    shown = len(re.findall(r"^\| `\d+` \| Conv2d", text, re.M))
    assert shown + int(m.group(1).replace(",", "")) == 150
    assert text.rstrip().endswith("</details>")
    small = analysis_markdown.render(
        convscope.analyze(nn.Conv2d(3, 8, 3), (1, 3, 8, 8), device="meta")
    )
    assert "more layers not shown" not in small


def many_findings(n: int) -> list[LintResult]:
    findings = tuple(
        Finding(
            "DW001" if i % 3 else "RF005",
            "narrow-depthwise" if i % 3 else "stride-skips-input",
            Severity.WARNING if i % 3 else Severity.ERROR,
            f"blocks.{i}.conv",
            f"depthwise 3×3 conv over {i} channels | below min_channels=32 " + "x" * 40,
            model="m.py",
        )
        for i in range(n)
    )
    return [LintResult(model="m.py", findings=findings)]


def test_lint_markdown_counts_and_groups() -> None:
    text = lint_markdown.render(many_findings(6), Severity.WARNING)
    assert text.startswith("### ❌ convscope lint: 6 findings\n")
    assert "| error | 2 |" in text and "| warning | 4 |" in text and "| info | 0 |" in text
    assert text.index("DW001") < text.index("#### `RF005`")
    assert "narrow-depthwise · 4" in text and "stride-skips-input · 2" in text
    assert "\\| below" in text  # pipes in messages are escaped
    assert "not shown" not in text
    site = Location(Path("/usr/lib/python3/site-packages/tv/models/m.py"), 40)
    located = LintResult(
        model="tv:m",
        findings=(dataclasses.replace(many_findings(1)[0].findings[0], location=site),),
    )
    assert "| `tv/models/m.py:40` |" in lint_markdown.render([located], Severity.WARNING)
    clean = lint_markdown.render([LintResult(model="m.py", findings=())], Severity.WARNING)
    assert clean.startswith("### ✅") and "No findings." in clean


def test_lint_markdown_of_many_findings_fits_a_comment() -> None:
    text = lint_markdown.render(many_findings(3000), Severity.WARNING)
    assert len(text) < BUDGET
    cut = [
        int(n.replace(",", "")) for n in re.findall(r"… ([0-9,]+) more findings not shown", text)
    ]
    shown = len(re.findall(r"^\| warning|^\| error", text, re.M)) - 2  # minus the counts table
    assert len(cut) == 2 and shown + sum(cut) == 3000


def test_statistics_per_code() -> None:
    stats = statistics(many_findings(6))
    assert [(s.code, s.count, s.severity) for s in stats] == [
        ("DW001", 4, Severity.WARNING),
        ("RF005", 2, Severity.ERROR),
    ]
    assert lint_statistics.to_text(stats) == (
        "4  DW001  narrow-depthwise (warning)\n2  RF005  stride-skips-input (error)\n"
    )
    assert json.loads(lint_statistics.to_json(stats))[1] == {
        "code": "RF005",
        "name": "stride-skips-input",
        "count": 2,
        "severity": "error",
    }
    assert lint_statistics.to_text(()) == "no findings\n"


def test_rule_links_only_below_a_configured_docs_base(monkeypatch: pytest.MonkeyPatch) -> None:
    # No address is invented: without CONVSCOPE_DOCS_URL a rule is its code plus a pointer
    # to `convscope rule`; with it, each rule links to its README below that base.
    monkeypatch.delenv("CONVSCOPE_DOCS_URL", raising=False)
    text = lint_markdown.render(many_findings(2), Severity.WARNING)
    assert "](http" not in text and "`convscope rule CODE`" in text
    monkeypatch.setenv("CONVSCOPE_DOCS_URL", "https://docs.example.test/convscope/rules/")
    text = lint_markdown.render(many_findings(2), Severity.WARNING)
    assert (
        "[DW001](https://docs.example.test/convscope/rules/DW001-narrow-depthwise/README.md)"
        in text
    )
