"""The HTML report in a real browser: headless Debian chromium driven by Playwright.

Checks what a reviewer does with the page: it loads from ``file://`` without console
errors, shows one row per layer, sorts when a header is clicked, filters by search text,
and draws every chart. A screenshot is kept in ``test-artifacts/report.png``.

Set ``CONVSCOPE_NO_BROWSER=1`` to skip; otherwise a missing chromium fails (``make test``
installs it).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "tests" / "fixtures" / "report" / "small_net.py"
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
def page(report_files: tuple[Path, dict[str, Any]]) -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    executable = _chromium()
    errors: list[str] = []
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            tab = browser.new_page(viewport={"width": 1400, "height": 1000})
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
            tab.goto(report_files[0].as_uri())
            tab.wait_for_load_state("load")
            tab.errors = errors
            yield tab
        finally:
            browser.close()


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
    header.click()
    ascending = [int(v) for v in _column(page, col)]
    assert ascending == sorted(layer["macs"] for layer in doc["layers"])
    assert header.get_attribute("aria-sort") == "ascending"
    header.click()
    descending = [int(v) for v in _column(page, col)]
    assert descending == sorted(ascending, reverse=True)
    assert descending[0] == max(layer["macs"] for layer in doc["layers"]) > descending[-1]
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
    ARTIFACTS.mkdir(exist_ok=True)
    target = ARTIFACTS / "report.png"
    page.locator("#layer-filter").fill("")
    page.screenshot(path=str(target), full_page=True)
    assert target.stat().st_size > 10_000
    assert page.errors == []
