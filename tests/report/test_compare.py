"""The comparison of two models (``convscope report BASE --compare HEAD``): totals and
per-layer deltas of a hand-counted pair, the full layer alignment, lint matching, a saved
JSON side against a model-spec side, latency, and the Markdown and HTML renderings.

The pair (tests/fixtures/compare/, input 1×3×16×16, every conv padded to keep 16×16):

* base: conv1 3→8 3×3 (no bias), bn1, conv2 8→8 3×3 with bias, bn2, ReLU module act2, fc 8→10;
* head: conv2 widened to 8→16 without bias, conv3 16→16 1×1 with bias + bn3 added, act2
  gone (``.relu()`` instead), fc 16→10.

Conv MACs are H·W·Cout·Cin·k² and params Cout·Cin·k² (+ Cout for a bias).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from convscope.report.compare import (
    CompareError,
    Comparison,
    build_comparison,
    compare_documents,
    compare_lint,
    load_comparison_side,
    render,
    verdict,
)

ROOT = Path(__file__).resolve().parents[2]
BASE = str(ROOT / "tests" / "fixtures" / "compare" / "base_net.py")
HEAD = str(ROOT / "tests" / "fixtures" / "compare" / "head_net.py")

HW = 16 * 16
# base
CONV1_MACS, CONV1_PARAMS = HW * 8 * 3 * 9, 8 * 3 * 9  # 55 296, 216
CONV2_MACS, CONV2_PARAMS = HW * 8 * 8 * 9, 8 * 8 * 9 + 8  # 147 456, 584
FC_MACS, FC_PARAMS = 8 * 10, 8 * 10 + 10  # 80, 90
BN8 = 2 * 8  # weight and bias
BASE_MACS = CONV1_MACS + CONV2_MACS + FC_MACS  # 202 832
BASE_PARAMS = CONV1_PARAMS + BN8 + CONV2_PARAMS + BN8 + FC_PARAMS  # 922
# head
WIDE_MACS, WIDE_PARAMS = HW * 16 * 8 * 9, 16 * 8 * 9  # 294 912, 1 152
CONV3_MACS, CONV3_PARAMS = HW * 16 * 16, 16 * 16 + 16  # 65 536, 272
FC16_MACS, FC16_PARAMS = 16 * 10, 16 * 10 + 10  # 160, 170
BN16 = 2 * 16
HEAD_MACS = CONV1_MACS + WIDE_MACS + CONV3_MACS + FC16_MACS  # 415 904
HEAD_PARAMS = CONV1_PARAMS + BN8 + WIDE_PARAMS + BN16 + CONV3_PARAMS + BN16 + FC16_PARAMS


@pytest.fixture(scope="module")
def pair() -> Comparison:
    return build_comparison(BASE, HEAD)


def test_totals_of_the_pair_by_hand(pair: Comparison) -> None:
    assert (BASE_MACS, HEAD_MACS, BASE_PARAMS, HEAD_PARAMS) == (202_832, 415_904, 922, 1890)
    doc = pair.to_dict()
    totals = {t["name"]: t for t in doc["totals"]}
    macs = totals["macs"]
    assert (macs["base"], macs["head"], macs["delta"]) == (BASE_MACS, HEAD_MACS, 213_072)
    assert macs["delta_pct"] == round(100 * 213_072 / BASE_MACS, 4) == 105.0485
    assert macs["verdict"] == "worse"
    params = totals["params"]
    assert (params["base"], params["head"], params["delta"]) == (922, 1890, 968)
    assert totals["flops"]["delta"] == 2 * 213_072
    # two 3×3 convs: 5×5 on both sides — the same, and a larger RF would be "better"
    assert (totals["rf"]["base"], totals["rf"]["head"], totals["rf"]["verdict"]) == (5, 5, "same")
    assert doc["latency"] is None and doc["notes"] == []
    assert doc["base"]["inputs"] == doc["head"]["inputs"] == [[1, 3, 16, 16]]
    assert doc["base"]["outputs"] == doc["head"]["outputs"] == [[1, 10]]


def test_worse_means_costlier_or_a_smaller_receptive_field() -> None:
    assert verdict("macs", 5) == verdict("peak_activation_bytes", 1) == "worse"
    assert verdict("params", -3) == "better"
    assert verdict("rf", 4) == "better" and verdict("rf", -4) == "worse"
    assert verdict("macs", 0) == "same" and verdict("rf", None) is None


def test_every_layer_aligned_by_path(pair: Comparison) -> None:
    assert [(x.path, x.status) for x in pair.layers] == [
        ("", "changed"),  # the root's own ops (relu, mean) run on 16 channels now
        ("conv1", "same"),
        ("bn1", "same"),
        ("conv2", "changed"),
        ("bn2", "changed"),
        ("act2", "removed"),  # shown where it was: after bn2
        ("conv3", "added"),
        ("bn3", "added"),
        ("fc", "changed"),
    ]
    by = {x.path: x for x in pair.layers}
    conv2 = by["conv2"]
    assert (conv2.field("macs").base, conv2.field("macs").head) == (CONV2_MACS, WIDE_MACS)
    assert conv2.field("macs").delta == WIDE_MACS - CONV2_MACS == 147_456
    assert conv2.field("params").delta == WIDE_PARAMS - CONV2_PARAMS == 568
    assert conv2.field("output_shape").head == (1, 16, 16, 16)
    assert by["conv3"].field("macs").base is None
    assert by["conv3"].field("macs").delta == CONV3_MACS
    assert by["conv3"].field("params").delta == CONV3_PARAMS
    assert by["fc"].field("macs").delta == FC16_MACS - FC_MACS == 80
    # diff's own list is the same alignment without the layers that are the same
    assert pair.diff.layers == tuple(x for x in pair.layers if x.status != "same")
    assert pair.diff.unchanged_layers == pair.count("same") == 2
    # per-layer MACs add up to each side's total (the cumulative chart ends there)
    for side, total in (("base", BASE_MACS), ("head", HEAD_MACS)):
        assert sum(getattr(x.field("macs"), side) or 0 for x in pair.layers) == total


def test_lint_new_fixed_unchanged(pair: Comparison) -> None:
    lint = pair.lint
    assert lint is not None and pair.lint_note is None
    assert lint.base_target == lint.head_target == "generic"
    changes = {(f.status, f.code, f.layer) for f in lint.findings}
    assert ("fixed", "AR001", "conv2") in changes  # the bias before bn2 is gone
    assert ("new", "AR001", "conv3") in changes  # the new 1×1 has one before bn3
    assert ("unchanged", "RF001", "conv2") in changes  # 5×5 of 16×16 on both sides
    assert lint.count("new") + lint.count("unchanged") == sum(lint.head_counts.values())
    assert lint.count("fixed") + lint.count("unchanged") == sum(lint.base_counts.values())
    statuses = [f.status for f in lint.findings]
    assert statuses == sorted(statuses, key=["new", "fixed", "unchanged"].index)


def _finding(code: str, layer: str, message: str = "m", severity: str = "info") -> dict[str, Any]:
    return {"code": code, "name": "x", "severity": severity, "layer": layer, "message": message}


def test_lint_matching_by_rule_and_layer() -> None:
    base = {
        "target": "generic",
        "findings": [
            _finding("AR001", "a.conv", "bias of 8"),
            _finding("HW001", "b", "width 6"),
            _finding("HW001", "b", "width 10"),
            _finding("RF001", "stage3", "covers 40%", "warning"),
            _finding("DW001", "c"),
        ],
    }
    head = {
        "target": "generic",
        "findings": [
            _finding("HW001", "b", "width 10"),
            _finding("AR001", "a.conv", "bias of 16"),
            _finding("RF001", "stage4", "covers 45%", "warning"),  # whole-model rule: moved
            _finding("DW001", "d"),  # another layer: not the same finding
        ],
    }
    lint = compare_lint(base, head)
    got = [(f.status, f.code, f.layer, f.base_message) for f in lint.findings]
    assert got == [
        ("new", "DW001", "d", None),
        ("fixed", "HW001", "b", None),
        ("fixed", "DW001", "c", None),
        ("unchanged", "HW001", "b", None),  # paired with the same message, not the first one
        ("unchanged", "AR001", "a.conv", "bias of 8"),
        ("unchanged", "RF001", "stage4", "covers 40%"),
    ]
    fixed_hw = next(f for f in lint.findings if f.status == "fixed" and f.code == "HW001")
    assert fixed_hw.message == "width 6"
    assert dict(lint.base_counts) == {"error": 0, "warning": 1, "info": 4}
    assert dict(lint.head_counts) == {"error": 0, "warning": 1, "info": 3}


def test_a_saved_analysis_compares_equal_to_its_spec(tmp_path: Path) -> None:
    """diff's load_side (what `convscope analyze --format json` writes) and a model-spec
    side built with lint give the same numbers; only lint is missing from the saved one."""
    from convscope.diff.reports import load_side

    saved = tmp_path / "base.json"
    saved.write_text(json.dumps(load_side(BASE)), encoding="utf-8")
    c = compare_documents(
        load_comparison_side(str(saved)),
        load_comparison_side(BASE),
        base_label="base.json",
        head_label=BASE,
    )
    assert {x.status for x in c.layers} == {"same"} and len(c.layers) == 7
    assert all(t.delta == 0 for t in c.diff.totals)
    assert c.lint is None
    assert c.lint_note is not None and "no lint section in base (base.json)" in c.lint_note


def test_both_saved_reports_refuse_spec_options(tmp_path: Path) -> None:
    saved = tmp_path / "a.json"
    saved.write_text("{}", encoding="utf-8")
    with pytest.raises(CompareError, match=r"^-i/--input applies to a model spec side"):
        build_comparison(str(saved), str(saved), input_shapes=[(1, 3, 8, 8)])
    with pytest.raises(CompareError, match=r"^--target applies"):
        build_comparison(str(saved), str(saved), target="gpu-fp16")


def _profiled(doc: dict[str, Any], median: float, p10: float, p90: float) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    out["profile"] = {
        "device": "cpu",
        "batches": [{"batch_size": 1, "median_ms": median, "p10_ms": p10, "p90_ms": p90}],
    }
    return out


def test_latency_from_profiled_sides() -> None:
    base = load_comparison_side(BASE)
    head = load_comparison_side(HEAD)
    slow = compare_documents(_profiled(base, 10.0, 9.8, 10.4), _profiled(head, 20.0, 19.5, 21.0))
    lat = slow.to_dict()["latency"]
    assert (lat["delta_ms"], lat["delta_pct"], lat["verdict"]) == (10.0, 100.0, "worse")
    noisy = compare_documents(_profiled(base, 10.0, 9.0, 11.0), _profiled(head, 10.2, 9.1, 11.3))
    assert noisy.to_dict()["latency"]["verdict"] == "same"  # p10/p90 overlap: within noise
    page = render(slow, "html")
    assert 'data-metric="latency" data-verdict="worse"' in page
    assert "+10.0 ms" in render(slow, "markdown")


def test_json_is_the_document(pair: Comparison) -> None:
    doc = json.loads(render(pair, "json"))
    assert doc == json.loads(json.dumps(pair.to_dict()))
    assert doc["comparison_version"] == 1
    assert doc["layers"]["counts"] == {"added": 2, "removed": 1, "changed": 4, "same": 2}
    rows = {r["path"]: r for r in doc["layers"]["rows"]}
    assert rows["act2"]["macs"] == {"base": 0, "head": None, "delta": 0}
    assert rows["conv2"]["output_shape"] == {"base": [1, 8, 16, 16], "head": [1, 16, 16, 16]}


def test_markdown_for_a_pull_request(pair: Comparison) -> None:
    md = render(pair, "markdown")
    assert md.startswith("### convscope compare: `")
    assert "| macs | 203K | 416K | +213K | +105.0% | worse |" in md
    assert "| params | 922 | 1.89K | +968 | +105.0% | worse |" in md
    assert "| rf | 5 | 5 | 0 | 0% |  |" in md
    new = md.split("New in head:")[1].split("Fixed in head:")[0]
    assert "`AR001` conv-bias-before-norm on `conv3`" in new
    assert "| `conv2` | changed | Conv2d | 584 → 1.15K (+568) | 147K → 295K (+147K) |" in md
    assert "| `act2` | removed | ReLU |" in md
    assert "4 changed, 2 added, 1 removed, 2 the same." in md


def test_html_page_is_self_contained(pair: Comparison) -> None:
    page = render(pair, "html")
    assert page.startswith("<!doctype html>") and page.rstrip().endswith("</html>")
    assert "<script src=" not in page and "<link " not in page  # nothing fetched
    assert page.count("<tr data-index=") == len(pair.layers) + len(pair.lint.findings)  # type: ignore[union-attr]
    assert page.count('data-changed="1"') == 7
    assert 'id="changed-only" data-table="layer-table" data-require="changed" checked' in page
    assert 'data-metric="macs" data-verdict="worse"' in page
    assert 'id="fig-macs"' in page
