"""The result's JSON and text forms."""

from __future__ import annotations

import json

import torch

import convscope
from convscope.analysis.rf import with_receptive_field
from convscope.analysis.schema import to_dict
from convscope.passes.keys import RECEPTIVE_FIELD


def test_json_and_text() -> None:
    import torchvision

    with torch.device("meta"):
        m = torchvision.models.resnet18()
    a = with_receptive_field(convscope.analyze(m, (1, 3, 224, 224)))
    assert convscope.analyze(m, (1, 3, 64, 64)).section(RECEPTIVE_FIELD) is None
    doc = json.loads(json.dumps(to_dict(a)))
    top = doc["receptive_field"]
    assert top["size"] == [435, 435] and top["stride"] == [32, 32] and top["is_global"]
    assert top["input_size"] == [224, 224] and top["covers_input"] is True
    assert top["misalignments"] == []
    layer4 = next(row for row in doc["layers"] if row["path"] == "layer4.1.conv2")
    assert layer4["rf"]["size"] == [435, 435]
    assert set(layer4["rf"]) == {"size", "min_size", "stride", "padding", "center_offset", "global"}
    text = a.need(RECEPTIVE_FIELD).summary_text()
    assert text.startswith("output RF 435×435 (stride 32) covers the 224×224 input")
    assert text.endswith("0 misaligned merges")
