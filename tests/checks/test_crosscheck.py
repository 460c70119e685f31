"""The fvcore / FlopCounterMode reconciliation (``convscope analyze --crosscheck``).

The assertions are about conventions, not numbers: FlopCounterMode's FLOPs are 2 × MACs,
fvcore counts one flop per MAC for conv/linear and adds norms and adaptive pooling as flops
(which convscope reports as other-op FLOPs), and every difference carries a note.
"""

from __future__ import annotations

import sys

import pytest
import torch

pytest.importorskip("torchvision")
pytest.importorskip("fvcore")

from convscope.analysis.build import Analysis
from convscope.api import analyze, analyze_spec
from convscope.checks import crosscheck as cc
from convscope.errors import ConvscopeError
from convscope.ir import graph as ir
from convscope.render.analysis import crosscheck as crosscheck_text

SPEC = "torchvision:resnet18"
SHAPE = (1, 3, 64, 64)
# Op kinds that carry no MACs: the only places fvcore may legitimately differ on a CNN.
NON_CONTRACTION = {
    ir.OpKind.NORM,
    ir.OpKind.POOL,
    ir.OpKind.ADAPTIVE_POOL,
    ir.OpKind.REDUCE,
    ir.OpKind.ACTIVATION,
    ir.OpKind.ELEMENTWISE,
    ir.OpKind.UPSAMPLE,
    ir.OpKind.VIEW,
    ir.OpKind.CAT,
    ir.OpKind.COPY,
    ir.OpKind.CREATE,
    ir.OpKind.DROPOUT,
}


@pytest.fixture(scope="module")
def resnet18() -> tuple[Analysis, cc.CrossCheck]:
    a = analyze_spec(SPEC, input_shapes=[SHAPE])
    return a, cc.reconcile(SPEC, [SHAPE], analysis=a)


def test_flop_counter_mode_is_twice_convscope_macs(
    resnet18: tuple[Analysis, cc.CrossCheck],
) -> None:
    a, result = resnet18
    assert result.totals["flopcounter_flops"] == 2 * a.totals.macs
    assert result.totals["convscope_macs"] == a.totals.macs
    assert all(r.flopcounter_flops == 2 * r.convscope_macs for r in result.rows)
    assert sum(r.flopcounter_flops for r in result.rows) == result.totals["flopcounter_flops"]
    assert sum(r.convscope_macs for r in result.rows) == a.totals.macs


def test_every_difference_has_a_note(resnet18: tuple[Analysis, cc.CrossCheck]) -> None:
    _, result = resnet18
    assert result.fvcore_error is None
    for r in result.rows:
        differs = r.flopcounter_diff != 0 or r.fvcore_diff != 0
        assert r.note or not differs, r
    # Rows where fvcore reports unsupported ops say so even when no number differs.
    assert any("unsupported" in r.note for r in result.rows)


def test_fvcore_differs_only_on_norms_and_pools(resnet18: tuple[Analysis, cc.CrossCheck]) -> None:
    a, result = resnet18
    kinds = {n.id: n.kind for n in a.graph.nodes}
    differing = [r for r in result.rows if r.fvcore_diff]
    assert differing, "fvcore counts BatchNorm as flops, so some rows must differ"
    for r in differing:
        row = a.row(r.module)
        assert row.macs == 0, r
        assert {kinds[i] for i in row.nodes} <= NON_CONTRACTION, r
        assert row.other_flops > 0 and "convscope reports it as other-op FLOPs" in r.note
    # Where convscope has MACs, fvcore's one-flop-per-MAC count agrees exactly.
    assert all(r.fvcore_diff == 0 for r in result.rows if r.convscope_macs)


def test_fvcore_totals_reconcile(resnet18: tuple[Analysis, cc.CrossCheck]) -> None:
    a, result = resnet18
    t = result.totals
    assert t["fvcore_contraction_flops"] == a.totals.macs
    fv, con, other = t["fvcore_flops"], t["fvcore_contraction_flops"], t["fvcore_other_flops"]
    assert fv is not None and con is not None and other is not None
    assert fv == con + other and other > 0
    assert sum(r.fvcore_flops or 0 for r in result.rows) == fv
    text = " ".join(result.explanations)
    assert "2 × convscope MACs" in text and "equals convscope's MACs" in text
    assert "batch_norm" in text and "skipped" in text


def test_render_lists_every_row_and_the_totals(resnet18: tuple[Analysis, cc.CrossCheck]) -> None:
    _, result = resnet18
    text = crosscheck_text.render(result)
    lines = text.splitlines()
    assert lines[0].startswith(f"Cross-check: {SPEC}")
    for r in result.rows:
        assert any(line.startswith((r.module or "(root)") + " ") for line in lines), r.module
    assert any(line.startswith("TOTAL") for line in lines)
    assert "Explanations:" in text


class _Attention(torch.nn.Module):
    """Patch embedding + multi-head attention: fvcore does not count the attention itself."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = torch.nn.Conv2d(3, 32, 4, stride=4)
        self.norm = torch.nn.LayerNorm(32)
        self.attn = torch.nn.MultiheadAttention(32, 4, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = self.norm(self.embed(x).flatten(2).transpose(1, 2))
        return self.attn(t, t, t, need_weights=False)[0]


def test_attention_gap_is_explained_from_the_numbers() -> None:
    model = _Attention()
    x = torch.randn(1, 3, 32, 32)
    a = analyze(model, x)
    result = cc.reconcile_module(model, (x,), analysis=a)
    assert result.totals["flopcounter_flops"] == 2 * a.totals.macs
    row = next(r for r in result.rows if r.module == "attn")
    assert row.fvcore_diff is not None and row.fvcore_diff < 0
    # The gap is the attention product MACs convscope counts and fvcore skips.
    graph_row = a.row("attn")
    by_op: dict[str, int] = {}
    for nid in graph_row.nodes:
        node = next(n for n in a.graph.nodes if n.id == nid)
        by_op[node.op] = by_op.get(node.op, 0) + a.node_cost[nid].macs
    named = [op for op in by_op if op in row.note]
    assert named and sum(by_op[op] for op in named) == -row.fvcore_diff
    assert "scaled_dot_product_attention" in row.note
    assert model.training, "the model's train/eval flag is restored"


class _NonTensorOutput(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 8, 3)

    def forward(self, x: torch.Tensor) -> dict[str, object]:
        return {"out": self.conv(x), "count": 3}


def test_fvcore_failure_is_recorded_not_raised() -> None:
    model = _NonTensorOutput()
    x = torch.randn(1, 3, 16, 16)
    result = cc.reconcile_module(model, (x,), analysis=analyze(model, x))
    assert result.fvcore_error is not None and "\n" not in result.fvcore_error
    assert result.totals["fvcore_flops"] is None
    assert all(r.fvcore_flops is None for r in result.rows)
    assert result.totals["flopcounter_flops"] == 2 * result.totals["convscope_macs"]  # type: ignore[operator]
    assert "failed on this model" in crosscheck_text.render(result)


def test_missing_fvcore_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "fvcore.nn", None)  # makes `import fvcore.nn` fail
    model = torch.nn.Conv2d(3, 8, 3)
    x = torch.randn(1, 3, 8, 8)
    with pytest.raises(ConvscopeError, match=r"convscope\[crosscheck\]"):
        cc.reconcile_module(model, (x,), analysis=analyze(model, x))


def test_conventions_state_the_useful_work_beside_the_counted() -> None:
    from torch import nn

    class Decoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.up = nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1)
            self.fold = nn.Fold((8, 8), 3, padding=1)

        def forward(self, x: torch.Tensor, cols: torch.Tensor) -> tuple[torch.Tensor, ...]:
            y = self.up(x)  # [1, 2, 7, 7]
            small = nn.functional.interpolate(y, size=(3, 3), mode="bilinear", antialias=True)
            return small, self.fold(cols)

    model, x, cols = Decoder(), torch.randn(1, 4, 4, 4), torch.randn(1, 2 * 9, 64)
    a = analyze(model, (x, cols))
    result = cc.reconcile_module(model, (x, cols), analysis=a)
    (w,) = a.useful_work
    text = crosscheck_text.render(result)
    # transposed: 4·2·9 taps per input pixel, 16 pixels; per axis 4 × 3 pairs, 2 cropped
    assert (w.macs, w.useful_macs) == (4 * 16 * 2 * 9, 4 * 2 * 10 * 10)
    assert f"{w.macs:,} MACs counted" in text and f"{w.useful_macs:,} useful" in text
    assert any("block tap that lands inside the output" in e for e in result.explanations)
    assert any("antialiasing filter" in e for e in result.explanations)


class _CachingHead(torch.nn.Module):
    """Caches a grid computed in forward while the input size stays the same, as detection
    heads cache their anchors: traced on meta, the cache would hold a meta tensor."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.size: tuple[int, ...] | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        if self.size != tuple(y.shape):
            self.grid = torch.arange(y.shape[-1], dtype=y.dtype, device=y.device)
            self.size = tuple(y.shape)
        return y + self.grid


def test_a_forward_cache_made_on_meta_does_not_reach_fvcore() -> None:
    model = _CachingHead()
    x = torch.randn(1, 3, 16, 16)
    a = analyze(model, (1, 3, 16, 16))
    assert model.size is None and not hasattr(model, "grid")  # the model is as it was
    result = cc.reconcile_module(model, (x,), analysis=a)
    assert result.fvcore_error is None
    assert result.totals["fvcore_contraction_flops"] == a.totals.macs == 8 * 16 * 16 * 27
    assert model.size is None and not hasattr(model, "grid")
    assert "fvcore (run on real CPU tensors, the model's own weights)" in "\n".join(
        result.explanations
    )


def test_a_model_on_meta_is_counted_by_fvcore_on_a_seeded_cpu_copy() -> None:
    with torch.device("meta"):
        model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU())
    a = analyze(model, (1, 3, 16, 16))
    result = cc.reconcile_module(model, (torch.empty(1, 3, 16, 16, device="meta"),), analysis=a)
    assert result.fvcore_error is None and result.totals["fvcore_flops"] == a.totals.macs
    assert any(
        "copy of the model on meta with seeded random weights" in e for e in result.explanations
    )
    assert all(p.is_meta for p in model.parameters())  # the user's model stays on meta


class _Norms(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.inorm = torch.nn.InstanceNorm2d(8, affine=True)
        self.gnorm = torch.nn.GroupNorm(2, 8)
        self.bn = torch.nn.BatchNorm2d(8)
        self.lnorm = torch.nn.LayerNorm([8, 16, 16])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lnorm(self.bn(self.gnorm(self.inorm(self.conv(x)))))


def test_each_norm_is_set_beside_the_work_convscope_recorded_for_it() -> None:
    """InstanceNorm reaches ATen as a batch norm on input statistics: it is still set beside
    fvcore's instance_norm, not reported as 0 while its row carries the FLOPs."""
    model = _Norms()
    a = analyze(model, (1, 3, 16, 16))
    result = cc.reconcile_module(model, (torch.randn(1, 3, 16, 16),), analysis=a)
    text = "\n".join(result.explanations)
    for family, path in [
        ("instance_norm", "inorm"),
        ("group_norm", "gnorm"),
        ("batch_norm", "bn"),
        ("layer_norm", "lnorm"),
    ]:
        flops = a.row(path).other_flops
        assert flops > 0
        assert f"other-op FLOPs ({flops:,}, 1.00× convscope's)" in next(
            line for line in text.splitlines() if f"counts {family} as" in line
        )
    assert "no counterpart in fvcore" not in text  # every norm FLOP is matched
