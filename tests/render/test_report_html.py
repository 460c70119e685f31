"""The self-contained HTML report: structure, offline-ness, plotly embedded once, the same
numbers as the JSON document, sections only when their data exists; and the Markdown
report against its golden file.

Regenerate the golden file after an intended change with
``CONVSCOPE_UPDATE_GOLDEN=1 pytest tests/render/test_report_html.py``.
"""

from __future__ import annotations

import json
import math
import os
import re
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
MODEL = ROOT / SPEC
SHARED = ROOT / "tests" / "fixtures" / "report" / "shared_dw_net.py"


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
    # the figures and the plotly config (JSON), plotly.js, our table script
    assert len(scripts) == 4


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
        assert values["calls"] == str(layer["calls"])
        conv = layer.get("conv")
        if conv is not None:
            assert values["groups"] == str(conv["groups"])
            assert values["kernel"] == str(conv["kernel"][0] * conv["kernel"][1])
        shape = layer["output_shape"]
        if shape:  # shapes sort by their number of elements
            assert values["output_shape"] == str(math.prod(shape))
    foot = dict(zip(heads, page.rows["layer-table/tfoot"][0][1:], strict=True))
    t = doc["totals"]
    for key in ("params", "macs", "activation_bytes", "traffic_bytes"):
        assert foot[key].get("data-v") == str(t[key]), key


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
    bare.pop("rf_timeline", None)
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


def test_plotly_config_offers_nothing_online(page_text: str) -> None:
    config = html_report.PLOTLY_CONFIG
    assert config["displaylogo"] is False and config["showSendToCloud"] is False
    assert "sendChartToCloud" in config["modeBarButtonsToRemove"]
    # the keys exist in the embedded plotly.js (unknown keys would be silently ignored)
    js = html_report.plotly_js()
    assert "showSendToCloud" in js and "sendChartToCloud" in js
    assert json.dumps(config, separators=(",", ":")) in page_text


def test_lint_where_is_short_with_the_full_path_in_a_title() -> None:
    short = html_report._short_file
    assert short("examples/unet.py") == "examples/unet.py"
    assert (
        short("/usr/lib/python3/site-packages/torchvision/models/resnet.py") == "…/models/resnet.py"
    )
    doc = {
        "lint": {
            "target": "generic",
            "counts": {"error": 0, "warning": 1, "info": 0},
            "findings": [
                {
                    "code": "DW001",
                    "name": "narrow-depthwise",
                    "severity": "warning",
                    "layer": "dw",
                    "message": "m",
                    "suggestion": None,
                    "rewrite": None,
                    "location": {"file": "/opt/venv/site-packages/pkg/net.py", "line": 7},
                }
            ],
            "budgets": [],
            "skipped": [],
            "rules_run": [],
        }
    }
    page = html_report.render({**_minimal_doc(), **doc})
    assert 'title="/opt/venv/site-packages/pkg/net.py:7"' in page
    assert "…/pkg/net.py:7" in page


def _minimal_doc() -> dict[str, Any]:
    from convscope.report.build import build_report

    return build_report(str(SHARED)).to_dict()


def test_shared_module_calls_rf_per_call_and_conv_geometry() -> None:
    doc = _minimal_doc()
    pool = next(x for x in doc["layers"] if x["path"] == "pool")
    assert pool["calls"] == 3
    calls = [e for e in doc["rf_timeline"] if e["path"] == "pool"]
    assert [e["call"] for e in calls] == [0, 1, 2]
    assert [max(e["size"]) for e in calls] == sorted(max(e["size"]) for e in calls)
    assert max(calls[-1]["size"]) == max(pool["rf"]["size"])  # the row keeps the last call's
    rf = {f["id"]: f for f in html_report.figures(doc)}["fig-rf"]["data"][0]
    assert rf["y"] == sorted(rf["y"])  # no spike at the shared module's first call
    assert rf["hovertemplate"] == "%{text}<br>RF %{y:,.6~g} px<extra></extra>"
    dw = next(x for x in doc["layers"] if x["path"] == "dw")
    assert dw["conv"]["depthwise"] is True and dw["conv"]["groups"] == 16
    dilated = next(x for x in doc["layers"] if x["path"] == "dilated")
    assert dilated["conv"]["dilation"] == [2, 2] and dilated["conv"]["depthwise"] is False
    assert 'data-depthwise="1"' in html_report.render(doc)


def test_depth_folds_the_html_rows() -> None:
    from convscope.report.build import build_report, render

    report = build_report(str(MODEL))
    full = json.loads(render(report, "json"))
    folded = json.loads(render(report, "json", depth=1))
    assert max(x["depth"] for x in folded["layers"]) <= 1 < max(x["depth"] for x in full["layers"])
    # folding keeps the sums
    assert sum(x["macs"] for x in folded["layers"]) == sum(x["macs"] for x in full["layers"])
    page = render(report, "html", depth=1)
    assert len(re.findall(r'<tr data-index="\d+" data-path=', page)) == len(folded["layers"])
