"""Comparing two hand-built reports: total deltas, latency at a common batch size, and
layer matching.
"""

from __future__ import annotations

import pytest
from diff_docs import GOLDEN_GATES, batch, golden_pair, layer, report

from convscope.diff.compare import align_layers, diff_reports
from convscope.diff.gate import check, parse_thresholds


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


def test_latency_matches_batch_sizes() -> None:
    d = diff_reports(
        report(batches=[batch(1, 1, 1, size=1), batch(5, 5, 5, size=8)]),
        report(batches=[batch(6, 6, 6, size=8)]),
    )
    assert d.latency is not None and d.latency.batch_size == 8
    assert d.latency.base.median_ms == 5 and d.latency.head.median_ms == 6


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


def test_golden_fixture_hand_computed() -> None:
    base, head = golden_pair()
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
