"""A receptive-field pass that cannot run says so everywhere, never "no output depends on
the input": in its text, its JSON, the HTML report, and the lint run (rules skipped, one
internal-error finding)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

import convscope
from convscope.analysis.rf import with_receptive_field
from convscope.linting.config import Settings
from convscope.linting.engine import lint
from convscope.linting.finding import INTERNAL_ERROR_CODE
from convscope.passes.keys import RECEPTIVE_FIELD
from convscope.passes.receptive import walk
from convscope.passes.receptive.result import ReceptiveField
from convscope.render.analysis import markdown
from convscope.report.build import build_report, render


@pytest.fixture
def broken_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    def run(self: object) -> ReceptiveField:
        raise RuntimeError("planted bug")

    monkeypatch.setattr(walk._Walk, "run", run)


def _analysis() -> convscope.Analysis:
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Conv2d(8, 8, 3))
    return convscope.analyze(model, torch.empty(1, 3, 16, 16, device="meta"))


@pytest.mark.usefixtures("broken_pass")
def test_the_failure_is_in_the_text_and_the_json() -> None:
    rf = with_receptive_field(_analysis()).need(RECEPTIVE_FIELD)
    assert rf.failure is not None and "RuntimeError: planted bug" in rf.failure
    assert rf.summary_text().startswith("not computed: the receptive-field pass failed")
    assert "planted bug" in rf.summary_dict()["failure"]
    text = markdown.render(with_receptive_field(_analysis()))
    assert "| receptive field | not computed: the receptive-field pass failed" in text


@pytest.mark.usefixtures("broken_pass")
def test_lint_skips_the_rules_and_reports_the_failure_once() -> None:
    result = lint(_analysis(), Settings(select=("RF",)), receptive_field=with_receptive_field)
    errors = [f for f in result.findings if f.code == INTERNAL_ERROR_CODE]
    assert len(errors) == 1 and "planted bug" in errors[0].message
    assert "RF001" in errors[0].message
    assert {s.code for s in result.skipped} >= {"RF001", "RF002", "RF003", "RF004"}
    assert not [f for f in result.findings if f.code.startswith("RF")]


def test_a_working_pass_has_no_failure() -> None:
    rf = with_receptive_field(_analysis()).need(RECEPTIVE_FIELD)
    assert rf.failure is None and "failure" not in rf.summary_dict()


@pytest.mark.usefixtures("broken_pass")
def test_the_html_report_shows_the_failure_in_the_rf_card(tmp_path: Path) -> None:
    model = tmp_path / "net.py"
    model.write_text(
        "from torch import nn\n\n\nclass Net(nn.Sequential):\n"
        "    def __init__(self):\n        super().__init__(nn.Conv2d(3, 8, 3), nn.ReLU())\n\n\n"
        "INPUT_SHAPE = (1, 3, 16, 16)\n"
    )
    page = render(build_report(str(model)), "html")
    card = page[page.index('id="card-rf"') :][:600]
    assert "the receptive-field pass failed" in card and "planted bug" in card
