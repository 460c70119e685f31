"""The networks ``benchmarks/design_evidence.py`` trains are the ones its tables describe:
which convs are 1×1, their receptive fields (hand counts), what convscope's lint says
about them, and that the BatchNorm fold and the spatialize rewrite keep the function. No
training here: the accuracies are the benchmark's to measure."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
import torch
from torch import nn

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "design_evidence.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("design_evidence", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their module by name
    spec.loader.exec_module(module)
    return module


de = _load()
VARIANTS = {v.name: v for v in de.plain_variants()}


def _conv(model: nn.Module, i: int) -> nn.Conv2d:
    conv = model.get_submodule(de.conv_path(i))
    assert isinstance(conv, nn.Conv2d)
    return conv


def _kernels(model: nn.Module) -> list[int]:
    return [_conv(model, i).kernel_size[0] for i in range(6)]


@pytest.mark.parametrize("k", range(7))
def test_prefix_variant_replaces_exactly_the_first_k_convs(k: int) -> None:
    name = f"first {k} → 1×1" if k else "reference (3×3)"
    model = VARIANTS[name].build(0)
    assert _kernels(model) == [1] * k + [3] * (6 - k)
    ref = VARIANTS["reference (3×3)"].build(0)
    for i in range(6):  # same channels, strides and padding that keeps the map size
        a, b = _conv(model, i), _conv(ref, i)
        assert (a.in_channels, a.out_channels, a.stride) == (
            b.in_channels,
            b.out_channels,
            b.stride,
        )
        assert a.padding[0] == a.kernel_size[0] // 2


def test_window_and_suffix_variants() -> None:
    for j in (1, 2, 3):
        model = VARIANTS[f"convs {j}–{j + 2} → 1×1"].build(0)
        assert _kernels(model) == [1 if j <= i < j + 3 else 3 for i in range(6)]
    assert _kernels(VARIANTS["last 2 → 1×1"].build(0)) == [3, 3, 3, 3, 1, 1]


def test_builders_are_seeded_and_leave_the_global_rng_alone() -> None:
    state = torch.random.get_rng_state()
    a, b = VARIANTS["reference (3×3)"].build(3), VARIANTS["reference (3×3)"].build(3)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))


def test_receptive_fields_match_hand_counts() -> None:
    # 3×3 convs, strides 1, 2, 1, 2, 1, 1: r += 2·jump, jump doubles after a stride-2 conv
    rf = de.receptive_fields(VARIANTS["reference (3×3)"].build(0))
    assert [rf[de.conv_path(i)] for i in range(6)] == [3, 5, 9, 13, 21, 29]
    # convs 1–3 as 1×1: 3 after conv 0, then 3 + 2·4 and 3 + 4·4 (jump 4 after two strides)
    rf = de.receptive_fields(VARIANTS["convs 1–3 → 1×1"].build(0))
    assert [rf[de.conv_path(i)] for i in range(6)] == [3, 3, 3, 3, 11, 19]


def test_rf002_fires_on_early_replacement_only() -> None:
    assert "RF002" not in de.lint_model(VARIANTS["reference (3×3)"].build(0)).codes
    assert "RF002" not in de.lint_model(VARIANTS["convs 3–5 → 1×1"].build(0)).codes
    for name in ("first 4 → 1×1", "convs 1–3 → 1×1"):
        summary = de.lint_model(VARIANTS[name].build(0))
        assert "RF002" in summary.codes, name
        assert any(f["rewrite"] for f in summary.rf002)


def test_spatialize_rewrite_of_the_flagged_variant() -> None:
    flagged = VARIANTS["first 4 → 1×1"].build(0)
    command = next(f["rewrite"] for f in de.lint_model(flagged).rf002 if f["rewrite"])
    only, mode = de.rewrite_only(command)
    assert mode == "spatialize" and only == [de.conv_path(i) for i in (1, 2, 3)]
    x = torch.rand(2, *de.INPUT[1:], generator=torch.Generator().manual_seed(0))
    for frozen in (False, True):
        new = de.spatialized(flagged, command, frozen, seed=0)
        dws = [m for m in new.modules() if isinstance(m, nn.Conv2d) and m.groups > 1]
        assert [(m.in_channels, m.kernel_size) for m in dws] == [
            (8, (3, 3)),
            (16, (3, 3)),
            (16, (3, 3)),
        ]
        assert all(m.weight.requires_grad is not frozen for m in dws)
        if not frozen:  # identity-initialised: the same function until it is trained
            with torch.no_grad():
                torch.testing.assert_close(new.eval()(x), flagged.eval()(x))
    assert _kernels(flagged) == [1, 1, 1, 1, 3, 3]  # the original is untouched


def test_separable_widths_and_dw001() -> None:
    narrow, wide = (v.build(0) for v in de.separable_variants())
    widths = [m.in_channels for m in narrow.modules() if de.is_depthwise(m)]
    assert widths == [de.NARROW] * 5
    assert [m.in_channels for m in wide.modules() if de.is_depthwise(m)] == [de.WIDE] * 5
    assert de.lint_model(narrow, "edge-int8").codes.count("DW001") == 5
    assert "DW001" not in de.lint_model(wide, "edge-int8").codes


def test_batchnorm_fold_keeps_the_function_and_quantization_is_int8() -> None:
    model = de.separable_variants()[0].build(0)
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():  # non-trivial statistics, as after training
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                assert m.running_mean is not None and m.running_var is not None
                m.running_mean.uniform_(-0.5, 0.5, generator=gen)
                m.running_var.uniform_(0.5, 2.0, generator=gen)
                m.weight.uniform_(0.5, 1.5, generator=gen)
    x = torch.rand(4, *de.INPUT[1:], generator=gen)
    folded = de.fold_batchnorm(model)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in folded.modules())
    with torch.no_grad():
        torch.testing.assert_close(folded(x), model.eval()(x), rtol=1e-4, atol=1e-5)
    w = torch.randn(6, 4, 3, 3, generator=gen)
    scales = {
        "per-tensor": w.abs().max() / 127,
        "per-channel": w.reshape(6, -1).abs().amax(1, keepdim=True) / 127,
    }
    for scheme, scale in scales.items():
        levels = de.fake_quant_weight(w, scheme).reshape(6, -1) / scale
        assert torch.allclose(levels, levels.round(), atol=1e-3)  # on the ±127 grid
        assert float(levels.abs().max()) <= 127 + 1e-3
        assert not torch.equal(de.fake_quant_weight(w, scheme), w)


def test_task_composition() -> None:
    digits = torch.ones(5, 1, de.DIGIT, de.DIGIT)
    x = de.compose(digits, torch.Generator().manual_seed(0))
    assert x.shape == (5, 1, de.CANVAS, de.CANVAS)
    assert float(x.min()) >= 0.0 and float(x.max()) <= 1.0
    # the whole digit is on the canvas: at least DIGIT² fully lit pixels
    assert all(int((img == 1.0).sum()) >= de.DIGIT**2 for img in x)
