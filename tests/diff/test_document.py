"""The ``diff --format json`` document."""

from __future__ import annotations

import json

from diff_docs import golden_pair

from convscope.diff.compare import diff_reports
from convscope.diff.document import as_dict
from convscope.diff.gate import check, parse_thresholds


def test_as_dict_is_json_ready() -> None:
    base, head = golden_pair()
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
