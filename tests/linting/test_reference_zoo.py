"""The default gate passes published designs: a pinned subset of the reference zoo that
``benchmarks/lint_zoo.py`` measures in full (``benchmarks/RESULTS.md``). A rule change
that fails one of them fails here."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from convscope.cli.app import main

#: One model per family the rules were once wrong about (see the zoo's before/after).
PINNED = (
    "torchvision:resnet50",  # RF005: ResNet-B shortcuts beside a 3×3/s2 branch
    "torchvision:mobilenet_v2",  # DW001: the first block after a 3→32 stem
    "torchvision:shufflenet_v2_x1_0",  # DW001: 58-channel depthwise by design
    "torchvision:densenet121",  # QF003: pre-activation BatchNorm (a deployment concern)
    "torchvision:swin_t",  # RF005: patch merging slices every phase
    "timm:resnet50d",  # RF004: ResNet-D's quarter-pixel average-pool shortcut
    "timm:repvgg_a0",  # RF005/QF003/RF002: reparameterizable branches
    "timm:ghostnet_100",  # DW001/DW002: cheap operations, concat then 1×1
    "timm:convmixer_768_32",  # DW002: residual depthwise then a 1×1
    "timm:fastvit_t8",  # RF002: the 1×1 after a depthwise stem
)


@pytest.mark.slow
def test_default_gate_passes_the_pinned_reference_designs() -> None:
    pytest.importorskip("timm")
    result = CliRunner().invoke(main, ["lint", *PINNED, "--format", "json"])
    assert result.exit_code in (0, 1), result.output
    doc = json.loads(result.stdout)
    failing = {
        m["model"]: sorted(
            {f["code"] for f in m["findings"] if f["severity"] in ("warning", "error")}
        )
        for m in doc["models"]
    }
    assert {k: v for k, v in failing.items() if v} == {}
    assert result.exit_code == 0
