"""The self-contained HTML report: structure, offline-ness, plotly embedded once, the same
numbers as the JSON document, sections only when their data exists; and the Markdown
report against its golden file.

Regenerate the golden file after an intended change with
``CONVSCOPE_UPDATE_GOLDEN=1 pytest tests/render/test_report_html.py``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from convscope.render.report import html as html_report
from convscope.report.build import Report, build_report, render

ROOT = Path(__file__).resolve().parents[2]
SPEC = "tests/fixtures/report/small_net.py"
GOLDEN = ROOT / "tests" / "golden" / "report-small_net.md"


class _Page(HTMLParser):
    """Tags with their attributes, and the table cells of every ``<tr>`` by table id."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.rows: dict[str, list[list[dict[str, str | None]]]] = {}
        self._table: list[str] = []
        self._section = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag == "table":
            self._table.append(a.get("id") or "")
        elif tag in ("thead", "tbody", "tfoot"):
            self._section = tag
        elif tag == "tr" and self._table:
            self.rows.setdefault(f"{self._table[-1]}/{self._section}", []).append([a])
        elif tag == "td" and self._table:
            self.rows[f"{self._table[-1]}/{self._section}"][-1].append(a)

    def handle_endtag(self, tag: str) -> None:
        if tag == "table" and self._table:
            self._table.pop()

    def ids(self) -> set[str]:
        return {a["id"] for _, a in self.tags if a.get("id")}  # type: ignore[misc]


def _parse(text: str) -> _Page:
    page = _Page()
    page.feed(text)
    return page


@pytest.fixture(scope="module")
def report() -> Iterator[Report]:
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(ROOT)
        yield build_report(SPEC, erf=True, rewrite=True)


@pytest.fixture(scope="module")
def doc(report: Report) -> dict[str, Any]:
    return report.to_dict(ROOT)


@pytest.fixture(scope="module")
def page_text(report: Report) -> str:
    return render(report, "html", cwd=ROOT)


def test_json_and_html_come_from_one_document(report: Report, doc: dict[str, Any]) -> None:
    assert json.loads(render(report, "json", cwd=ROOT)) == doc
    severities = [f["severity"] for f in doc["lint"]["findings"]]
    assert doc["lint"]["counts"] == {s: severities.count(s) for s in ("error", "warning", "info")}
    assert {"DW003", "RF001"} <= {f["code"] for f in doc["lint"]["findings"]}
    assert sorted(doc["execution_order"]) == sorted(r["path"] for r in doc["layers"])
    assert doc["rewrite"]["layers"] and "erf" in doc and "receptive_field" in doc


def test_self_contained_no_external_hosts(page_text: str) -> None:
    page = _parse(page_text)
    for tag, attrs in page.tags:
        for key in ("src", "href", "action", "data", "poster"):
            value = (attrs.get(key) or "").strip().lower()
            assert not value.startswith(("http:", "https:", "//", "ftp:")), (tag, key, value)
        if tag == "link":
            assert (attrs.get("rel") or "") != "stylesheet", attrs
    assert not [a for t, a in page.tags if t == "script" and a.get("src")]
    assert "@import" not in page_text and "url(http" not in page_text


def test_plotly_embedded_exactly_once(page_text: str) -> None:
    js = html_report.plotly_js()
    assert len(js) > 1_000_000
    assert page_text.count(js[:300]) == 1
    assert page_text.count(js[-300:]) == 1
    scripts = [a for t, a in _parse(page_text).tags if t == "script"]
    assert len(scripts) == 3  # the figures (JSON), plotly.js, our table script


def test_layer_table_numbers_equal_json(page_text: str, doc: dict[str, Any]) -> None:
    page = _parse(page_text)
    heads = [a.get("data-key") for t, a in page.tags if t == "th" and a.get("data-key")]
    rows = page.rows["layer-table/tbody"]
    assert len(rows) == len(doc["layers"])
    for row, layer in zip(rows, doc["layers"], strict=True):
        tr, cells = row[0], row[1:]
        assert tr["data-path"] == layer["path"]
        values = {key: cell.get("data-v") for key, cell in zip(heads, cells, strict=True)}
        for key in ("params", "macs", "activation_bytes"):
            assert values[key] == str(layer[key]), (layer["path"], key)
        assert values["traffic_bytes"] == str(layer["bytes_read"] + layer["bytes_written"])
        assert float(values["intensity"] or 0) == layer["intensity"]
        if "rf" in layer:
            assert values["rf"] == str(max(layer["rf"]["size"]))
        codes = [f["code"] for f in doc["lint"]["findings"] if f["layer"] == layer["path"]]
        assert values["findings"] == str(len(codes))
    foot = page.rows["layer-table/tfoot"][0][1:]
    t = doc["totals"]
    assert [c.get("data-v") for c in foot[4:8]] == [
        str(t["params"]),
        str(t["macs"]),
        str(t["activation_bytes"]),
        str(t["traffic_bytes"]),
    ]


def test_summary_cards_equal_json(page_text: str, doc: dict[str, Any]) -> None:
    page = _parse(page_text)
    values = {}
    inside = ""
    for tag, attrs in page.tags:
        if tag == "div" and (attrs.get("id") or "").startswith("card-"):
            inside = attrs["id"] or ""
        elif tag == "div" and attrs.get("class") == "v":
            values[inside] = attrs.get("data-v")
    t = doc["totals"]
    assert values == {
        "card-params": str(t["params"]),
        "card-macs": str(t["macs"]),
        "card-peak": str(t["peak_activation_bytes"]),
        "card-rf": str(max(doc["receptive_field"]["size"])),
        "card-findings": str(len(doc["lint"]["findings"])),
    }
    severities = {
        a["data-severity"]: a["data-v"]
        for t_, a in page.tags
        if t_ == "span" and a.get("data-severity")
    }
    assert severities == {k: str(v) for k, v in doc["lint"]["counts"].items()}


def test_figures_name_layers_and_follow_the_data(doc: dict[str, Any], page_text: str) -> None:
    figs = {f["id"]: f for f in html_report.figures(doc)}
    assert set(figs) == {"fig-cost", "fig-rf", "fig-mixing", "fig-erf"}
    macs = figs["fig-cost"]["data"][0]
    assert sum(macs["y"]) == doc["totals"]["macs"]
    assert len(macs["hovertext"]) == len(doc["layers"])
    assert all("(" in name for name in macs["hovertext"])  # "path (Type)"
    params = figs["fig-cost"]["data"][1]
    assert sum(params["y"]) == doc["totals"]["params"]
    mixing = figs["fig-mixing"]["data"][1]
    assert sum(mixing["customdata"]) == sum(doc["mixing"]["macs"].values())
    assert figs["fig-erf"]["data"][0]["z"] == doc["erf"]["map"]
    ids = _parse(page_text).ids()
    assert set(figs) <= ids


def test_sections_only_when_their_data_exists(doc: dict[str, Any]) -> None:
    bare = {k: v for k, v in doc.items() if k not in ("erf", "rewrite", "lint", "profile")}
    bare["layers"] = [{k: v for k, v in r.items() if k != "rf"} for r in doc["layers"]]
    bare.pop("receptive_field")
    ids = _parse(html_report.render(bare)).ids()
    assert {"summary", "charts", "layers", "fig-cost", "fig-mixing"} <= ids
    assert not ids & {
        "lint",
        "rewrite",
        "profile",
        "fig-erf",
        "fig-rf",
        "fig-roofline",
        "card-findings",
        "card-rf",
        "card-latency",
    }
    full = _parse(html_report.render(doc)).ids()
    assert {"lint", "rewrite", "fig-erf", "fig-rf", "card-rf", "card-findings"} <= full
    assert "profile" not in full and "fig-roofline" not in full


def test_rule_docs_are_included(page_text: str, doc: dict[str, Any]) -> None:
    codes = {f["code"] for f in doc["lint"]["findings"]}
    ids = _parse(page_text).ids()
    assert {f"rule-{c}" for c in codes} <= ids
    assert "What it does" in page_text


def test_text_is_escaped(doc: dict[str, Any]) -> None:
    evil = dict(doc, model="<script>alert(1)</script>")
    text = html_report.render(evil)
    assert "<script>alert(1)" not in text and "&lt;script&gt;alert(1)" in text


def test_profile_section_and_roofline() -> None:
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(ROOT)
        report = build_report(SPEC, profile_device="cpu", min_time=0.05, target="gpu-fp16")
    doc = report.to_dict(ROOT)
    assert doc["profile"]["batches"][0]["median_ms"] > 0
    figs = {f["id"]: f for f in html_report.figures(doc)}
    assert "fig-roofline" in figs
    scatter = figs["fig-roofline"]["data"]
    assert scatter[0]["text"] and scatter[1]["name"] == "roofline (gpu-fp16)"
    ids = _parse(html_report.render(doc)).ids()
    assert {"profile", "card-latency", "fig-roofline"} <= ids
    md = render(report, "markdown", cwd=ROOT)
    assert "### Latency" in md


def test_markdown_to_html_subset() -> None:
    out = html_report.markdown_to_html(
        "# RF001 x\n\n## What it does\nSome `code` and **bold**\ntext.\n\n- one\n- two\n\n"
        "```python\nx = 1 < 2\n```\n[link](https://example.com)\n\n"
        "| option | default |\n| --- | ---: |\n| `min` | 0.5 \\| 1 |\nafter\n"
    )
    assert "<h3>RF001 x</h3>" in out and "<h4>What it does</h4>" in out
    assert "<p>Some <code>code</code> and <strong>bold</strong> text.</p>" in out
    assert "<ul><li>one</li><li>two</li></ul>" in out
    assert "<pre><code>x = 1 &lt; 2</code></pre>" in out
    assert "href" not in out and "link (https://example.com)" in out
    assert (
        "<table class=doc-table><thead><tr><th>option</th><th>default</th></tr></thead>"
        "<tbody><tr><td><code>min</code></td><td>0.5 | 1</td></tr></tbody></table>"
    ) in out
    assert out.endswith("<p>after</p>")


def test_golden_markdown(report: Report) -> None:
    text = render(report, "markdown", cwd=ROOT)
    if os.environ.get("CONVSCOPE_UPDATE_GOLDEN"):
        GOLDEN.write_text(text, encoding="utf-8")
    assert GOLDEN.exists(), f"golden file {GOLDEN} missing: run with CONVSCOPE_UPDATE_GOLDEN=1"
    assert text == GOLDEN.read_text(encoding="utf-8")
    assert "<details><summary>Per-layer table" in text
    assert text.count("<details>") == text.count("</details>") >= 2
