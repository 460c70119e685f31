"""Golden outputs for the analyze reporters, plus invariants the renderings must keep.

Regenerate the golden files after an intended change with
``CONVSCOPE_UPDATE_GOLDEN=1 pytest tests/render/test_analysis.py`` and review the diff.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
import torch
from torch import nn

import convscope
from convscope import api, fmt
from convscope.analysis.build import Analysis
from convscope.passes.keys import RECEPTIVE_FIELD
from convscope.render.analysis import (
    json as json_report,
)
from convscope.render.analysis import (
    markdown,
)
from convscope.render.analysis import (
    notebook as html_table,
)
from convscope.render.analysis import (
    table as terminal,
)

GOLDEN = Path(__file__).resolve().parents[1] / "golden"


class Small(nn.Module):
    """A stem, a residual block and a classifier: every row kind a report shows."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, 8, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU()
        )
        self.block = nn.Sequential(nn.Conv2d(8, 8, 3, padding=1, groups=8), nn.Conv2d(8, 8, 1))
        self.head = nn.Linear(8, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.stem(x)
        y = y + self.block(y)
        return self.head(y.mean((2, 3)))


@pytest.fixture(scope="module")
def analysis() -> Analysis:
    return convscope.analyze(Small(), (1, 3, 32, 32), name="tests/Small")


def _check(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("CONVSCOPE_UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"golden file {path} missing: run with CONVSCOPE_UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8")


def test_golden_json(analysis: Analysis) -> None:
    _check("small.json", json_report.render(analysis))


def test_golden_markdown(analysis: Analysis) -> None:
    _check("small.md", markdown.render(analysis))


def test_golden_markdown_folded(analysis: Analysis) -> None:
    _check("small-depth1.md", markdown.render(analysis, depth=1))


def test_golden_table(analysis: Analysis) -> None:
    _check("small.txt", terminal.to_text(analysis, width=140))


@pytest.mark.parametrize("width", [80, 100, 160])
def test_golden_table_at_terminal_widths(analysis: Analysis, width: int) -> None:
    """With RF columns the full table is about 110 wide: 160 shows it as is, 100 in the
    compact style, 80 hides the least needed columns and says which."""
    with_rf = api.with_receptive_field(analysis)
    text = terminal.to_text(with_rf, width=width, show_rf=True)
    _check(f"small-{width}.txt", text)
    assert max(len(line) for line in text.splitlines()) <= width
    assert "…" not in text  # no number, header or name is cut


def test_narrow_table_keeps_every_number_readable(analysis: Analysis) -> None:
    text = terminal.to_text(analysis, width=60)
    total = next(line for line in text.splitlines() if line.startswith("Total"))
    assert fmt.count(analysis.totals.params) in total
    assert fmt.count(analysis.totals.macs) in total
    assert "hidden at 60 columns" in text
    assert max(len(line) for line in text.splitlines()) <= 60


def test_long_layer_names_are_cut_before_numbers() -> None:
    deep = nn.Sequential()
    deep.add_module(
        "a_really_long_module_name_that_will_not_fit_in_a_narrow_terminal", nn.Conv2d(3, 4, 3)
    )
    a = convscope.analyze(deep, (1, 3, 8, 8), name="deep")
    text = terminal.to_text(a, width=40)
    assert max(len(line) for line in text.splitlines()) <= 40
    row = next(line for line in text.splitlines() if "…" in line)
    assert fmt.count(a.totals.params) in row


def test_table_totals_match_json(analysis: Analysis) -> None:
    doc = json.loads(json_report.render(analysis))
    text = terminal.to_text(analysis, width=140)
    total_line = next(line for line in text.splitlines() if line.lstrip("│ ").startswith("Total"))
    assert doc["totals"]["params"] == analysis.totals.params
    assert f"{analysis.totals.params}" in total_line  # small enough to print unabbreviated
    assert len([r for r in doc["layers"]]) == len(analysis.rows)


def test_markdown_has_one_table_row_per_layer(analysis: Analysis) -> None:
    md = markdown.render(analysis)
    rows = [line for line in md.splitlines() if line.startswith("| `")]
    assert len(rows) == len(analysis.rows)
    assert "<details>" in md and "</details>" in md


def test_html_page_is_self_contained(analysis: Analysis) -> None:
    page = html_table.render_page(analysis)
    assert page.startswith("<!doctype html>")
    assert "http://" not in page and "https://" not in page
    headers = 2  # the stem and block Sequentials, shown as tree headers
    assert page.count("<tr>") + page.count("<tr class=h>") == len(analysis.rows) + 2 + headers


def _name_cells(html: str) -> list[tuple[float, str]]:
    found = re.findall(r'<td style="text-align:left;padding-left:([0-9.]+)em">([^<]*)</td>', html)
    return [(float(pad), name) for pad, name in found]


def test_notebook_view_is_the_report_in_small(analysis: Analysis) -> None:
    assert analysis.section(RECEPTIVE_FIELD) is None  # the view computes it for the summary
    html = html_table.analysis_html(analysis)
    for label in ("Params", "MACs", "Peak activations", "Receptive field", "Unknown ops"):
        assert f"<b>{label}</b>" in html
    assert fmt.nbytes(analysis.totals.peak_activation_bytes) in html
    assert "output RF 7×7" in html
    names = dict((name, pad) for pad, name in _name_cells(html))
    # Left-aligned names, indented one level per tree level: the tree stays readable even
    # where the notebook's stylesheet right-aligns cells.
    assert names["stem"] < names["0"]
    assert "<tfoot><tr><td>Total</td>" in html
    assert "Folded" not in html  # small enough to show every row


def test_notebook_view_folds_deep_models_under_sixty_rows() -> None:
    stages = [nn.Sequential(nn.Conv2d(4, 4, 3, padding=1), nn.ReLU()) for _ in range(40)]
    a = convscope.analyze(nn.Sequential(*stages), (1, 4, 8, 8), name="deep")
    assert len(a.rows) == 80
    html = html_table.analysis_html(a)
    assert html_table.view_html(a.view()) == html  # "auto" is what a bare analysis shows
    body = html[html.index("<tbody>") : html.index("</tbody>")]
    assert body.count("<tr") <= html_table.MAX_ROWS
    assert "Folded below depth 1: 40 of 80 layer rows" in html
    assert fmt.count(a.totals.macs) in html[html.index("<tfoot>") :]
    full = html_table.view_html(a.view(depth=None))
    assert full.count("<tr") > 80 and "Folded" not in full
    assert html_table.view_html(a.view(depth=2)).count("<tr") == full.count("<tr")  # max depth


def test_rows_summing_several_calls_say_so() -> None:
    class Reused(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.c1, self.c2 = nn.Conv2d(3, 4, 1), nn.Conv2d(4, 4, 1)
            self.relu = nn.ReLU()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.relu(self.c2(self.relu(self.c1(x))))

    a = convscope.analyze(Reused(), (1, 3, 8, 8), name="reused")
    text = terminal.to_text(a, width=140)
    assert re.search(r"relu ×2 ", text) and "×N: a module run N times" in text
    assert "| `relu` ×2 | ReLU |" in markdown.render(a)
    once = terminal.to_text(convscope.analyze(nn.Conv2d(3, 4, 1), (1, 3, 8, 8)), width=140)
    assert "×N" not in once
