"""``--fail-on`` thresholds: parsing, gating, and the noise-aware latency gate."""

from __future__ import annotations

from fractions import Fraction

import pytest
from diff_docs import batch, report

from convscope.diff.compare import diff_reports
from convscope.diff.errors import DiffError
from convscope.diff.gate import Threshold, check, parse_thresholds
from convscope.diff.metrics import metric_names
from convscope.render.diff import markdown as diff_markdown


def test_parse_thresholds() -> None:
    ts = parse_thresholds("macs:+5%, params:+2% ,peak_activation_bytes:+64MiB,params:+1M")
    assert [(t.metric, t.relative, t.amount) for t in ts] == [
        ("macs", True, Fraction(1, 20)),
        ("params", True, Fraction(1, 50)),
        ("peak_activation_bytes", False, Fraction(64 * 2**20)),
        ("params", False, Fraction(1_000_000)),
    ]
    assert ts[0].limit_text == "+5%"
    # plus sign optional, decimals, several option values, empty tokens ignored
    ts = parse_thresholds(["macs:1.5%,", "flops:+2.5G", "rf:+0"])
    assert [(t.metric, t.amount) for t in ts] == [
        ("macs", Fraction(3, 200)),
        ("flops", Fraction(2_500_000_000)),
        ("rf", Fraction(0)),
    ]
    assert parse_thresholds(None) == () and parse_thresholds("") == ()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mac:+5%", "unknown metric 'mac' in --fail-on threshold 'mac:+5%' (did you mean 'macs'?)"),
        ("wattage:+5%", "unknown metric 'wattage'"),
        ("macs", "bad --fail-on threshold 'macs': expected METRIC:+N%"),
        ("macs:+5%,params:lots", "bad --fail-on threshold 'params:lots'"),
        ("macs:>5%", "bad --fail-on threshold 'macs:>5%': a bound (>N or <N) is an absolute"),
        ("rf:<", "bad --fail-on threshold 'rf:<': expected +N%, -N%"),
        ("latency:-5%", "bad --fail-on threshold 'latency:-5%': latency takes an allowed increase"),
        ("macs:-+5%", "bad --fail-on threshold 'macs:-+5%'"),
        ("macs:+5%%", "bad --fail-on threshold 'macs:+5%%'"),
        ("params:+1Xi", "bad --fail-on threshold 'params:+1Xi'"),
        ("latency:+3", "bad --fail-on threshold 'latency:+3': latency takes a percentage"),
    ],
)
def test_bad_thresholds_name_the_token(text: str, expected: str) -> None:
    with pytest.raises(DiffError) as info:
        parse_thresholds(text)
    message = str(info.value)
    assert expected in message and "\n" not in message


def test_unknown_metric_lists_the_metrics() -> None:
    with pytest.raises(DiffError, match="metrics: params, trainable_params"):
        parse_thresholds("bogus:+1%")
    assert {
        "params",
        "macs",
        "flops",
        "traffic_bytes",
        "peak_activation_bytes",
        "rf",
        "latency",
    } <= set(metric_names())


def test_relative_threshold_is_strict_increase() -> None:
    d = diff_reports(report(params=1000), report(params=1030))  # exactly +3%
    results = check(d, parse_thresholds("params:+2%,params:+3%,params:+5%"))
    assert [r.exceeded for r in results] == [True, False, False]
    assert results[0].detail == "+3.00% > +2%"
    assert results[1].detail == "+3.00% ≤ +3%"


def test_absolute_threshold_with_binary_suffix() -> None:
    mib = 2**20
    at_limit = diff_reports(report(peak=mib), report(peak=2 * mib))
    over = diff_reports(report(peak=mib), report(peak=2 * mib + 1))
    t = parse_thresholds("peak_activation_bytes:+1MiB")
    assert not check(at_limit, t)[0].exceeded
    assert check(over, t)[0].exceeded
    assert check(over, t)[0].detail == "+1048577 > +1048576"
    decrease = diff_reports(report(params=1000), report(params=10))
    assert not check(decrease, parse_thresholds("params:+0"))[0].exceeded


def test_decrease_thresholds_gate_a_shrinking_metric() -> None:
    ts = parse_thresholds("rf:-10%,params:-50%,params:-100")
    assert [(t.metric, t.kind, t.relative, t.amount) for t in ts] == [
        ("rf", "decrease", True, Fraction(1, 10)),
        ("params", "decrease", True, Fraction(1, 2)),
        ("params", "decrease", False, Fraction(100)),
    ]
    shrunk = diff_reports(report(params=1000, rf=[100, 100]), report(params=880, rf=[89, 89]))
    rf, half, hundred = check(shrunk, ts)
    assert rf.exceeded and rf.detail == "-11.00% < -10%"
    assert not half.exceeded and half.detail == "-12.00% ≥ -50%"
    assert hundred.exceeded and hundred.detail == "-120 < -100"
    # growth never trips a decrease gate, and exactly -10% passes
    grown = diff_reports(report(rf=[100, 100]), report(rf=[150, 150]))
    assert not check(grown, parse_thresholds("rf:-0%"))[0].exceeded
    edge = diff_reports(report(rf=[100, 100]), report(rf=[90, 90]))
    assert not check(edge, parse_thresholds("rf:-10%"))[0].exceeded


def test_absolute_bounds_compare_the_head_value() -> None:
    ts = parse_thresholds("macs:>4G,rf:<200,params:>1000")
    assert [(t.kind, t.amount) for t in ts] == [
        ("above", Fraction(4_000_000_000)),
        ("below", Fraction(200)),
        ("above", Fraction(1000)),
    ]
    d = diff_reports(
        report(macs=5, params=1000, rf=[300, 300]),
        report(macs=4_000_000_001, params=1000, rf=[199, 199]),
    )
    macs, rf, params = check(d, ts)
    assert macs.exceeded and macs.detail == "4000000001 > 4G"
    assert rf.exceeded and rf.detail == "199 < 200"
    assert not params.exceeded and params.detail == "1000 ≤ 1000"  # the bound is inclusive
    text = diff_markdown.render(d, (macs, rf, params))
    assert "❌ > 4G" in text and "❌ < 200" in text and "✅ ≤ 1000" in text


def test_gate_on_missing_rf_names_the_side() -> None:
    d = diff_reports(report(rf=[11, 11]), report(), base_label="a.json", head_label="b.json")
    with pytest.raises(DiffError, match=r"'rf': head \(b.json\) has no receptive_field"):
        check(d, parse_thresholds("rf:+1"))


def test_latency_overlapping_ranges_do_not_fail() -> None:
    # median +9.5 %, but head's p10 (11.4) is within base's p90 × 1.05 (11.55): noise
    d = diff_reports(
        report(batches=[batch(10.0, 10.5, 11.0)]), report(batches=[batch(11.4, 11.5, 12.0)])
    )
    assert d.latency is not None and d.latency.verdict == "unchanged"
    assert d.latency.delta_ms == pytest.approx(1.0)
    (r,) = check(d, parse_thresholds("latency:+5%"))
    assert not r.exceeded and r.verdict == "unchanged"


def test_latency_separated_ranges_fail() -> None:
    d = diff_reports(
        report(batches=[batch(10.0, 10.5, 11.0)]), report(batches=[batch(11.6, 11.8, 12.0)])
    )  # 11.6 > 11.0 × 1.05
    assert d.latency is not None and d.latency.verdict == "regressed"
    (r,) = check(d, parse_thresholds("latency:+5%"))
    assert r.exceeded and r.verdict == "regressed"
    # a looser threshold: 11.6 ≤ 11.0 × 1.10
    (loose,) = check(d, parse_thresholds("latency:+10%"))
    assert not loose.exceeded


def test_latency_improvement_is_reported_not_failed() -> None:
    d = diff_reports(
        report(batches=[batch(10.0, 10.5, 11.0)]), report(batches=[batch(8.0, 8.5, 9.0)])
    )  # 9.0 < 10.0 × 0.95
    assert d.latency is not None and d.latency.verdict == "improved"
    assert not check(d, parse_thresholds("latency:+5%"))[0].exceeded


def test_latency_gate_without_profile_is_an_error() -> None:
    one_side = diff_reports(report(batches=[batch(1, 1, 1)]), report())
    assert one_side.notes == ("latency measured only in base; not compared",)
    with pytest.raises(DiffError, match="cannot gate on 'latency': latency measured only in"):
        check(one_side, parse_thresholds("latency:+5%"))
    with pytest.raises(DiffError, match="no profile section in either report"):
        check(diff_reports(report(), report()), parse_thresholds("latency:+5%"))
    other_sizes = diff_reports(
        report(batches=[batch(1, 1, 1, size=1)]), report(batches=[batch(1, 1, 1, size=4)])
    )
    with pytest.raises(DiffError, match=r"no common batch size \(base 1, head 4\)"):
        check(other_sizes, parse_thresholds("latency:+5%"))


def test_threshold_is_frozen() -> None:
    t = Threshold("macs", True, Fraction(1, 20), "macs:+5%")
    with pytest.raises(AttributeError):
        t.metric = "params"  # type: ignore[misc]
