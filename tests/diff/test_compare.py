"""The diff library: deltas of hand-built reports, threshold parsing and gating, the
noise-aware latency gate, layer matching, report validation, and the Markdown golden.

Regenerate the golden file with ``CONVSCOPE_UPDATE_GOLDEN=1 pytest tests/diff/test_compare.py``
and review the diff.
"""

from __future__ import annotations

import copy
import json
import os
import re
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from convscope.diff.compare import (
    DiffError,
    Threshold,
    align_layers,
    as_dict,
    check,
    diff_reports,
    load_report,
    metric_names,
    parse_thresholds,
    validate_report,
)
from convscope.render.diff import markdown as diff_markdown
from convscope.render.diff import text as diff_text

GOLDEN = Path(__file__).resolve().parents[1] / "golden"


def layer(
    path: str,
    type_name: str = "Conv2d",
    *,
    params: int = 0,
    macs: int = 0,
    shape: list[int] | None = None,
    read: int = 0,
    written: int = 0,
) -> dict[str, Any]:
    return {
        "path": path,
        "type": type_name,
        "depth": path.count(".") + 1,
        "calls": 1,
        "output_shape": shape or [1, 8, 4, 4],
        "params": params,
        "macs": macs,
        "flops": 2 * macs,
        "activation_bytes": written,
        "bytes_read": read,
        "bytes_written": written,
    }


def report(
    *,
    params: int = 1000,
    macs: int = 10_000,
    traffic: int = 4096,
    peak: int = 2048,
    layers: list[dict[str, Any]] | None = None,
    rf: list[int] | None = None,
    batches: list[dict[str, Any]] | None = None,
    inputs: list[list[int]] | None = None,
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "schema_version": 1,
        "model": "m",
        "inputs": inputs or [[1, 3, 8, 8]],
        "dtype": None,
        "trace": {"mode": "meta", "fallback_reason": None},
        "totals": {
            "params": params,
            "macs": macs,
            "flops": 2 * macs,
            "traffic_bytes": traffic,
            "peak_activation_bytes": peak,
        },
        "layers": layers if layers is not None else [],
    }
    if rf is not None:
        doc["receptive_field"] = {"size": rf}
    if batches is not None:
        doc["profile"] = {"device": "cpu", "batches": batches}
    return doc


def batch(p10: float, median: float, p90: float, size: int = 1) -> dict[str, Any]:
    return {"batch_size": size, "p10_ms": p10, "median_ms": median, "p90_ms": p90}


# ------------------------------------------------------------------------------ totals


def test_total_deltas_hand_computed() -> None:
    d = diff_reports(
        report(params=1000, macs=10_000, traffic=4096, peak=2048, rf=[35, 27]),
        report(params=1030, macs=9_000, traffic=4096, peak=3072, rf=[51, 51]),
    )
    assert (d.total("params").base, d.total("params").head) == (1000, 1030)
    assert d.total("params").delta == 30
    assert d.total("params").relative == pytest.approx(0.03)
    assert d.total("macs").delta == -1000
    assert d.total("macs").relative == pytest.approx(-0.1)
    assert d.total("flops").delta == -2000
    assert d.total("traffic_bytes").delta == 0
    assert d.total("peak_activation_bytes").delta == 1024
    assert d.total("peak_activation_bytes").relative == pytest.approx(0.5)
    # rf: the largest side of the output receptive field
    assert (d.total("rf").base, d.total("rf").head, d.total("rf").delta) == (35, 51, 16)
    # a totals key missing on both sides is None, not 0
    assert d.total("buffers").base is None and d.total("buffers").delta is None
    assert d.latency is None and d.notes == ()


def test_zero_base_has_no_relative_change() -> None:
    d = diff_reports(report(macs=0), report(macs=500))
    assert d.total("macs").delta == 500 and d.total("macs").relative is None
    (r,) = check(d, parse_thresholds("macs:+1000%"))
    assert r.exceeded and r.detail.startswith("new")


def test_notes_when_inputs_differ() -> None:
    d = diff_reports(report(inputs=[[1, 3, 8, 8]]), report(inputs=[[1, 3, 16, 16]]))
    assert d.notes == ("inputs differ: base 1×3×8×8, head 1×3×16×16",)


# ------------------------------------------------------------------------------ thresholds


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


# ------------------------------------------------------------------------------ latency


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


def test_latency_matches_batch_sizes() -> None:
    d = diff_reports(
        report(batches=[batch(1, 1, 1, size=1), batch(5, 5, 5, size=8)]),
        report(batches=[batch(6, 6, 6, size=8)]),
    )
    assert d.latency is not None and d.latency.batch_size == 8
    assert d.latency.base.median_ms == 5 and d.latency.head.median_ms == 6


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


# ------------------------------------------------------------------------------ layers


def test_layers_added_removed_changed() -> None:
    base = report(
        layers=[
            layer("stem", params=100, macs=1000),
            layer("block1", params=100, macs=2000),
            layer("block2", params=50, macs=500),
            layer("fc", "Linear", params=10, macs=10, shape=[1, 2]),
        ]
    )
    head = report(
        layers=[
            layer("stem", params=100, macs=1000),
            layer("block1", params=150, macs=3000),
            layer("extra", "ReLU"),
            layer("fc", "Linear", params=10, macs=10, shape=[1, 2]),
        ]
    )
    d = diff_reports(base, head)
    assert [(x.path, x.status) for x in d.layers] == [
        ("block1", "changed"),
        ("block2", "removed"),
        ("extra", "added"),
    ]
    assert d.unchanged_layers == 2
    assert (d.count("added"), d.count("removed"), d.count("changed")) == (1, 1, 1)
    changed = d.layers[0]
    assert [f.name for f in changed.changed_fields] == ["params", "macs", "flops"]
    assert changed.field("params").delta == 50
    assert changed.field("macs").delta == 1000
    removed, added = d.layers[1], d.layers[2]
    assert removed.field("params").head is None and removed.field("params").delta == -50
    assert added.field("type").base is None and added.type_name == "ReLU"


def test_full_alignment_keeps_the_same_layers_in_place() -> None:
    base = [layer("stem", macs=1000), layer("block", macs=2000), layer("fc", macs=10)]
    head = [layer("stem", macs=1000), layer("fc", macs=10), layer("extra", "ReLU")]
    aligned = align_layers(base, head)
    # block was removed after stem, so it shows right after stem, not at the end
    assert [(x.path, x.status) for x in aligned] == [
        ("stem", "same"),
        ("block", "removed"),
        ("fc", "same"),
        ("extra", "added"),
    ]
    d = diff_reports(report(layers=base), report(layers=head))
    assert d.layers == tuple(x for x in aligned if x.status != "same")
    assert d.unchanged_layers == 2


def test_layer_type_and_shape_changes() -> None:
    d = diff_reports(
        report(layers=[layer("a", "Conv2d", shape=[1, 8, 4, 4])]),
        report(layers=[layer("a", "Linear", shape=[1, 8])]),
    )
    (a,) = d.layers
    assert {f.name for f in a.changed_fields} == {"type", "output_shape"}
    assert a.field("output_shape").base == (1, 8, 4, 4)
    assert a.field("output_shape").delta is None


def test_removed_first_layer_keeps_its_place() -> None:
    d = diff_reports(report(layers=[layer("a"), layer("b")]), report(layers=[layer("b")]))
    assert [(x.path, x.status) for x in d.layers] == [("a", "removed")]
    assert d.unchanged_layers == 1


# ------------------------------------------------------------------------------ validation


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        ([1, 2], "x.json is not a convscope JSON report"),
        ({"lint": []}, "x.json is not a convscope JSON report (no schema_version"),
        (
            {**report(), "schema_version": 2},
            "x.json has schema_version 2; this convscope compares version 1",
        ),
        ({**report(), "totals": None}, "x.json: 'totals' is missing"),
        ({**report(), "layers": {}}, "x.json: 'layers' is missing or not a list"),
        ({**report(), "layers": [{"type": "Conv2d"}]}, "x.json: layers[0] has no 'path'"),
    ],
)
def test_validate_report(doc: Any, expected: str) -> None:
    with pytest.raises(DiffError) as info:
        validate_report(doc, "x.json")
    assert expected in str(info.value)


def test_validate_rejects_non_numbers() -> None:
    doc = report()
    doc["totals"]["macs"] = "many"
    with pytest.raises(DiffError, match=r"x\.json: totals\.macs is not a number in range: 'many'"):
        validate_report(doc, "x.json")


def test_validate_rejects_counts_no_float_can_hold_and_boolean_versions() -> None:
    doc = report()
    doc["totals"]["macs"] = 10**400
    with pytest.raises(DiffError, match=r"totals\.macs is not a number in range: 1000.*\.\.\."):
        validate_report(doc, "x.json")
    doc = report()
    doc["schema_version"] = True  # True == 1 in Python, but it is not a version
    with pytest.raises(DiffError, match="schema_version True"):
        validate_report(doc, "x.json")
    doc = report()
    doc["inputs"] = 5
    with pytest.raises(DiffError, match="'inputs' must be a list of shapes, got 5"):
        validate_report(doc, "x.json")


def test_load_report_errors_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(DiffError, match=r"bad.json is not valid JSON: .* line 1 column 2"):
        load_report(bad)
    with pytest.raises(DiffError, match=r"report not found: .*missing\.json"):
        load_report(tmp_path / "missing.json")
    good = tmp_path / "good.json"
    good.write_text(json.dumps(report(params=7)), encoding="utf-8")
    assert load_report(good)["totals"]["params"] == 7


# ------------------------------------------------------------------------------ outputs


def _golden_pair() -> tuple[dict[str, Any], dict[str, Any]]:
    base = json.loads((GOLDEN / "diff-base.json").read_text(encoding="utf-8"))
    head = json.loads((GOLDEN / "diff-head.json").read_text(encoding="utf-8"))
    return base, head


GOLDEN_GATES = "params:+100%,macs:+50%,rf:+8,latency:+5%"


def test_golden_fixture_hand_computed() -> None:
    base, head = _golden_pair()
    d = diff_reports(base, head)
    # block.conv 32→96 channels (+9,216 weights), block.proj 96→64 1×1 added (+6,144)
    assert d.total("params").delta == 9_216 + 6_144
    # MACs: 56·56·32·9·(96−64) + 56·56·96·64
    assert d.total("macs").delta == 56 * 56 * 288 * 32 + 56 * 56 * 96 * 64
    results = check(d, parse_thresholds(GOLDEN_GATES))
    assert [(r.metric, r.exceeded) for r in results] == [
        ("params", False),
        ("macs", True),
        ("rf", False),
        ("latency", False),
    ]


def test_golden_markdown() -> None:
    base, head = _golden_pair()
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
    base, head = _golden_pair()
    d = diff_reports(base, head, base_label="main.json", head_label="head.json")
    text = diff_text.to_text(d, check(d, parse_thresholds(GOLDEN_GATES)))
    assert "convscope diff · main.json → head.json" in text
    assert "FAIL: 1 of 4 thresholds exceeded (macs: +70.17% > +50%)" in text
    assert "FAIL > +50%" in text and "pass ≤ +5% (within noise)" in text
    assert "18.4K → 27.6K (+9.22K)" in text
    assert "1 changed, 1 added, 1 removed, 3 unchanged" in text


def test_as_dict_is_json_ready() -> None:
    base, head = _golden_pair()
    d = diff_reports(base, head, base_label="main.json", head_label="head.json")
    doc = json.loads(json.dumps(as_dict(d, check(d, parse_thresholds("macs:+50%")))))
    assert doc["diff_version"] == 1 and doc["exceeded"] is True
    assert doc["totals"]["params"] == {
        "base": 19_946,
        "head": 35_306,
        "delta": 15_360,
        "delta_pct": round(100 * 15_360 / 19_946, 4),
    }
    assert doc["gates"][0]["metric"] == "macs" and doc["gates"][0]["threshold"] == "+50%"
    assert doc["latency"]["verdict"] == "unchanged" and doc["latency"]["batch_size"] == 1
    rows = {r["path"]: r for r in doc["layers"]["rows"]}
    assert rows["block.conv"]["fields"]["output_shape"] == {
        "base": [1, 64, 56, 56],
        "head": [1, 96, 56, 56],
    }
    assert doc["layers"]["unchanged"] == 3


def test_threshold_is_frozen() -> None:
    t = Threshold("macs", True, Fraction(1, 20), "macs:+5%")
    with pytest.raises(AttributeError):
        t.metric = "params"  # type: ignore[misc]
