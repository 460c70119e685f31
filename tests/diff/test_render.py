"""The diff rendered as Markdown (against a golden file) and as text.

Regenerate the golden file with ``CONVSCOPE_UPDATE_GOLDEN=1 pytest tests/diff/test_render.py``
and review the diff.
"""

from __future__ import annotations

import copy
import os
import re

from diff_docs import GOLDEN, GOLDEN_GATES, golden_pair, layer, report

from convscope.diff.compare import diff_reports
from convscope.diff.gate import check, parse_thresholds
from convscope.render.diff import markdown as diff_markdown
from convscope.render.diff import text as diff_text


def test_golden_markdown() -> None:
    base, head = golden_pair()
    d = diff_reports(base, head, base_label="main.json", head_label="head.json")
    text = diff_markdown.render(d, check(d, parse_thresholds(GOLDEN_GATES)))
    path = GOLDEN / "diff.md"
    if os.environ.get("CONVSCOPE_UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"golden file {path} missing: run with CONVSCOPE_UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8")


def test_markdown_without_changes_or_gates() -> None:
    doc = report(layers=[layer("a", params=5)])
    text = diff_markdown.render(diff_reports(doc, copy.deepcopy(doc)))
    assert "**✅ no thresholds given (--fail-on)**" in text
    assert "<details><summary>Per-layer changes (0)</summary>" in text
    assert "0 changed, 0 added, 0 removed, 1 unchanged." in text
    assert "| Layer |" not in text


def test_markdown_caps_layer_rows() -> None:
    head = report(layers=[layer(f"l{i}") for i in range(5)])
    text = diff_markdown.render(diff_reports(report(), head), max_layers=2)
    assert "| `l1` | added |" in text and "`l2`" not in text
    assert "… 3 more layers not shown (`--format json` has every row)" in text


def test_markdown_of_many_changed_layers_fits_a_comment() -> None:
    name = "features.denseblock4.denselayer{}.conv2"
    head = report(layers=[layer(name.format(i), params=i) for i in range(2000)])
    text = diff_markdown.render(diff_reports(report(), head), max_layers=2000)
    assert len(text) < 60_000
    m = re.search(r"… ([0-9,]+) more layers not shown \(`--format json` has every row\)", text)
    assert m is not None
    shown = text.count("| added |")
    assert shown + int(m.group(1).replace(",", "")) == 2000
    assert text.rstrip().endswith("</details>")


def test_text_report() -> None:
    base, head = golden_pair()
    d = diff_reports(base, head, base_label="main.json", head_label="head.json")
    text = diff_text.to_text(d, check(d, parse_thresholds(GOLDEN_GATES)))
    assert "convscope diff · main.json → head.json" in text
    assert "FAIL: 1 of 4 thresholds exceeded (macs: +70.17% > +50%)" in text
    assert "FAIL > +50%" in text and "pass ≤ +5% (within noise)" in text
    assert "18.4K → 27.6K (+9.22K)" in text
    assert "1 changed, 1 added, 1 removed, 3 unchanged" in text
