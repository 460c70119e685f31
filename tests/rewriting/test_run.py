"""Separable / spatialize rewrites: closed-form savings, SVD-exact weight errors, identity
spatialize, verification, and the original model left untouched."""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from convscope import api
from convscope.model.materialize import materialize
from convscope.rewriting.apply import (
    build_separable,
    export_program,
    reconstruct,
    separable_factors,
    state_dict_path,
)
from convscope.rewriting.plan import (
    RewriteError,
    VerificationError,
    make_plan,
    split_globs,
)
from convscope.rewriting.run import rewrite
from convscope.rewriting.verify import verify


class Net(nn.Module):
    """stem 1×1 → dense 3×3 (stride 2) → depthwise 3×3 → dense 5×5 → head."""

    def __init__(self, c: int = 8) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, c, 1)
        self.body = nn.Sequential(
            nn.Conv2d(c, 2 * c, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(2 * c),
            nn.ReLU(),
            nn.Conv2d(2 * c, 2 * c, 3, padding=1, groups=2 * c),
            nn.Conv2d(2 * c, 12, 5, padding=2, dilation=1, padding_mode="reflect"),
        )
        self.head = nn.Linear(12, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(self.stem(x)).mean((2, 3)))


def one_conv(c_in: int, c_out: int, k: int, *, bias: bool = False, **kw: Any) -> nn.Module:
    return nn.Sequential(nn.Conv2d(c_in, c_out, k, padding=k // 2, bias=bias, **kw))


def svd_error(w: torch.Tensor, m: int) -> float:
    """sqrt(Σ discarded σ²) / ‖W‖ from per-input-channel singular values, independently."""
    c_out, c_in = w.shape[:2]
    slices = w.detach().double().transpose(0, 1).reshape(c_in, c_out, -1)
    s = torch.linalg.svdvals(slices)
    return float(s[:, m:].square().sum().sqrt() / w.detach().double().norm())


# --------------------------------------------------------------------------- plan


@pytest.mark.parametrize(
    ("c_in", "c_out", "k", "hw"),
    [(256, 256, 3, 8), (64, 128, 3, 16), (3, 32, 7, 12), (16, 8, 5, 6)],
)
def test_plan_matches_article_closed_forms(c_in: int, c_out: int, k: int, hw: int) -> None:
    analysis = api.analyze(one_conv(c_in, c_out, k).to("meta"), (1, c_in, hw, hw))
    (p,) = make_plan(analysis).layers
    assert p.params_before == k * k * c_in * c_out
    assert p.params_after == k * k * c_in + c_in * c_out
    assert p.macs_before == k * k * c_in * c_out * hw * hw
    assert p.macs_after == (k * k * c_in + c_in * c_out) * hw * hw


def test_plan_article_example_literals() -> None:
    """Background article 001: 3×3, 256 → 256 is 589,824 → 67,840 weights (≈ 8.7×)."""
    analysis = api.analyze(one_conv(256, 256, 3).to("meta"), (1, 256, 14, 14))
    plan = make_plan(analysis)
    (p,) = plan.layers
    assert (p.params_before, p.params_after) == (589_824, 67_840)
    assert (p.macs_before, p.macs_after) == (589_824 * 196, 67_840 * 196)
    assert plan.params_before - plan.params_after == 589_824 - 67_840
    assert p.savings == pytest.approx(1 - 67_840 / 589_824)


def test_plan_multiplier_bias_and_selection() -> None:
    analysis = api.analyze(Net().to("meta"), (2, 3, 16, 16))
    plan = make_plan(analysis, multiplier=2)
    assert [p.path for p in plan.layers] == ["body.0", "body.4"]
    conv = plan.layers[1]  # 16 → 12, 5×5, bias, at 8×8, batch 2
    assert conv.params_after == 2 * 16 * 25 + 2 * 16 * 12 + 12
    assert conv.macs_after == 2 * 64 * (2 * 16 * 25 + 2 * 16 * 12)
    # The 1×1 stem and the depthwise conv are not separable candidates and not listed.
    assert plan.skipped == ()
    only = make_plan(analysis, only="body.*,stem")
    assert [p.path for p in only.layers] == ["body.0", "body.4"]
    assert {s.path for s in only.skipped} == {"stem", "body.3"}
    assert [p.path for p in make_plan(analysis, only=["body"]).layers] == ["body.0", "body.4"]
    assert split_globs(["a,b", " c ", "a"]) == ("a", "b", "c")


def test_plan_errors() -> None:
    analysis = api.analyze(Net().to("meta"), (1, 3, 16, 16))
    with pytest.raises(RewriteError, match=r"no layer matches 'nothing\.\*'"):
        make_plan(analysis, only="nothing.*")
    with pytest.raises(RewriteError, match="no layer to rewrite"):
        make_plan(analysis, only="body.3")  # depthwise only
    with pytest.raises(RewriteError, match="below --min-savings"):
        make_plan(analysis, only="body.0", min_savings=0.99)
    with pytest.raises(RewriteError, match="separable mode only"):
        make_plan(analysis, mode="spatialize", multiplier=2)
    with pytest.raises(RewriteError, match="unknown rewrite mode"):
        make_plan(analysis, mode="prune")


def test_min_savings_keeps_large_savers() -> None:
    analysis = api.analyze(Net().to("meta"), (1, 3, 16, 16))
    everything = make_plan(analysis)
    threshold = (everything.layers[0].savings + everything.layers[1].savings) / 2
    kept = make_plan(analysis, min_savings=threshold)
    assert len(kept.layers) == 1 and kept.layers[0].savings >= threshold
    assert len(kept.skipped) == 1 and "min-savings" in kept.skipped[0].reason


# --------------------------------------------------------------------------- factorization


def test_exactly_separable_kernel_is_reconstructed() -> None:
    torch.manual_seed(1)
    dw, pw = torch.randn(16, 1, 3, 3), torch.randn(24, 16)
    model = one_conv(16, 24, 3)
    with torch.no_grad():
        model[0].weight.copy_(pw[:, :, None, None] * dw[:, 0][None])  # W[o,c] = pw[o,c]·dw[c]
    result = rewrite(model, torch.randn(1, 16, 12, 12))
    assert result.plan[0].weight_error is not None and result.plan[0].weight_error < 1e-6
    assert result.verification.rel_l2_deviation < 1e-5


@pytest.mark.parametrize(
    ("shape", "m"),
    [
        ((32, 16, 3, 3), 1),
        ((32, 16, 3, 3), 2),
        ((6, 5, 5, 5), 3),
        ((8, 4, 7), 2),
        ((4, 3, 3, 3, 3), 1),
    ],
)
def test_random_kernel_error_is_what_the_svd_predicts(shape: tuple[int, ...], m: int) -> None:
    w = torch.randn(shape, generator=torch.Generator().manual_seed(sum(shape)))
    f = separable_factors(w, m)
    expected = svd_error(w, m)
    measured = float(
        (w.double() - reconstruct(f.depthwise, f.pointwise, shape[1])).norm() / w.double().norm()
    )
    assert measured == pytest.approx(expected, rel=1e-5)
    assert f.predicted_error == pytest.approx(expected, rel=1e-9)
    assert f.depthwise.shape == (shape[1] * m, 1, *shape[2:])
    assert f.pointwise.shape == (shape[0], shape[1] * m, *([1] * (len(shape) - 2)))


def test_layer_error_in_rewrite_equals_svd_prediction() -> None:
    torch.manual_seed(2)
    model = Net()
    result = rewrite(model, (1, 3, 16, 16), multiplier=2)
    for p in result.plan:
        weight = model.get_submodule(p.path).weight
        assert p.weight_error == pytest.approx(svd_error(weight, 2), rel=1e-5)


@pytest.mark.parametrize("kw", [{}, {"stride": 2, "dilation": 2}, {"padding_mode": "reflect"}])
def test_full_multiplier_reconstructs_any_kernel(kw: dict[str, object]) -> None:
    torch.manual_seed(3)
    model = one_conv(6, 10, 3, bias=True, **kw)
    result = rewrite(model, torch.randn(2, 6, 11, 11), multiplier=9)
    assert result.plan[0].weight_error is not None and result.plan[0].weight_error < 1e-5
    assert result.verification.max_abs_deviation < 1e-4


def test_full_multiplier_on_a_whole_model() -> None:
    torch.manual_seed(4)
    result = rewrite(Net(), (2, 3, 16, 16), multiplier=25)  # ≥ k² for both convs
    assert all(p.weight_error is not None and p.weight_error < 1e-5 for p in result.plan)
    assert result.verification.max_abs_deviation < 1e-4


def test_conv1d_and_conv3d() -> None:
    torch.manual_seed(5)
    for model, shape in (
        (nn.Sequential(nn.Conv1d(4, 8, 5, padding=2), nn.ReLU(), nn.Conv1d(8, 8, 3)), (1, 4, 20)),
        (nn.Sequential(nn.Conv3d(2, 6, 3, padding=1)), (1, 2, 5, 6, 7)),
    ):
        result = rewrite(model, shape, multiplier=27)
        assert result.verification.ok
        assert result.verification.max_abs_deviation < 1e-4


def test_build_separable_structure() -> None:
    conv = nn.Conv2d(4, 6, 3, stride=2, padding=1, dilation=1, padding_mode="circular")
    seq, error = build_separable(conv, 2)
    dw, pw = seq[0], seq[1]
    assert isinstance(dw, nn.Conv2d) and isinstance(pw, nn.Conv2d)
    assert (dw.in_channels, dw.out_channels, dw.groups, dw.bias) == (4, 8, 4, None)
    assert (dw.stride, dw.padding, dw.padding_mode) == ((2, 2), (1, 1), "circular")
    assert pw.kernel_size == (1, 1) and pw.bias is not None
    assert torch.equal(pw.bias, conv.bias)
    assert error is not None and 0 < error < 1


# --------------------------------------------------------------------------- spatialize


class Trap(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Conv2d(3, 8, 1)
        self.b = nn.Conv2d(8, 8, 1, stride=2, bias=False)
        self.c = nn.Conv2d(8, 8, 3, padding=1)
        self.d = nn.Conv2d(8, 4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.d(self.c(torch.relu(self.b(torch.relu(self.a(x))))))


def test_spatialize_preserves_the_function() -> None:
    torch.manual_seed(6)
    model = Trap()
    x = torch.randn(2, 3, 17, 15)
    result = rewrite(model, x, mode="spatialize")
    assert [p.path for p in result.plan] == ["a", "b"]  # before the first 3×3 only
    with torch.no_grad():
        assert torch.allclose(result.model(x), model(x), atol=1e-6, rtol=0)
    assert result.verification.function_preserving
    assert result.verification.max_abs_deviation <= 1e-6
    a, b = result.plan
    assert a.params_after - a.params_before == 3 * 9
    assert b.move_stride  # the stride moved to the depthwise conv: cost at the output size
    assert b.macs_after - b.macs_before == 2 * 9 * 8 * 8 * 9  # batch 2, 9×8 out, 8 ch, 3×3
    assert a.rf_before == (1, 1) and a.rf_after == (3, 3)
    assert b.rf_before == (1, 1) and b.rf_after == (5, 5)
    assert result.model.b[0].stride == (2, 2) and result.model.b[1].stride == (1, 1)


def test_spatialize_selection_by_glob_and_rf_gain_at_stride() -> None:
    torch.manual_seed(7)
    result = rewrite(Trap(), (1, 3, 16, 16), mode="spatialize", only="d")
    (p,) = result.plan
    # d runs at effective stride 2 after one 3×3 conv (RF 1 + 2·2 = 5): 5 → 5 + 2·2.
    assert p.rf_stride == (2.0, 2.0)
    assert p.rf_before == (5, 5) and p.rf_after == (9, 9)
    assert result.verification.max_abs_deviation <= 1e-6


def test_spatialize_rf_comes_from_the_receptive_pass_on_the_grown_graph() -> None:
    # Trap: a (1×1), b (1×1, stride 2), c (3×3), d (1×1). Hand values: growing b to 3×3
    # at stride 1 adds 2 px; d then runs at stride 2 after c, so its 3×3 adds 2·2 px.
    analysis = api.analyze(Trap().to("meta"), (1, 3, 16, 16))
    plan = make_plan(analysis, mode="spatialize", only="b,d")
    rf = {p.path: (p.rf_before, p.rf_after) for p in plan.layers}
    whole = api.receptive_field(Trap().to("meta"), (1, 3, 16, 16))
    assert rf["b"][0] == tuple(round(s) for s in whole.per_layer["b"].size) == (1, 1)
    assert rf["b"][1] == (3, 3)
    assert rf["d"][0] == tuple(round(s) for s in whole.per_layer["d"].size)
    assert rf["d"][1][0] - rf["d"][0][0] == 2 + 2 * 2  # b's gain plus d's own at stride 2


def test_frozen_spatial() -> None:
    torch.manual_seed(8)
    model = Net()
    result = rewrite(model, (1, 3, 16, 16), frozen_spatial=True)
    for p in result.plan:
        dw = result.model.get_submodule(p.path)[0]
        assert not dw.weight.requires_grad and p.weight_error is None
        assert p.frozen_params_after == dw.weight.numel()
    assert result.verification.trainable_measured == result.full_plan.trainable_after
    assert result.verification.params_measured - result.verification.trainable_measured == sum(
        p.frozen_params_after for p in result.plan
    )
    assert "frozen" in result.full_plan.notes[0]
    spatial = rewrite(Trap(), (1, 3, 8, 8), mode="spatialize", frozen_spatial=True)
    assert not spatial.verification.function_preserving
    assert not spatial.model.a[0].weight.requires_grad


# --------------------------------------------------------------------------- safety


def test_original_model_is_not_modified() -> None:
    torch.manual_seed(9)
    model = Net().train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    structure = repr(model)
    flags = [m.training for m in model.modules()]
    result = rewrite(model, (2, 3, 16, 16), only="body.*")
    assert repr(model) == structure
    assert [m.training for m in model.modules()] == flags
    after = model.state_dict()
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert isinstance(model.body[0], nn.Conv2d)
    assert isinstance(result.model.body[0], nn.Sequential)
    assert result.model.training  # flags carried over to the new model


def test_meta_model_gets_random_weights() -> None:
    model = Net().to("meta")
    result = rewrite(model, (1, 3, 16, 16))
    assert result.weights.startswith("random")
    assert all(p.is_meta for p in model.parameters())
    assert not any(p.is_meta for p in result.model.parameters())
    copied = materialize(model)
    assert copied.random and torch.isfinite(copied.module.body[1].running_var).all()


def test_shared_conv_counted_per_call() -> None:
    class Shared(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(8, 8, 3, padding=1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.conv(torch.relu(self.conv(x)))

    result = rewrite(Shared(), (1, 8, 6, 6), multiplier=9)
    (p,) = result.plan
    assert p.calls == 2 and p.macs_before == 2 * 8 * 8 * 9 * 36
    assert result.verification.ok and result.verification.max_abs_deviation < 1e-4


def test_verify_reports_a_wrong_prediction() -> None:
    model = Net()
    args = api.as_inputs((1, 3, 16, 16))
    analysis = api.analyze(model, args)
    plan = make_plan(analysis)
    bad = dataclasses.replace(
        plan, layers=(dataclasses.replace(plan.layers[0], macs_after=1), *plan.layers[1:])
    )
    new = copy.deepcopy(model)
    from convscope.rewriting.apply import apply_plan_inplace

    apply_plan_inplace(new, plan)
    check = verify(new, args, bad, analysis, None, None)
    assert not check.ok
    assert any("MACs" in p for p in check.problems)
    assert any("layer body.0" in p for p in check.problems)
    assert issubclass(VerificationError, RewriteError)


def test_top_level_rewrite_is_callable_and_result_serializes() -> None:
    import convscope
    import convscope.rewriting.run

    result = convscope.rewrite(Net(), (1, 3, 16, 16), only="body.0")
    doc = json.loads(json.dumps(result.to_dict()))
    assert doc["kind"] == "rewrite" and doc["verification"]["ok"]
    assert doc["layers"][0]["params_after"] == 8 * 9 + 8 * 16
    assert doc["totals"]["params_after"] == result.verification.params_measured


def test_export_failure_writes_nothing(tmp_path: Path) -> None:
    class DataDependent(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x * 2 if x.sum().item() > 0 else x  # torch.export cannot guard on this

    out = tmp_path / "m.pt2"
    with pytest.raises(RewriteError, match=r"torch\.export failed"):
        export_program(DataDependent(), (torch.ones(1, 3),), out)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(RewriteError, match=r"\.pt2"):
        export_program(DataDependent(), (torch.ones(1, 3),), tmp_path / "m.pt")
    assert state_dict_path("a/b.pt2") == Path("a/b.state_dict.pt")


def test_export_roundtrip(tmp_path: Path) -> None:
    torch.manual_seed(10)
    result = rewrite(Net(), (1, 3, 16, 16))
    program_path, state_path = export_program(result.model, result.inputs, tmp_path / "n.pt2")
    program = torch.export.load(program_path)
    with torch.no_grad():
        expected = result.model.eval()(*result.inputs.args)
    assert torch.allclose(program.module()(*result.inputs.args), expected, atol=1e-6)
    state = torch.load(state_path, weights_only=True)
    assert state.keys() == result.model.state_dict().keys()
    unique = {id(p): p.numel() for p in program.module().parameters()}
    assert sum(unique.values()) == result.full_plan.params_after
    analysis = analyze_program(program_path)
    assert analysis.totals.params == result.full_plan.params_after
    assert analysis.totals.macs == result.full_plan.macs_after


def test_exported_program_takes_any_batch_size(tmp_path: Path) -> None:
    """The example batch is 1, but users run the saved program on batches: dim 0 is dynamic."""
    torch.manual_seed(11)
    result = rewrite(Net(), (1, 3, 16, 16))
    program_path, _ = export_program(result.model, result.inputs, tmp_path / "n.pt2")
    module = torch.export.load(program_path).module()
    batch = torch.randn(5, 3, 16, 16)
    with torch.no_grad():
        expected = result.model.eval()(batch)
    assert torch.allclose(module(batch), expected, atol=1e-5)


class _FixedBatch(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x).reshape(1, -1)  # the batch size is baked into the code


def test_a_model_with_a_fixed_batch_still_exports(tmp_path: Path) -> None:
    model = _FixedBatch().eval()
    x = torch.randn(1, 3, 8, 8)
    program_path, _ = export_program(model, (x,), tmp_path / "f.pt2")
    module = torch.export.load(program_path).module()
    assert torch.allclose(module(x), model(x))


def analyze_program(path: Path) -> api.Analysis:
    """``analyze`` on a saved .pt2 (an unlifted torch.export module)."""
    return api.analyze_spec(str(path))
