"""Rows, totals and folding: the invariants every report relies on."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

import convscope
from convscope.analysis.build import AnalysisView, fold
from convscope.analysis.schema import SCHEMA_VERSION, to_dict

SUMMED = (
    "params",
    "trainable_params",
    "buffers",
    "param_bytes",
    "macs",
    "other_flops",
    "activation_bytes",
    "bytes_read",
    "bytes_written",
)


def _models() -> list[tuple[str, nn.Module, tuple[int, ...]]]:
    import torchvision

    out = []
    for name in ("resnet18", "mobilenet_v3_small", "vit_b_16", "densenet121"):
        with torch.device("meta"):
            out.append((name, torchvision.models.get_model(name), (1, 3, 224, 224)))
    return out


@pytest.mark.parametrize(
    ("name", "model", "shape"), _models(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_rows_sum_to_totals(name: str, model: nn.Module, shape: tuple[int, ...]) -> None:
    a = convscope.analyze(model, shape)
    for field in SUMMED:
        assert sum(getattr(r, field) for r in a.rows) == getattr(a.totals, field), field
    # every op in exactly one row; every parameter in exactly one row
    ids = [i for r in a.rows for i in r.nodes]
    assert sorted(ids) == [n.id for n in a.graph.nodes]
    assert a.totals.params == sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("depth", [0, 1, 2, 3])
def test_fold_preserves_sums(depth: int) -> None:
    import torchvision

    with torch.device("meta"):
        m = torchvision.models.resnet18()
    a = convscope.analyze(m, (1, 3, 64, 64))
    rows = fold(a.rows, depth, a.graph)
    assert all(r.depth <= depth for r in rows)
    for field in SUMMED:
        assert sum(getattr(r, field) for r in rows) == getattr(a.totals, field), field
    assert len({r.path for r in rows}) == len(rows)


def test_fold_depth_one_groups_resnet_stages() -> None:
    import torchvision

    with torch.device("meta"):
        m = torchvision.models.resnet18()
    a = convscope.analyze(m, (1, 3, 64, 64))
    paths = [r.path for r in fold(a.rows, 1, a.graph)]
    # the root row holds ResNet.forward's own torch.flatten (a view)
    assert paths == [
        "",
        "conv1",
        "bn1",
        "relu",
        "maxpool",
        "layer1",
        "layer2",
        "layer3",
        "layer4",
        "avgpool",
        "fc",
    ]
    layer1 = next(r for r in fold(a.rows, 1, a.graph) if r.path == "layer1")
    assert layer1.type_name == "Sequential"
    assert layer1.params == sum(p.numel() for p in m.layer1.parameters())


def test_json_is_versioned_deterministic_and_complete() -> None:
    m = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 36, 2))
    d1 = json.dumps(to_dict(convscope.analyze(m, (1, 3, 8, 8))))
    d2 = json.dumps(to_dict(convscope.analyze(m, (1, 3, 8, 8))))
    assert d1 == d2
    doc = json.loads(d1)
    assert doc["schema_version"] == SCHEMA_VERSION
    assert doc["totals"]["macs"] == 4 * 36 * 27 + 144 * 2
    assert doc["totals"]["flops"] == 2 * doc["totals"]["macs"]
    assert [layer["path"] for layer in doc["layers"]] == ["0", "1", "2", "3"]
    assert sum(layer["params"] for layer in doc["layers"]) == doc["totals"]["params"]
    assert doc["trace"] == {"mode": "meta", "fallback_reason": None}


def test_view_is_data_the_package_renders() -> None:
    a = convscope.analyze(nn.Conv2d(3, 4, 3), (1, 3, 8, 8), name="m")
    assert a.view() == AnalysisView(a, "auto")
    v = a.view(depth=2)
    assert v.analysis is a and v.depth == 2
    assert a.view(None).depth is None
    assert repr(v) == f"<notebook view of {a!r}, depth=2>"
    for bad in ("deep", 1.5, True):
        with pytest.raises(TypeError, match="depth must be an int, None or 'auto'"):
            a.view(bad)
    # no rendering in analysis/: the HTML is registered with IPython by the package
    assert not hasattr(a, "_repr_html_") and not hasattr(v, "_repr_html_")


def test_analysis_repr_is_one_short_line() -> None:
    a = convscope.analyze(nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU()), (1, 3, 8, 8), name="m")
    text = repr(a)
    assert text == str(a)
    assert "\n" not in text and len(text) < 120
    assert text == "<Analysis m: 112 params, 3.89K MACs, 2 layers>"  # 4·27+4; 4·6·6·27


def test_library_example_from_issue() -> None:
    a = convscope.analyze(torch.nn.Conv2d(3, 8, 3), torch.randn(1, 3, 32, 32))
    assert a.totals.params == 8 * 27 + 8
    assert a.totals.macs == 8 * 30 * 30 * 27


class _SharedConv(nn.Module):
    """One conv (one weight) run by two parents, each with its own ReLU."""

    def __init__(self) -> None:
        super().__init__()
        conv = nn.Conv2d(8, 8, 3, padding=1)
        self.a = nn.Sequential(conv, nn.ReLU())
        self.b = nn.Sequential(conv, nn.ReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.b(self.a(x))


def test_shared_conv_has_a_row_per_place_and_its_weights_once() -> None:
    a = convscope.analyze(_SharedConv(), (1, 8, 8, 8))
    per_call = 8 * 8 * 8 * 8 * 9  # C_out·H·W·C_in·k²
    assert {r.path: r.macs for r in a.rows if r.macs} == {"a.0": per_call, "b.0": per_call}
    assert a.row("a.0").params == 8 * 8 * 9 + 8 and a.row("b.0").params == 0
    assert a.totals.params == 8 * 8 * 9 + 8 and a.totals.macs == 2 * per_call
    assert a.row("a.0").calls == a.row("b.0").calls == 1
    for key in ("params", "macs", "other_flops", "activation_bytes", "bytes_read"):
        assert sum(getattr(r, key) for r in a.rows) == getattr(a.totals, key), key
    doc = to_dict(a)
    assert [layer["path"] for layer in doc["layers"] if layer["macs"]] == ["a.0", "b.0"]
