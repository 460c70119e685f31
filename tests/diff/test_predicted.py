"""Gating on predicted latency: the ``latency`` section of reports analyzed on a target with
a hand-made kernel model, compared as plain numbers."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from torch import nn

import convscope
from convscope.analysis import schema
from convscope.analysis.latency import with_latency
from convscope.cli.app import main
from convscope.diff.compare import diff_reports
from convscope.diff.document import as_dict
from convscope.diff.errors import DiffError
from convscope.diff.gate import check, parse_thresholds
from convscope.render.diff import markdown as diff_markdown


def _report(make: Callable[..., Path], width: int) -> dict[str, Any]:
    """A conv + ReLU analyzed on a profile where every kernel takes 1 µs per call and convs
    1 ns per MAC: the prediction grows with the conv's width."""
    net = nn.Sequential(nn.Conv2d(8, width, 3, padding=1), nn.ReLU())
    a = convscope.analyze(net, (1, 8, 16, 16), name=f"w{width}")
    profile = make("dev", per_work={"conv.dense": 1e-3})
    doc: dict[str, Any] = schema.to_dict(with_latency(a, str(profile)))
    return doc


def _scaled(doc: dict[str, Any], factor: float) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    out["latency"]["predicted_ms"] = doc["latency"]["predicted_ms"] * factor
    return out


@pytest.fixture
def base(kernel_profile: Callable[..., Path]) -> dict[str, Any]:
    return _report(kernel_profile, 16)


def test_the_report_carries_the_hand_counted_prediction(base: dict[str, Any]) -> None:
    # conv 8·16·9·256 MACs at 1 ns, the relu 1 µs, the Sequential's call 2 µs.
    want_us = 8 * 16 * 9 * 256 * 1e-3 + 1.0 + 2.0
    assert base["latency"]["predicted_ms"] == pytest.approx(want_us / 1e3, abs=1e-6)


@pytest.mark.parametrize(("factor", "exceeded"), [(1.04, False), (1.049, False), (1.051, True)])
def test_latency_gates_on_the_prediction(
    base: dict[str, Any], factor: float, exceeded: bool
) -> None:
    d = diff_reports(base, _scaled(base, factor))
    assert d.latency is None and d.predicted is not None
    for metric in ("latency", "predicted_latency"):
        [r] = check(d, parse_thresholds(f"{metric}:+5%"))
        assert r.exceeded is exceeded, r.detail
        assert r.detail.startswith("predicted on dev ")


def test_two_real_reports(kernel_profile: Callable[..., Path], base: dict[str, Any]) -> None:
    wider = _report(kernel_profile, 32)  # twice the conv's MACs: +98.9 %
    d = diff_reports(base, wider)
    [r] = check(d, parse_thresholds("latency:+5%"))
    assert r.exceeded
    assert d.predicted is not None
    assert d.predicted.relative == pytest.approx((2 * 294.912 + 3) / (294.912 + 3) - 1, abs=1e-4)
    [back] = check(diff_reports(wider, base), parse_thresholds("latency:+5%"))
    assert not back.exceeded
    doc = as_dict(d, [r])
    assert doc["predicted_latency"]["head_ms"] == pytest.approx(wider["latency"]["predicted_ms"])
    assert "| predicted latency |" in diff_markdown.render(d, [r])


def test_absolute_and_bound_forms(base: dict[str, Any]) -> None:
    head = _scaled(base, 2.0)  # 0.297912 → 0.595824 ms
    d = diff_reports(base, head)
    results = check(d, parse_thresholds("predicted_latency:+0.2ms,predicted_latency:>0.6"))
    assert [r.exceeded for r in results] == [True, False]
    with pytest.raises(DiffError, match="predicted_latency takes"):
        parse_thresholds("predicted_latency:>5%")


def test_a_side_without_a_prediction_is_named(base: dict[str, Any]) -> None:
    head = copy.deepcopy(base)
    del head["latency"]
    d = diff_reports(base, head, base_label="base.json", head_label="head.json")
    with pytest.raises(DiffError) as err:
        check(d, parse_thresholds("latency:+5%"))
    text = str(err.value)
    assert "no profile section in either report" in text
    assert "no predicted latency in head (head.json)" in text
    with pytest.raises(DiffError, match=r"'predicted_latency': no predicted latency in head"):
        check(d, parse_thresholds("predicted_latency:+5%"))


def test_measured_latency_wins_when_both_reports_have_it(base: dict[str, Any]) -> None:
    def measured(doc: dict[str, Any], ms: float) -> dict[str, Any]:
        out = copy.deepcopy(doc)
        batch = {"batch_size": 1, "median_ms": ms, "p10_ms": ms * 0.99, "p90_ms": ms * 1.01}
        out["profile"] = {"batches": [batch], "device": "cpu"}
        return out

    # Predicted twice as slow, measured the same: the measurement decides.
    d = diff_reports(measured(base, 10.0), measured(_scaled(base, 2.0), 10.0))
    [r] = check(d, parse_thresholds("latency:+5%"))
    assert not r.exceeded and r.verdict == "unchanged"
    [p] = check(d, parse_thresholds("predicted_latency:+5%"))
    assert p.exceeded


def test_cli_fail_on_latency(base: dict[str, Any], tmp_path: Path) -> None:
    a, b, c = tmp_path / "base.json", tmp_path / "slower.json", tmp_path / "same.json"
    a.write_text(json.dumps(base), encoding="utf-8")
    b.write_text(json.dumps(_scaled(base, 1.1)), encoding="utf-8")
    c.write_text(json.dumps(_scaled(base, 1.01)), encoding="utf-8")
    runner = CliRunner()
    failed = runner.invoke(main, ["diff", str(a), str(b), "--fail-on", "latency:+5%"])
    assert failed.exit_code == 1, failed.stderr
    assert "predicted latency" in failed.stdout
    passed = runner.invoke(main, ["diff", str(a), str(c), "--fail-on", "latency:+5%"])
    assert passed.exit_code == 0, passed.stderr
