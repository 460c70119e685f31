"""Predicted latency on an analysis: the LATENCY section, its JSON, and every analyze format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import convscope
from convscope.analysis.latency import NoKernelModelError, predict_latency, with_latency
from convscope.analysis.schema import to_dict
from convscope.cli.app import main
from convscope.ir import graph as ir
from convscope.targets.keys import LATENCY

TESTS = Path(__file__).resolve().parents[1]
CONSTANT = str(TESTS / "fixtures" / "kernels" / "constant.yaml")
TINY = str(TESTS / "fixtures" / "cli" / "tiny.py")


def _constant_ms(a: convscope.Analysis) -> float:
    """The hand-made profile's kernel time of the whole graph (conv 100 µs, view / create
    1 µs, other ops 10 µs) plus 2 µs for the root's call (conv, bn and fc are calibrated
    through their modules: their calls are in the samples)."""
    us = 0.0
    for n in a.graph.nodes:
        if n.kind is ir.OpKind.CONV:
            us += 100.0
        elif n.kind in (ir.OpKind.VIEW, ir.OpKind.CREATE):
            us += 1.0
        else:
            us += 10.0
    us += 2.0
    return us / 1e3


def test_the_library_attaches_a_typed_section() -> None:
    a = convscope.analyze_spec(TINY)
    b = with_latency(a, CONSTANT)
    pred = b.need(LATENCY)
    assert a.section(LATENCY) is None  # the input analysis is unchanged
    assert pred.predicted_ms == pytest.approx(_constant_ms(a), rel=1e-9)
    assert pred.target == "constant" and pred.device == "cpu" and pred.batch == 1
    # Deterministic: the same analysis and profile give the same figures.
    assert predict_latency(a, CONSTANT).summary_dict() == pred.summary_dict()


def test_json_has_the_end_to_end_and_per_layer_prediction_and_the_roofline_beside() -> None:
    doc = to_dict(with_latency(convscope.analyze_spec(TINY), CONSTANT))
    lat = doc["latency"]
    assert lat["predicted_ms"] == pytest.approx(
        lat["kernel_ms"] + lat["module_call_overhead_ms"], abs=1e-5
    )
    assert lat["method"].startswith("per-op kernel model")
    assert lat["roofline_lower_bound_ms"] is not None and lat["roofline_lower_bound_ms"] > 0
    layers = [r for r in doc["layers"] if "latency" in r]
    assert layers and all("predicted_ms" in r["latency"] for r in layers)
    assert sum(r["latency"]["predicted_ms"] for r in layers) == pytest.approx(
        lat["kernel_ms"], abs=1e-4
    )
    assert all("roofline_lower_bound_ms" in r["latency"] for r in layers)


def test_a_target_without_kernel_model_is_refused() -> None:
    with pytest.raises(NoKernelModelError, match="no kernel model"):
        predict_latency(convscope.analyze_spec(TINY), "generic")


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_analyze_target_json() -> None:
    code, out, err = _run("analyze", TINY, "--target", CONSTANT, "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["latency"]["predicted_ms"] > 0
    assert doc["latency"]["target"] == "constant"


def test_analyze_target_table_has_column_and_summary_line() -> None:
    code, out, err = _run("analyze", TINY, "--target", CONSTANT)
    assert code == 0, err
    assert "Pred. ms" in out
    assert "Latency" in out and "predicted at batch 1" in out
    assert "roofline lower bound" in out


def test_analyze_target_markdown_has_row_and_column() -> None:
    code, out, err = _run("analyze", TINY, "--target", CONSTANT, "--format", "markdown")
    assert code == 0, err
    assert "| latency (predicted) |" in out and "pred. ms |" in out
    assert "roofline lower bound" in out


def test_analyze_target_html_has_card_and_columns(tmp_path: Path) -> None:
    page = tmp_path / "tiny.html"
    code, _, err = _run("analyze", TINY, "--target", CONSTANT, "--format", "html", "-o", str(page))
    assert code == 0, err
    html = page.read_text()
    assert 'id="card-predicted"' in html and "Pred. ms" in html and "Roofline ≥ ms" in html


def test_without_target_nothing_changes() -> None:
    code, out, err = _run("analyze", TINY, "--format", "json")
    assert code == 0, err
    assert "latency" not in json.loads(out)


def test_report_with_a_kernel_model_target_predicts_latency() -> None:
    code, out, err = _run("report", TINY, "--target", CONSTANT, "--format", "markdown")
    assert code == 0, err
    assert "| latency (predicted) |" in out
