"""MAC and other-op counts per op family: hand-computed, and against FlopCounterMode."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

import convscope
from convscope.analysis.schema import to_dict as analysis_document
from convscope.ir import graph as ir


def flopcounter(model: nn.Module, *inputs: torch.Tensor) -> int:
    """FlopCounterMode's total on meta tensors (on CPU it misses fused attention kernels)."""
    meta = torch.func.functional_call
    params = {k: torch.empty_like(v, device="meta") for k, v in model.state_dict().items()}
    with FlopCounterMode(display=False) as fc, torch.no_grad():
        meta(model.eval(), params, tuple(i.to("meta") for i in inputs))
    return int(fc.get_total_flops())


class Fn(nn.Module):
    """Wraps a function of the input so functional calls can be analyzed."""

    def __init__(self, fn: Callable[..., torch.Tensor], **params: torch.Tensor) -> None:
        super().__init__()
        self.fn = fn
        for k, v in params.items():
            self.register_parameter(k, nn.Parameter(v))

    def forward(self, *x: torch.Tensor) -> torch.Tensor:
        return self.fn(self, *x)


CASES: list[tuple[str, nn.Module, tuple[tuple[int, ...], ...], int]] = [
    # name, module, input shapes, MACs computed by hand
    (
        "conv2d 64→128 3×3",
        nn.Conv2d(64, 128, 3, padding=1),
        ((1, 64, 14, 14),),
        128 * 14 * 14 * 64 * 9,
    ),
    ("conv1d", nn.Conv1d(4, 6, 5), ((2, 4, 20),), 2 * 6 * 16 * 4 * 5),
    ("conv3d", nn.Conv3d(2, 3, (3, 3, 3)), ((1, 2, 5, 6, 7),), 3 * (3 * 4 * 5) * 2 * 27),
    ("grouped", nn.Conv2d(8, 16, 3, groups=4), ((1, 8, 10, 10),), 16 * 64 * 2 * 9),
    ("depthwise", nn.Conv2d(32, 32, 3, padding=1, groups=32), ((1, 32, 8, 8),), 32 * 64 * 9),
    ("dilated", nn.Conv2d(4, 4, 3, dilation=2), ((1, 4, 12, 12),), 4 * 64 * 4 * 9),
    (
        "strided asym",
        nn.Conv2d(3, 5, (1, 7), stride=(2, 1), padding=(0, 3)),
        ((1, 3, 9, 9),),
        5 * (5 * 9) * 3 * 7,
    ),
    ("linear", nn.Linear(10, 20), ((3, 10),), 3 * 10 * 20),
    ("linear 3d", nn.Linear(16, 32), ((2, 5, 16),), 2 * 5 * 16 * 32),
    ("matmul", Fn(lambda m, x: x @ m.w, w=torch.randn(6, 7)), ((4, 6),), 4 * 6 * 7),
    ("bmm", Fn(lambda m, x: torch.bmm(x, x.transpose(1, 2))), ((3, 4, 5),), 3 * 4 * 5 * 4),
    ("einsum", Fn(lambda m, x: torch.einsum("bij,bkj->bik", x, x)), ((2, 3, 8),), 2 * 3 * 8 * 3),
    (
        "functional conv",
        Fn(lambda m, x: F.conv2d(x, m.w), w=torch.randn(4, 3, 3, 3)),
        ((1, 3, 6, 6),),
        4 * 16 * 3 * 9,
    ),
    (
        "sdpa",
        Fn(lambda m, q: F.scaled_dot_product_attention(q, q, q)),
        ((2, 4, 10, 8),),
        2 * 4 * 10 * 10 * (8 + 8),
    ),
]


@pytest.mark.parametrize(("name", "module", "shapes", "macs"), CASES, ids=[c[0] for c in CASES])
def test_macs_hand_computed_and_flopcounter(
    name: str, module: nn.Module, shapes: tuple[tuple[int, ...], ...], macs: int
) -> None:
    a = convscope.analyze(module, tuple(torch.empty(s, device="meta") for s in shapes))
    assert a.totals.macs == macs
    assert a.totals.flops == 2 * macs
    assert flopcounter(module, *(torch.randn(s) for s in shapes)) == 2 * macs
    assert not a.unknown


def test_fused_cpu_attention_kernel_is_counted() -> None:
    # On real CPU tensors SDPA runs the fused _scaled_dot_product_flash_attention_for_cpu
    # kernel; convscope has a formula for it. FlopCounterMode counted it as 0 before torch
    # 2.15 and counts it since, so the peer is only held to agree when it counts at all.
    m = Fn(lambda m, q: F.scaled_dot_product_attention(q, q, q))
    q = torch.randn(2, 4, 10, 8)
    a = convscope.analyze(m, (q,), device="cpu")
    assert a.graph.mode == "cpu"
    assert [n.kind for n in a.graph.nodes if n.kind is ir.OpKind.ATTENTION] == [ir.OpKind.ATTENTION]
    assert a.totals.macs == 2 * 4 * 10 * 10 * 16
    with FlopCounterMode(display=False) as fc:
        m(q)
    assert fc.get_total_flops() in (0, 2 * a.totals.macs)


def test_transposed_conv_counts_input_side() -> None:
    # ConvTranspose2d 8→4, 2×2, stride 2 on 8×8: every input value times 4·4 weights.
    m = nn.ConvTranspose2d(8, 4, 2, stride=2)
    a = convscope.analyze(m, (1, 8, 8, 8))
    assert a.totals.macs == 8 * 64 * 4 * 4
    assert a.output_shapes == ((1, 4, 16, 16),)
    assert a.totals.params == 8 * 4 * 4 + 4


def test_transposed_grouped_conv() -> None:
    m = nn.ConvTranspose2d(8, 6, 3, stride=2, padding=1, output_padding=1, groups=2)
    a = convscope.analyze(m, (1, 8, 5, 5))
    assert a.totals.macs == 8 * 25 * 3 * 9
    assert a.totals.params == 8 * 3 * 9 + 6


def test_params_match_hand_count_conv_and_bias() -> None:
    a = convscope.analyze(nn.Conv2d(64, 128, 3), (1, 64, 8, 8))
    assert a.totals.params == 73_856
    assert a.totals.trainable_params == 73_856


def test_frozen_params_and_buffers() -> None:
    m = nn.Sequential(nn.Conv2d(3, 4, 3, bias=False), nn.BatchNorm2d(4))
    m[0].weight.requires_grad_(False)
    a = convscope.analyze(m, (1, 3, 8, 8))
    assert a.totals.params == 3 * 4 * 9 + 8
    assert a.totals.frozen_params == 3 * 4 * 9
    assert a.totals.buffers == 4 + 4 + 1  # running mean, running var, num_batches_tracked


@pytest.mark.parametrize(
    ("module", "shape", "other"),
    [
        (nn.BatchNorm2d(4), (1, 4, 5, 5), 2 * 100),  # inference: scale + shift
        (nn.LayerNorm(6), (2, 3, 6), 5 * 36),
        (nn.GroupNorm(2, 4), (1, 4, 3, 3), 5 * 36),
        (nn.ReLU(), (1, 4, 5, 5), 100),
        (nn.MaxPool2d(2), (1, 2, 4, 4), 8 * 4),
        (nn.AvgPool2d(3, stride=1, padding=1), (1, 1, 4, 4), 16 * 9),
        (nn.AdaptiveAvgPool2d(1), (1, 3, 4, 4), 48),
        (nn.Softmax(dim=-1), (2, 10), 5 * 20),
        (nn.Upsample(scale_factor=2, mode="nearest"), (1, 1, 4, 4), 0),
        (nn.Upsample(scale_factor=2, mode="bilinear"), (1, 1, 4, 4), 2 * 4 * 64),
    ],
)
def test_other_ops_are_not_macs(module: nn.Module, shape: tuple[int, ...], other: int) -> None:
    a = convscope.analyze(module, shape)
    assert a.totals.macs == 0
    assert a.totals.other_flops == other
    assert not a.unknown


def test_views_cat_and_pad_are_free() -> None:
    m = Fn(lambda m, x: F.pad(torch.cat([x, x], 1).flatten(2), (1, 1)))
    a = convscope.analyze(m, (1, 3, 4, 4))
    assert a.totals.macs == 0 and a.totals.other_flops == 0 and not a.unknown


def test_scans_cost_one_op_per_element() -> None:
    """cumsum / cumprod / cummax along a dim: one add (multiply, compare) per element."""
    for scan in (
        lambda m, x: torch.cumsum(x, dim=1),
        lambda m, x: torch.cumprod(x, dim=3),
        lambda m, x: torch.cummax(x, dim=2)[0],
    ):
        a = convscope.analyze(Fn(scan), (2, 3, 4, 5))
        assert not a.unknown and a.totals.macs == 0
        assert a.totals.other_flops == 2 * 3 * 4 * 5


def test_unknown_op_is_listed_not_zeroed() -> None:
    m = Fn(lambda m, x: torch.histc(x, bins=8))
    a = convscope.analyze(m, (1, 3, 4, 4))
    assert [u.op for u in a.unknown] == ["aten.histc.default"]
    assert a.unknown[0].layers == ("(root)",)
    assert a.rows[0].unknown_ops == ("aten.histc.default",)
    with pytest.raises(convscope.errors.UnsupportedOpError, match="histc"):
        convscope.analyze(m, (1, 3, 4, 4), strict=True)


def test_node_kinds_for_common_layers() -> None:
    m = nn.Sequential(
        nn.Conv2d(3, 4, 3),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(4, 2),
    )
    a = convscope.analyze(m, (1, 3, 16, 16))
    kinds = {r.path: {a.graph.nodes[i].kind for i in r.nodes} - {ir.OpKind.CREATE} for r in a.rows}
    assert kinds["0"] == {ir.OpKind.CONV}
    assert kinds["1"] == {ir.OpKind.NORM}
    assert kinds["3"] == {ir.OpKind.POOL}
    assert kinds["6"] == {ir.OpKind.LINEAR}


# --------------------------------------------------------------------- vector contractions


@pytest.mark.parametrize(
    ("name", "module", "shapes", "macs"),
    [
        # [2, 5, 7] @ [7]: matmul folds the batch into rows and runs mv on [10, 7]
        ("3d @ vector", Fn(lambda m, x: x @ m.v, v=torch.randn(7)), ((2, 5, 7),), 2 * 5 * 7),
        ("mv", Fn(lambda m, x: torch.mv(m.w, x), w=torch.randn(5, 7)), ((7,),), 5 * 7),
        (
            "addmv",
            Fn(lambda m, x: torch.addmv(m.b, m.w, x), w=torch.randn(5, 7), b=torch.randn(5)),
            ((7,),),
            5 * 7,
        ),
        ("dot", Fn(lambda m, x: torch.dot(x, m.v), v=torch.randn(7)), ((7,),), 7),
        ("vdot", Fn(lambda m, x: torch.vdot(x, m.v), v=torch.randn(7)), ((7,),), 7),
        # x1ᵀ W x2 per output feature and batch item: 4·7·5·6
        ("bilinear", nn.Bilinear(5, 6, 7), ((4, 5), (4, 6)), 4 * 7 * 5 * 6),
    ],
)
def test_vector_contractions_hand_count(
    name: str, module: nn.Module, shapes: tuple[tuple[int, ...], ...], macs: int
) -> None:
    a = convscope.analyze(module, tuple(torch.randn(s) for s in shapes))
    assert not a.unknown
    assert a.totals.macs == macs


def test_spectral_norm_power_iteration_is_counted() -> None:
    # Eval-mode spectral_norm on Linear(7, 5): sigma = u · (W v): mv 5·7 + vdot 5, then the
    # linear layer itself 4·7·5.
    m = nn.utils.parametrizations.spectral_norm(nn.Linear(7, 5)).eval()
    a = convscope.analyze(m, (torch.randn(4, 7),))
    assert not a.unknown
    assert a.totals.macs == 5 * 7 + 5 + 4 * 7 * 5


# --------------------------------------------------------------------- scatter and resampling


def test_fold_counts_in_bounds_scatter_adds() -> None:
    # Folding ones counts, per output pixel, the block taps that land on it: their sum is
    # the number of additions col2im performs (padding taps are dropped).
    fold = nn.Fold((8, 8), 3, padding=1, stride=1)
    x = torch.ones(2, 4 * 9, 64)
    a = convscope.analyze(fold, (x,))
    assert not a.unknown
    assert a.totals.other_flops == int(fold(x).sum())
    # by hand: per axis 8 blocks × 3 taps, minus the 2 that fall off the ends
    assert a.totals.other_flops == 2 * 4 * (8 * 3 - 2) ** 2


def test_antialiased_downsampling_prices_the_filter_width() -> None:
    # 32 → 8 bilinear, antialias: scale 4, support 4, so output j reads ⌊4j + 2 ± 4 + ½⌋,
    # clipped: 6 taps at each end and 8 in the middle, 60 per axis. Separable, width first:
    # 3·32 rows × 60 taps, then 3·8 columns × 60 taps, 2 FLOPs per tap.
    m = Fn(lambda m, x: F.interpolate(x, size=(8, 8), mode="bilinear", antialias=True))
    a = convscope.analyze(m, (1, 3, 32, 32))
    assert not a.unknown
    taps = 6 + 6 * 8 + 6
    assert a.totals.other_flops == 2 * (3 * 32 * taps + 3 * 8 * taps)
    plain = convscope.analyze(
        Fn(lambda m, x: F.interpolate(x, size=(8, 8), mode="bilinear")), (1, 3, 32, 32)
    )
    assert plain.totals.other_flops == 2 * 4 * 3 * 64  # no filter: 4 taps per output


def test_transposed_conv_useful_macs_leave_out_cropped_taps() -> None:
    # 1-d, k=3, s=2, p=1 on 4 inputs → 7 outputs: taps land at 2i − 1 + t; of the 12
    # (input, tap) pairs, (0, 0) lands at −1 and (3, 2) at 7, both cropped: 10 useful.
    m = nn.ConvTranspose1d(2, 3, 3, stride=2, padding=1)
    a = convscope.analyze(m, (1, 2, 4))
    assert a.totals.macs == 2 * 4 * 3 * 3  # every tap, as FlopCounterMode counts
    assert flopcounter(m, torch.randn(1, 2, 4)) == 2 * a.totals.macs
    (w,) = a.useful_work
    assert (w.macs, w.useful_macs) == (2 * 4 * 3 * 3, 2 * 3 * 10)
    doc = analysis_document(a)
    assert doc["useful_work"][0]["useful_macs"] == 2 * 3 * 10
    # no padding: nothing is cropped, no useful-work entry
    assert not convscope.analyze(nn.ConvTranspose2d(8, 4, 2, stride=2), (1, 8, 8, 8)).useful_work


# --------------------------------------------------------------------- detection ops


class _Nms(nn.Module):
    def forward(self, boxes: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        import torchvision

        return torchvision.ops.nms(boxes, scores, 0.5)


class _RoiAlign(nn.Module):
    def __init__(self, ratio: int) -> None:
        super().__init__()
        self.ratio = ratio

    def forward(self, x: torch.Tensor, rois: torch.Tensor) -> torch.Tensor:
        import torchvision

        return torchvision.ops.roi_align(x, rois, (7, 7), 0.25, sampling_ratio=self.ratio)


def test_nms_is_priced_from_the_boxes_it_ran_with() -> None:
    pytest.importorskip("torchvision")
    # Two far-apart clusters of three identical boxes: 6 in, 2 kept.
    boxes = torch.tensor([[0, 0, 10, 10.0]] * 3 + [[50, 50, 60, 60.0]] * 3)
    scores = torch.tensor([0.9, 0.8, 0.7, 0.6, 0.5, 0.4])
    a = convscope.analyze(_Nms(), (boxes, scores), device="cpu")
    assert not a.unknown
    # areas 3·6, sort 6·⌈log₂6⌉, IoUs of the 2 kept boxes with the boxes after them
    # (at most 5 + 4), 13 FLOPs each
    assert a.totals.other_flops == 3 * 6 + 6 * 3 + 13 * (5 + 4)
    assert [u.op for u in a.data_dependent] == ["torchvision.nms.default"]
    doc = analysis_document(a)
    assert doc["data_dependent_ops"][0]["op"] == "torchvision.nms.default"


def test_roi_align_is_priced_from_its_regions() -> None:
    pytest.importorskip("torchvision")
    rois = torch.tensor([[0, 0, 0, 64, 32.0], [0, 10, 10, 20, 20.0]])
    x = torch.randn(1, 8, 32, 32)
    fixed = convscope.analyze(_RoiAlign(2), (x, rois), device="cpu")
    # 2 regions × 8 channels × 49 bins × (4 samples × 8 FLOPs) + one divide per output
    assert fixed.totals.other_flops == 8 * 49 * (8 * 2 * 4 + 2)
    # adaptive ratio: ⌈8/7⌉·⌈16/7⌉ = 6 samples for the first region (64×32 at scale ¼), 1
    # for the 2.5×2.5 one
    adaptive = convscope.analyze(_RoiAlign(-1), (x, rois), device="cpu")
    assert adaptive.totals.other_flops == 8 * 49 * (8 * 7 + 2)
    assert not adaptive.unknown and adaptive.data_dependent
    assert not convscope.analyze(nn.Conv2d(1, 1, 1), (1, 1, 2, 2)).data_dependent
