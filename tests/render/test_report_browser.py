"""The HTML report in a real browser: headless Debian chromium driven by Playwright.

Checks what a reviewer does with the page: it loads from ``file://`` without console
errors, shows one row per layer, sorts when a header is clicked (numbers largest first,
shapes by size), filters by search text and to depthwise convs, exports CSV, draws every
chart, and keeps chart boxes and plots the same height when the window is resized.
The comparison page (``report BASE --compare HEAD``) gets the same checks plus its
changed-only filter. The ResNet example's page is read at 800 and 1400 px: every column of
the layer table in reach, the findings' messages wide enough to read. Screenshots of each
view are kept in ``test-artifacts/report*.png`` and ``test-artifacts/compare*.png``.

Set ``CONVSCOPE_NO_BROWSER=1`` to skip; otherwise a missing chromium fails (``make test``
installs it).
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "tests" / "fixtures" / "report" / "small_net.py"
SHARED = ROOT / "tests" / "fixtures" / "report" / "shared_dw_net.py"
COMPARE_BASE = ROOT / "tests" / "fixtures" / "compare" / "base_net.py"
COMPARE_HEAD = ROOT / "tests" / "fixtures" / "compare" / "head_net.py"
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.skipif(
    os.environ.get("CONVSCOPE_NO_BROWSER") == "1", reason="CONVSCOPE_NO_BROWSER=1"
)


def _chromium() -> str:
    path = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    if not path:
        pytest.fail(
            "Debian's chromium is missing (/usr/bin/chromium): run `make test`, which "
            "installs it, or set CONVSCOPE_NO_BROWSER=1 to skip the browser test"
        )
    return path


@pytest.fixture(scope="module")
def report_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    from convscope.report.build import build_report, render

    report = build_report(str(MODEL), erf=True, rewrite=True)
    out = tmp_path_factory.mktemp("browser")
    page = out / "report.html"
    page.write_text(render(report, "html"), encoding="utf-8")
    return page, json.loads(render(report, "json"))


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One chromium for the module (Playwright's sync API allows one session at a time)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    executable = _chromium()
    with sync_api.sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            instance.close()


@contextmanager
def _open(browser: Any, path: Path, width: int = 1400) -> Iterator[Any]:
    errors: list[str] = []
    tab = browser.new_page(viewport={"width": width, "height": 1000}, accept_downloads=True)
    try:
        tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        tab.on("pageerror", lambda e: errors.append(str(e)))
        tab.on(
            "request",
            lambda r: (
                errors.append(f"network request: {r.url}")
                if not r.url.startswith(("file:", "data:", "blob:", "about:"))
                else None
            ),
        )
        tab.goto(path.as_uri())
        tab.wait_for_load_state("load")
        tab.errors = errors
        yield tab
    finally:
        tab.close()


@pytest.fixture(scope="module")
def page(browser: Any, report_files: tuple[Path, dict[str, Any]]) -> Iterator[Any]:
    with _open(browser, report_files[0]) as tab:
        yield tab


@pytest.fixture(scope="module")
def shared_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """A profiled report of a model with a shared module and a depthwise conv."""
    from convscope.report.build import build_report, render

    report = build_report(
        str(SHARED), profile_device="cpu", min_time=0.05, calibrate_time=0.2, rewrite=True
    )
    out = tmp_path_factory.mktemp("browser-shared")
    page = out / "shared.html"
    page.write_text(render(report, "html"), encoding="utf-8")
    return page, json.loads(render(report, "json"))


@pytest.fixture(scope="module")
def shared_page(browser: Any, shared_files: tuple[Path, dict[str, Any]]) -> Iterator[Any]:
    with _open(browser, shared_files[0]) as tab:
        yield tab


def _shot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    target = ARTIFACTS / name
    page.screenshot(path=str(target), full_page=True)
    assert target.stat().st_size > 10_000
    return target


def _column(page: Any, index: int) -> list[str]:
    return page.eval_on_selector_all(
        "#layer-table tbody tr:not([hidden])",
        f"rows => rows.map(r => r.cells[{index}].getAttribute('data-v'))",
    )


def _header_index(page: Any, key: str) -> int:
    keys = page.eval_on_selector_all(
        "#layer-table thead th", "hs => hs.map(h => h.getAttribute('data-key'))"
    )
    return keys.index(key)


def test_loads_without_console_errors(page: Any) -> None:
    page.wait_for_selector("#fig-cost svg")
    assert page.errors == []
    assert page.title().startswith("convscope · ")


def test_one_row_per_layer(page: Any, report_files: tuple[Path, dict[str, Any]]) -> None:
    doc = report_files[1]
    rows = page.locator("#layer-table tbody tr")
    assert rows.count() == len(doc["layers"]) > 5
    paths = page.eval_on_selector_all(
        "#layer-table tbody tr", "rows => rows.map(r => r.getAttribute('data-path'))"
    )
    assert paths == [layer["path"] for layer in doc["layers"]]


def test_sorts_when_a_header_is_clicked(
    page: Any, report_files: tuple[Path, dict[str, Any]]
) -> None:
    doc = report_files[1]
    col = _header_index(page, "macs")
    header = page.locator("#layer-table thead th").nth(col)
    header.click()  # numbers: largest first
    descending = [int(v) for v in _column(page, col)]
    assert descending == sorted((layer["macs"] for layer in doc["layers"]), reverse=True)
    assert header.get_attribute("aria-sort") == "descending"
    assert descending[0] == max(layer["macs"] for layer in doc["layers"]) > descending[-1]
    header.click()
    ascending = [int(v) for v in _column(page, col)]
    assert ascending == sorted(descending) and header.get_attribute("aria-sort") == "ascending"
    # shapes sort by size (elements), not as text ("1x10" after "1x16x32x32")
    shape_col = _header_index(page, "output_shape")
    page.locator("#layer-table thead th").nth(shape_col).click()
    sizes = [int(v) if v else -1 for v in _column(page, shape_col)]
    assert sizes == sorted(sizes, reverse=True) and sizes[0] > sizes[-1]
    name_col = _header_index(page, "path")
    page.locator("#layer-table thead th").nth(name_col).click()
    names = _column(page, name_col)
    assert names == sorted(names, key=str.lower)
    page.locator("#layer-table thead th").nth(_header_index(page, "index")).click()
    restored = page.eval_on_selector_all(
        "#layer-table tbody tr", "rows => rows.map(r => r.getAttribute('data-path'))"
    )
    assert restored == [layer["path"] for layer in doc["layers"]]


def test_filters_by_search_text(page: Any, report_files: tuple[Path, dict[str, Any]]) -> None:
    doc = report_files[1]
    box = page.locator("#layer-filter")
    box.fill("batchnorm")
    visible = page.eval_on_selector_all(
        "#layer-table tbody tr:not([hidden])", "rows => rows.map(r => r.getAttribute('data-path'))"
    )
    expected = [layer["path"] for layer in doc["layers"] if layer["type"] == "BatchNorm2d"]
    assert visible == expected and 0 < len(expected) < len(doc["layers"])
    assert (
        page.locator("#layer-count").inner_text()
        == f"{len(expected)} of {len(doc['layers'])} layers"
    )
    box.fill("no-such-layer")
    assert page.locator("#layer-table tbody tr:not([hidden])").count() == 0
    box.fill("")
    assert page.locator("#layer-table tbody tr:not([hidden])").count() == len(doc["layers"])


def test_every_chart_is_rendered(page: Any) -> None:
    ids = page.eval_on_selector_all("div.chart", "ds => ds.map(d => d.id)")
    assert {"fig-cost", "fig-rf", "fig-mixing", "fig-erf"} <= set(ids)
    for chart in ids:
        page.wait_for_selector(f"#{chart} svg.main-svg")
        assert page.locator(f"#{chart} .plot-container").count() == 1, chart
    # hover labels name the layers: the data carries them
    names = page.evaluate("document.getElementById('fig-cost').data[0].hovertext")
    assert any("conv" in n for n in names)


def test_screenshot_is_kept(page: Any) -> None:
    page.locator("#layer-filter").fill("")
    _shot(page, "report.png")
    assert page.errors == []


def _chart_boxes(page: Any) -> list[dict[str, float]]:
    return page.eval_on_selector_all(
        "div.chart",
        """ds => ds.map(d => {
            const box = d.getBoundingClientRect();
            const svg = d.querySelector('svg.main-svg').getBoundingClientRect();
            return {id: d.id, top: box.top, bottom: box.bottom, height: d.clientHeight,
                    width: d.clientWidth, svgTop: svg.top, svgBottom: svg.bottom,
                    svgHeight: svg.height, svgWidth: svg.width};
        })""",
    )


def test_charts_keep_their_size_when_the_window_is_resized(page: Any) -> None:
    heights = {
        f["id"]: f["layout"]["height"]
        for f in json.loads(page.locator("#cs-figures").text_content())
    }
    for width in (900, 1400, 700):
        page.set_viewport_size({"width": width, "height": 900})
        # plotly resizes on the window's resize event; wait until every plot fits its box
        page.wait_for_function(
            """() => Array.from(document.querySelectorAll('div.chart')).every(d => {
                const svg = d.querySelector('svg.main-svg');
                return svg && Math.abs(svg.getBoundingClientRect().width - d.clientWidth) < 2;
            })"""
        )
        boxes = _chart_boxes(page)
        for box in boxes:
            assert box["height"] == heights[box["id"]], (width, box)  # not shrunk to 300 px
            assert abs(box["svgHeight"] - box["height"]) < 1, (width, box)
            assert box["svgTop"] >= box["top"] and box["svgBottom"] <= box["bottom"], box
        for above, below in itertools.pairwise(boxes):
            assert above["bottom"] <= below["top"], (width, above["id"], below["id"])
        if width == 700:
            _shot(page, "report-resized-700.png")
    page.set_viewport_size({"width": 1400, "height": 1000})
    assert page.errors == []


def test_no_cloud_button_or_plotly_link(page: Any) -> None:
    page.hover("#fig-cost")
    titles = page.eval_on_selector_all(
        "#fig-cost .modebar-btn", "bs => bs.map(b => b.getAttribute('data-title') || '')"
    )
    assert titles and not [t for t in titles if "cloud" in t.lower() or "studio" in t.lower()]
    assert page.locator(".modebar-btn--logo").count() == 0
    config = json.loads(page.locator("#cs-plotly-config").text_content())
    assert config["displaylogo"] is False and config["showSendToCloud"] is False


def test_shared_module_has_a_calls_column_and_one_rf_point_per_call(
    shared_page: Any, shared_files: tuple[Path, dict[str, Any]]
) -> None:
    doc = shared_files[1]
    calls_col = _header_index(shared_page, "calls")
    calls = dict(
        zip(
            shared_page.eval_on_selector_all(
                "#layer-table tbody tr", "rows => rows.map(r => r.getAttribute('data-path'))"
            ),
            _column(shared_page, calls_col),
            strict=True,
        )
    )
    assert calls["pool"] == "3" and calls["stem"] == "1"
    rf = shared_page.evaluate("document.getElementById('fig-rf').data[0]")
    pool = [(t, y) for t, y in zip(rf["text"], rf["y"], strict=True) if t.startswith("pool")]
    assert [t.rsplit("·", 1)[1].strip() for t, _ in pool] == ["call 1/3", "call 2/3", "call 3/3"]
    assert [y for _, y in pool] == sorted(y for _, y in pool) and pool[0][1] < pool[-1][1]
    # no spike: the largest RF never drops along the execution order of leaf layers
    assert rf["y"] == sorted(rf["y"])
    assert "~g} px" in rf["hovertemplate"]  # 36 px, not 36.0000 px
    assert len(rf["x"]) == len(doc["rf_timeline"])


def test_depthwise_marker_filter_and_conv_columns(
    shared_page: Any, shared_files: tuple[Path, dict[str, Any]]
) -> None:
    doc = shared_files[1]
    keys = shared_page.eval_on_selector_all(
        "#layer-table thead th", "hs => hs.map(h => h.getAttribute('data-key'))"
    )
    assert {"kernel", "stride", "dilation", "groups"} <= set(keys)
    assert shared_page.locator("#layer-table tr[data-path='dw'] .dw").inner_text() == "DW"
    dilation = _column(shared_page, _header_index(shared_page, "dilation"))
    assert "2" in dilation
    shared_page.check("#depthwise-only")
    visible = shared_page.eval_on_selector_all(
        "#layer-table tbody tr:not([hidden])", "rows => rows.map(r => r.getAttribute('data-path'))"
    )
    expected = [x["path"] for x in doc["layers"] if (x.get("conv") or {}).get("depthwise")]
    assert visible == expected == ["dw"]
    _shot(shared_page, "report-depthwise-filter.png")
    shared_page.uncheck("#depthwise-only")
    assert shared_page.locator("#layer-table tbody tr:not([hidden])").count() == len(doc["layers"])


def test_csv_export_of_the_visible_rows(
    shared_page: Any, shared_files: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    doc = shared_files[1]
    with shared_page.expect_download() as info:
        shared_page.click("#csv-export")
    target = tmp_path / info.value.suggested_filename
    info.value.save_as(target)
    assert target.name == "shared_dw_net-layers.csv"
    rows = list(csv.reader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert rows[0][:4] == ["#", "Layer", "Type", "Calls"] and len(rows) == len(doc["layers"]) + 1
    macs = rows[0].index("MACs")
    assert [int(r[macs]) for r in rows[1:]] == [x["macs"] for x in doc["layers"]]  # raw numbers


def test_profiled_page_shows_latency_and_the_verdict(
    shared_page: Any, shared_files: tuple[Path, dict[str, Any]]
) -> None:
    doc = shared_files[1]
    names = shared_page.evaluate("document.getElementById('fig-cost').data.map(t => t.name)")
    assert names[-1] == "median self ms"
    assert shared_page.locator("#profile-verdict").count() == 1
    roof = shared_page.evaluate("document.getElementById('fig-roofline').data.map(t => t.name)")
    assert any(n.startswith("roofline (") for n in roof)  # calibrated: the chart has a roof
    assert doc["profile"]["roofline"]["target"] == "calibrated"
    shared_page.locator("#profile").scroll_into_view_if_needed()
    _shot(shared_page, "report-profile.png")
    assert shared_page.errors == []


# --------------------------------------------------------------------------- comparison


@pytest.fixture(scope="module")
def compare_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """The comparison page of the hand-counted pair of tests/report/test_compare.py."""
    from convscope.report.compare import build_comparison, render

    comparison = build_comparison(str(COMPARE_BASE), str(COMPARE_HEAD))
    out = tmp_path_factory.mktemp("browser-compare")
    page = out / "compare.html"
    page.write_text(render(comparison, "html"), encoding="utf-8")
    return page, comparison.to_dict()


@pytest.fixture(scope="module")
def compare_page(browser: Any, compare_files: tuple[Path, dict[str, Any]]) -> Iterator[Any]:
    with _open(browser, compare_files[0]) as tab:
        yield tab


def _visible_paths(page: Any) -> list[str]:
    return page.eval_on_selector_all(
        "#layer-table tbody tr:not([hidden])", "rows => rows.map(r => r.getAttribute('data-path'))"
    )


def test_compare_loads_without_console_errors(compare_page: Any) -> None:
    compare_page.wait_for_selector("#fig-macs svg.main-svg")
    assert compare_page.errors == []
    assert compare_page.title() == (f"convscope · {COMPARE_BASE} → {COMPARE_HEAD}")
    verdicts = compare_page.eval_on_selector_all(
        "#totals-table tbody tr", "rows => rows.map(r => [r.dataset.metric, r.dataset.verdict])"
    )
    assert ["macs", "worse"] in verdicts and ["rf", "same"] in verdicts


def test_compare_changed_only_filter(
    compare_page: Any, compare_files: tuple[Path, dict[str, Any]]
) -> None:
    rows = compare_files[1]["layers"]["rows"]
    changed = [r["path"] for r in rows if r["status"] != "same"]
    assert len(changed) == 7 and len(rows) == 9
    box = compare_page.locator("#changed-only")
    assert box.is_checked()  # the default: a review starts at what changed
    assert _visible_paths(compare_page) == changed
    assert compare_page.locator("#layer-count").inner_text() == "7 of 9 layers"
    _shot(compare_page, "compare.png")
    box.uncheck()
    assert _visible_paths(compare_page) == [r["path"] for r in rows]
    assert compare_page.locator("#layer-count").inner_text() == "9 of 9 layers"
    _shot(compare_page, "compare-all-rows.png")
    compare_page.locator("#layer-filter").fill("conv")  # search and the box combine
    assert _visible_paths(compare_page) == ["conv1", "conv2", "conv3"]
    box.check()
    assert _visible_paths(compare_page) == ["conv2", "conv3"]
    compare_page.locator("#layer-filter").fill("")
    assert _visible_paths(compare_page) == changed
    assert compare_page.errors == []


def test_compare_sorts_deltas_largest_first(compare_page: Any) -> None:
    col = _header_index(compare_page, "macs_delta")
    header = compare_page.locator("#layer-table thead th").nth(col)
    header.click()
    assert header.get_attribute("aria-sort") == "descending"
    deltas = [int(v) for v in _column(compare_page, col)]
    # conv2 widened (+147 456), conv3 added (+65 536), fc 8→16 inputs (+80), the rest 0
    assert deltas == [147_456, 65_536, 80, 0, 0, 0, 0]
    assert _visible_paths(compare_page)[:3] == ["conv2", "conv3", "fc"]
    header.click()
    assert [int(v) for v in _column(compare_page, col)] == sorted(deltas)
    compare_page.locator("#layer-table thead th").nth(_header_index(compare_page, "index")).click()
    assert _visible_paths(compare_page)[0] == ""  # the root, first in the aligned order


def test_compare_chart_overlays_both_sides(
    compare_page: Any, compare_files: tuple[Path, dict[str, Any]]
) -> None:
    totals = {t["name"]: t for t in compare_files[1]["totals"]}
    traces = compare_page.evaluate(
        "document.getElementById('fig-macs').data.map(t => [t.name, t.type, t.y])"
    )
    assert [t[1] for t in traces] == ["bar", "scatter", "bar", "scatter"]
    assert traces[1][2][-1] == totals["macs"]["base"] == 202_832  # cumulative ends at the total
    assert traces[3][2][-1] == totals["macs"]["head"] == 415_904


def test_compare_chart_keeps_its_size_when_the_window_is_resized(compare_page: Any) -> None:
    height = json.loads(compare_page.locator("#cs-figures").text_content())[0]["layout"]["height"]
    for width in (800, 1400, 640):
        compare_page.set_viewport_size({"width": width, "height": 900})
        compare_page.wait_for_function(
            """() => { const d = document.getElementById('fig-macs');
                const svg = d.querySelector('svg.main-svg');
                return svg && Math.abs(svg.getBoundingClientRect().width - d.clientWidth) < 2; }"""
        )
        (box,) = _chart_boxes(compare_page)
        assert box["height"] == height, (width, box)
        assert abs(box["svgHeight"] - box["height"]) < 1, (width, box)
        assert box["svgTop"] >= box["top"] and box["svgBottom"] <= box["bottom"], box
    compare_page.set_viewport_size({"width": 1400, "height": 1000})
    assert compare_page.errors == []


# --------------------------------------------------------------------------- window widths

RESNET = ROOT / "examples" / "resnet.py"


@pytest.fixture(scope="module")
def resnet_page_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ResNet example: 61 layers, conv columns, RF, and a dozen findings with fixes."""
    from convscope.report.build import build_report, render

    page = tmp_path_factory.mktemp("browser-widths") / "resnet.html"
    page.write_text(render(build_report(str(RESNET)), "html"), encoding="utf-8")
    return page


_GEOMETRY = """() => {
  const box = e => e.getBoundingClientRect();
  const table = document.querySelector('#layer-table'), wrap = table.parentElement;
  const heads = [...table.tHead.rows[0].cells].filter(h => h.offsetParent !== null);
  const lint = document.querySelector('#lint-table');
  const rows = [...lint.tBodies[0].rows];
  return {
    wrapLeft: box(wrap).left, wrapRight: box(wrap).left + wrap.clientWidth,
    scrollWidth: table.scrollWidth, clientWidth: wrap.clientWidth,
    layerLeft: box(table.querySelector('th.layer')).left,
    cellLeft: box(table.tBodies[0].rows[5].querySelector('td.layer')).left,
    lastRight: box(heads[heads.length - 1]).right,
    convShown: [...table.querySelectorAll('th.conv-col')].some(h => h.offsetParent !== null),
    message: Math.min(...rows.map(r => box(r.querySelector('td.message')).width)),
    lintWidth: box(lint).width, lintScroll: lint.scrollWidth,
    lintWrap: lint.parentElement.clientWidth,
    tallest: Math.max(...rows.map(r => box(r).height)),
  };
}"""


def _scroll_layers_right(tab: Any) -> None:
    tab.eval_on_selector("#layer-table", "t => { t.parentElement.scrollLeft = 1e6; }")


def test_at_800_px_every_layer_column_is_reachable_and_messages_readable(
    browser: Any, resnet_page_file: Path
) -> None:
    with _open(browser, resnet_page_file, width=800) as tab:
        tab.locator("#layers").scroll_into_view_if_needed()
        _shot(tab, "report-800.png")
        g = tab.evaluate(_GEOMETRY)
        # wider than the window: it scrolls sideways, conv columns start hidden
        assert g["scrollWidth"] > g["clientWidth"] and not g["convShown"]
        _scroll_layers_right(tab)
        g = tab.evaluate(_GEOMETRY)
        # scrolled to the end: the last column is in the box and the Layer column stuck
        assert g["lastRight"] <= g["wrapRight"] + 1
        assert abs(g["layerLeft"] - g["wrapLeft"]) <= 2 and abs(g["cellLeft"] - g["wrapLeft"]) <= 2
        tab.check("#show-conv")  # hidden columns come back on request
        assert tab.evaluate(_GEOMETRY)["convShown"]
        kernel = tab.locator("#layer-table th[data-key=kernel]").bounding_box()
        assert kernel is not None and kernel["width"] > 20
        # findings: no sideways scroll, the message has the room (it was ~150 px, a
        # finding ~400 px tall)
        assert g["lintScroll"] <= g["lintWrap"] + 1
        assert g["message"] >= 0.45 * g["lintWidth"] and g["message"] >= 320
        assert g["tallest"] < 200
        tab.locator("#lint").scroll_into_view_if_needed()
        _shot(tab, "report-800-findings.png")
        assert tab.errors == []


def test_at_1400_px_the_layer_table_is_not_cut(browser: Any, resnet_page_file: Path) -> None:
    with _open(browser, resnet_page_file, width=1400) as tab:
        tab.locator("#layers").scroll_into_view_if_needed()
        _shot(tab, "report-1400.png")
        g = tab.evaluate(_GEOMETRY)
        assert g["scrollWidth"] <= g["clientWidth"] + 1, "the last columns are cut"
        assert g["lastRight"] <= g["wrapRight"] + 1
        headers = tab.eval_on_selector_all(
            "#layer-table thead th", "hs => hs.filter(h => h.offsetParent).map(h => h.dataset.key)"
        )
        assert headers[-3:] == ["mixing", "rf", "findings"]
        assert g["message"] >= 600
        assert tab.errors == []
