"""Receptive-field pass: hand-computed values, alignment, global context, torchvision anchors.

Conventions (``convscope.passes.receptive.structure``): per spatial axis, size r, effective stride S
and effective padding P; output pixel i sees input pixels [i·S − P, i·S − P + r − 1];
centre offset of pixel 0 = (r − 1)/2 − P.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import convscope
from convscope.analysis.rf import receptive_field, with_receptive_field
from convscope.analysis.schema import to_dict
from convscope.ir import graph as ir
from convscope.passes.keys import RECEPTIVE_FIELD
from convscope.passes.receptive import structure as rp
from convscope.passes.receptive.structure import NodeRF, ReceptiveField


def rf_of(model: nn.Module, shape: Sequence[int]) -> ReceptiveField:
    return receptive_field(model, tuple(shape))


def check(
    r: NodeRF,
    size: Sequence[float],
    stride: Sequence[float],
    padding: Sequence[float],
    min_size: Sequence[float] | None = None,
) -> None:
    assert r.size == pytest.approx(tuple(size))
    assert r.stride == pytest.approx(tuple(stride))
    assert r.padding == pytest.approx(tuple(padding))
    if min_size is not None:
        assert r.min_size == pytest.approx(tuple(min_size))


# -- single ops ---------------------------------------------------------------------------


def test_single_conv() -> None:
    rf = rf_of(nn.Conv2d(3, 4, 3, padding=1), (1, 3, 32, 32))
    assert rf.output is not None
    check(rf.output, (3, 3), (1, 1), (1, 1))
    assert rf.output.center_offset(0) == 0
    assert rf.input_size == (32, 32)
    assert not rf.output.is_global


def test_two_convs_and_stride() -> None:
    # conv 3x3/2 p1: r 3, S 2, P 1; then conv 3x3/1 p1: r 3 + 2·2 = 7, S 2, P 1 + 1·2 = 3
    m = nn.Sequential(nn.Conv2d(3, 4, 3, 2, 1), nn.Conv2d(4, 4, 3, 1, 1))
    rf = rf_of(m, (1, 3, 32, 32))
    check(rf.per_layer["0"], (3, 3), (2, 2), (1, 1))
    check(rf.per_layer["1"], (7, 7), (2, 2), (3, 3))
    assert rf.per_layer["1"].center_offset(1) == 0


def test_dilation() -> None:
    # k_eff = 2·(3 − 1) + 1 = 5
    m = nn.Sequential(nn.Conv2d(1, 1, 3, padding=2, dilation=2), nn.Conv2d(1, 1, 3, padding=1))
    rf = rf_of(m, (1, 1, 20, 20))
    check(rf.per_layer["0"], (5, 5), (1, 1), (2, 2))
    check(rf.per_layer["1"], (7, 7), (1, 1), (3, 3))


def test_asymmetric_kernel_stride_padding() -> None:
    m = nn.Sequential(
        nn.Conv2d(1, 2, (3, 5), stride=(1, 2), padding=(0, 2)), nn.Conv2d(2, 2, 3, padding=1)
    )
    rf = rf_of(m, (1, 1, 20, 30))
    check(rf.per_layer["0"], (3, 5), (1, 2), (0, 2))
    assert rf.per_layer["0"].center_offset(0) == 1  # no padding: centre moves inwards
    assert rf.per_layer["0"].center_offset(1) == 0
    # (3 + 2·1, 5 + 2·2), padding (0 + 1·1, 2 + 1·2)
    check(rf.per_layer["1"], (5, 9), (1, 2), (1, 4))


def test_pooling_ceil_mode_same_geometry() -> None:
    for ceil in (False, True):
        m = nn.Sequential(
            nn.Conv2d(1, 1, 3, padding=1), nn.MaxPool2d(3, 2, 1, ceil_mode=ceil), nn.AvgPool2d(2)
        )
        rf = rf_of(m, (1, 1, 33, 33))
        check(rf.per_layer["1"], (5, 5), (2, 2), (2, 2))
        check(rf.per_layer["2"], (7, 7), (4, 4), (2, 2))  # 5 + 1·2; P unchanged (p = 0)


class PadNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 1, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.pad(x, (1, 2, 3, 4)))  # W: 1 before, H: 3 before


def test_pad_op_adds_before_padding() -> None:
    rf = rf_of(PadNet(), (1, 1, 16, 16))
    check(rf.per_layer["conv"], (3, 3), (1, 1), (3, 1))


def test_transposed_conv() -> None:
    # conv 3x3/2 p1 → (3, 2, 1); transposed k4 s2 p1: every output pixel reads 2 inputs
    # (ceil(4/2)), so r' = 3 + 1·2 = 5, S' = 1; centre of output j is at (j + p − 1.5)/2 in
    # layer-input pixels → image centre −0.5 + j → P' = 2 + 0.5 = 2.5. Phases put the true
    # centre at j ± 0.5: tolerance S/4 = 0.5.
    m = nn.Sequential(nn.Conv2d(1, 1, 3, 2, 1), nn.ConvTranspose2d(1, 1, 4, 2, 1))
    rf = rf_of(m, (1, 1, 16, 16))
    check(rf.per_layer["1"], (5, 5), (1, 1), (2.5, 2.5))
    assert rf.layer_tolerance["1"] == pytest.approx((0.5, 0.5))
    # k3 s2 p1: 1 or 2 inputs depending on the phase → max ceil(3/2) = 2, S = 1/2
    rf = rf_of(nn.ConvTranspose2d(1, 1, 3, 2, 1, output_padding=1), (1, 1, 8, 8))
    check(rf.per_layer[""], (2, 2), (0.5, 0.5), (0.5, 0.5))
    # k2 s2: each output reads exactly one input
    rf = rf_of(nn.ConvTranspose2d(1, 1, 2, 2), (1, 1, 8, 8))
    check(rf.per_layer[""], (1, 1), (0.5, 0.5), (0.25, 0.25))


class Up(nn.Module):
    def __init__(self, mode: str, align: bool | None = None) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 1, 3, 2, 1)
        self.mode, self.align = mode, align

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(self.conv(x), scale_factor=2, mode=self.mode, align_corners=self.align)


def test_upsample_nearest_and_bilinear() -> None:
    # from (3, 2, 1): nearest keeps r, S = 2/2; centre of output 0 moves by 2·(0.25 − 0.5)
    rf = rf_of(Up("nearest"), (1, 1, 16, 16))
    check(rf.output, (3, 3), (1, 1), (1.5, 1.5))  # type: ignore[arg-type]
    # bilinear (align_corners False) reads 2 pixels: r = 3 + 1·2 = 5
    rf = rf_of(Up("bilinear", False), (1, 1, 16, 16))
    check(rf.output, (5, 5), (1, 1), (2.5, 2.5))  # type: ignore[arg-type]
    # bicubic reads 4: r = 3 + 3·2 = 9
    rf = rf_of(Up("bicubic", False), (1, 1, 16, 16))
    assert rf.output is not None and rf.output.size == (9, 9)


def test_upsample_fractional_stride() -> None:
    rf = rf_of(nn.Upsample(scale_factor=2, mode="nearest"), (1, 1, 8, 8))
    check(rf.output, (1, 1), (0.5, 0.5), (0.25, 0.25))  # type: ignore[arg-type]
    rf = rf_of(nn.Upsample(scale_factor=4, mode="bilinear"), (1, 1, 8, 8))
    assert rf.output is not None and rf.output.stride == (0.25, 0.25)


# -- merges -------------------------------------------------------------------------------


class TwoBranch(nn.Module):
    def __init__(self, a: nn.Module, b: nn.Module, cat: bool = False) -> None:
        super().__init__()
        self.a, self.b, self.cat = a, b, cat

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.cat:
            return torch.cat([self.a(x), self.b(x)], 1)
        return self.a(x) + self.b(x)


def test_residual_add_aligned() -> None:
    rf = rf_of(TwoBranch(nn.Conv2d(2, 2, 3, padding=1), nn.Identity()), (1, 2, 16, 16))
    assert rf.output is not None
    check(rf.output, (3, 3), (1, 1), (1, 1), min_size=(1, 1))
    assert rf.misalignments == ()
    # strided: 3x3/2 p1 and 1x1/2 have the same centres
    rf = rf_of(TwoBranch(nn.Conv2d(2, 2, 3, 2, 1), nn.Conv2d(2, 2, 1, 2)), (1, 2, 16, 16))
    assert rf.misalignments == ()
    check(rf.output, (3, 3), (2, 2), (1, 1), min_size=(1, 1))  # type: ignore[arg-type]


@pytest.mark.parametrize("cat", [False, True])
def test_merge_misaligned_offset(cat: bool) -> None:
    # 3x3/2 p1: pixel 0 sees [−1, 1] (centre 0); 2x2/2 avg pool sees [0, 1] (centre 0.5)
    m = TwoBranch(nn.Conv2d(2, 2, 3, 2, 1), nn.AvgPool2d(2), cat=cat)
    rf = rf_of(m, (1, 2, 16, 16))
    assert rf.output is not None
    check(rf.output, (3, 3), (2, 2), (1, 1), min_size=(2, 2))  # hull of [−1,1] and [0,1]
    mis = rf.misalignments
    assert {x.axis for x in mis} == {0, 1}
    assert all(x.kind == "offset" and x.offset_px == pytest.approx(0.5) for x in mis)
    assert mis[0].offsets == pytest.approx((0.0, 0.5))
    assert mis[0].strides == (2, 2)


def test_merge_hull_of_misaligned_branches() -> None:
    # a: 3x3 p0 → pixel 0 sees [0, 2] (centre 1). b: shift the input by one pixel with an
    # explicit pad (1 before, −1 after: same size), then 3x3 p0 → pixel 0 sees [−1, 1].
    # The hull [−1, 2] is 4 pixels wide; the centres differ by 1 pixel.
    class M(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = nn.Conv2d(1, 1, 3)
            self.b = nn.Conv2d(1, 1, 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.a(x) + self.b(F.pad(x, (1, -1, 1, -1)))

    rf = rf_of(M(), (1, 1, 12, 10))
    assert rf.output is not None
    check(rf.output, (4, 4), (1, 1), (1, 1), min_size=(3, 3))
    assert [m.offset_px for m in rf.misalignments] == [1.0, 1.0]


def test_merge_stride_mismatch() -> None:
    # 16 → 8 both ways: 3x3/2 p1 (S 2) and a 9x9/1 conv (S 1)
    rf = rf_of(TwoBranch(nn.Conv2d(1, 1, 3, 2, 1), nn.Conv2d(1, 1, 9)), (1, 1, 16, 16))
    assert {x.kind for x in rf.misalignments} == {"stride"}
    assert rf.output is not None and rf.output.size == (9, 9)  # the larger branch


class ResNetDStem(nn.Module):
    """Stem to stride 4 (torchvision-like: 7x7/2 p3 + max pool 3/2 p1, centre 0), then a
    ResNet-D downsampling block: main 1x1 → 3x3/2 p1 → 1x1; shortcut 2x2/2 avg pool → 1x1."""

    def __init__(self, d: bool = True) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 7, 2, 3), nn.MaxPool2d(3, 2, 1))
        self.main = nn.Sequential(nn.Conv2d(8, 8, 1), nn.Conv2d(8, 8, 3, 2, 1), nn.Conv2d(8, 16, 1))
        if d:
            self.short = nn.Sequential(
                nn.AvgPool2d(2, 2, ceil_mode=True, count_include_pad=False), nn.Conv2d(8, 16, 1)
            )
        else:  # torchvision ResNet (v1.5): strided 1x1
            self.short = nn.Sequential(nn.Conv2d(8, 16, 1, 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        return torch.relu(self.main(x) + self.short(x))


def test_resnet_d_shortcut_misaligned_by_two_pixels() -> None:
    # Block input: S = 4, pixel centres at 4i. Main 3x3/2 p1: output j centred on input
    # pixel 2j → 8j. Avg pool 2x2/2: centred between 2j and 2j + 1 → 8j + 0.5·4 = 8j + 2.
    rf = rf_of(ResNetDStem(), (1, 3, 64, 64))
    mis = rf.misalignments
    assert len(mis) == 2 and {m.axis for m in mis} == {0, 1}
    for m in mis:
        assert m.kind == "offset"
        assert m.module == ""
        assert m.offset_px == pytest.approx(2.0)
        assert m.strides == (8, 8)
    # torchvision's strided 1x1 shortcut is aligned (and skips 3/4 of its input: RF005)
    assert rf_of(ResNetDStem(d=False), (1, 3, 64, 64)).misalignments == ()


# -- global context and layouts -----------------------------------------------------------


class Head(nn.Module):
    def __init__(self, how: str) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, 2, 1)
        self.fc = nn.Linear(8 if how != "flatten" else 8 * 8 * 8, 4)
        self.how = how

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        if self.how == "mean":
            return self.fc(y.mean((2, 3)))
        if self.how == "adaptive":
            return self.fc(torch.flatten(F.adaptive_avg_pool2d(y, 1), 1))
        return self.fc(torch.flatten(y, 1))


@pytest.mark.parametrize("how", ["mean", "adaptive", "flatten"])
def test_global_pool_and_flatten_linear(how: str) -> None:
    rf = rf_of(Head(how), (1, 3, 16, 16))
    assert rf.per_layer["conv"].is_global is False
    assert rf.output is not None and rf.output.is_global
    assert rf.output.size == (3, 3)  # the local geometry that led there is kept
    assert rf.covers_input() and rf.coverage() == (1.0, 1.0)
    assert "global" in rf.summary_text()


class Attn(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        n, c, h, w = y.shape
        t = y.flatten(2).transpose(1, 2)
        t = F.scaled_dot_product_attention(t, t, t)
        return (
            self.conv2(t.transpose(1, 2).reshape(n, c, h, w))
            if hasattr(self, "conv2")
            else t.transpose(1, 2).reshape(n, c, h, w)
        )


def test_attention_is_global_but_keeps_layout() -> None:
    m = Attn()
    m.conv2 = nn.Conv2d(8, 8, 3, padding=1)
    rf = rf_of(m, (1, 3, 8, 8))
    assert rf.output is not None and rf.output.is_global
    assert rf.output.size == (5, 5)  # the conv after attention still grows the local part


class ChannelsLast(nn.Module):
    """ConvNeXt-style: depthwise conv, permute, LayerNorm + Linear per position, permute back."""

    def __init__(self) -> None:
        super().__init__()
        self.dw = nn.Conv2d(8, 8, 7, padding=3, groups=8)
        self.norm = nn.LayerNorm(8)
        self.pw = nn.Linear(8, 16)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.dw(x).permute(0, 2, 3, 1)
        y = self.pw(self.norm(y))
        return y.permute(0, 3, 1, 2)


def test_channels_last_linear_is_per_position() -> None:
    rf = rf_of(ChannelsLast(), (1, 8, 14, 10))
    assert rf.output is not None and not rf.output.is_global
    check(rf.output, (7, 7), (1, 1), (3, 3))
    assert rf.layer_dims["pw"] == (1, 2)  # [N, H, W, C]
    assert rf.layer_dims[""] == (2, 3)


class ChannelSlice(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = x.chunk(2, dim=1)
        return torch.cat([F.avg_pool2d(a, 3, 1, 1), b[:, :1]], 1)


def test_channel_views_pass_through() -> None:
    rf = rf_of(ChannelSlice(), (1, 4, 8, 8))
    assert rf.output is not None
    check(rf.output, (3, 3), (1, 1), (1, 1), min_size=(1, 1))
    assert rf.misalignments == ()


def test_squeeze_excitation_is_global_and_keeps_growing() -> None:
    import torchvision

    rf = rf_of(torchvision.models.mobilenet_v3_small(), (1, 3, 224, 224))
    first_se = rf.per_layer["features.1.block.1"]
    assert first_se.is_global
    assert rf.per_layer["features.12"].size[0] > first_se.size[0]


def test_1d_and_3d() -> None:
    rf = rf_of(nn.Sequential(nn.Conv1d(1, 2, 5, 2, 2), nn.Conv1d(2, 2, 3)), (1, 1, 40))
    assert rf.input_size == (40,)
    check(rf.output, (9,), (2,), (2,))  # type: ignore[arg-type]
    rf = rf_of(nn.Conv3d(1, 1, (3, 5, 5), (1, 2, 2), (1, 2, 2)), (1, 1, 8, 16, 16))
    check(rf.output, (3, 5, 5), (1, 2, 2), (1, 2, 2))  # type: ignore[arg-type]


class Cumsum(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cumsum(x, dim=3)


def test_odd_graphs_never_raise() -> None:
    # no spatial input
    rf = rf_of(nn.Linear(4, 2), (2, 4))
    assert rf.output is None and rf.input_size == () and not rf.covers_input()
    assert isinstance(rf.summary_text(), str)
    # a scan along W (cumsum) can read the whole row: bounded by the ±(n−1) window on a
    # 6-pixel-wide map after a 3×3 conv, stride kept, flagged approximate
    rf = rf_of(nn.Sequential(nn.Conv2d(1, 1, 3), Cumsum()), (1, 1, 8, 8))
    assert rf.output is not None and rf.output.size == (3, 3 + 2 * 5)
    assert rf.output.stride == (1, 1) and not rf.output.is_global
    assert "1" in rf.approximate


class Buffer(nn.Module):
    """Channel concat by writing into a preallocated buffer (in-place writes into views)."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Conv2d(3, 4, 3, padding=1)
        self.b = nn.Conv2d(8, 2, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.a(x)
        buf = y.new_zeros(1, 8, 16, 16)
        buf[:, :4].copy_(y)
        buf[:, 4:] = F.avg_pool2d(y, 5, 1, 2)
        return self.b(buf)


def test_in_place_writes_into_a_buffer_reach_its_readers() -> None:
    rf = rf_of(Buffer(), (1, 3, 16, 16))
    # 3 (conv a) → 3 + 4 (avg pool 5) = 7 on one half → 7 + 2 (conv b) = 9; shortest 5
    check(rf.output, (9, 9), (1, 1), (4, 4), min_size=(5, 5))  # type: ignore[arg-type]


class Spectrogram(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 2, (3, 5), padding=(1, 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x.unsqueeze(1))


def test_3d_input_of_a_2d_model_has_two_spatial_axes() -> None:
    rf = rf_of(Spectrogram(), (2, 40, 100))  # [N, F, T] → [N, 1, F, T]
    assert rf.input_size == (40, 100)
    check(rf.output, (3, 5), (1, 1), (1, 2))  # type: ignore[arg-type]


def test_hand_built_graph_without_torch_objects() -> None:
    t = ir.TensorSpec
    x, a, b, y = (
        t(0, (1, 1, 9, 9), "float32", 0),
        t(1, (1, 1, 9, 9), "float32", 1),
        t(2, (1, 1, 9, 9), "float32", 2),
        t(3, (1, 1, 9, 9), "float32", 3),
    )
    conv = ir.ConvAttrs(1, 1, (5, 5), (1, 1), (2, 2), (1, 1), 1, False, (0, 0), False)
    pool = ir.PoolAttrs("max", (3, 3), (1, 1), (1, 1), (1, 1), False)
    nodes = (
        ir.Node(0, "aten.convolution.default", ir.OpKind.CONV, conv, (0,), (), (a,), "c", "C"),
        ir.Node(1, "aten.max_pool2d.default", ir.OpKind.POOL, pool, (0,), (), (b,), "p", "P"),
        ir.Node(
            2, "aten.add.Tensor", ir.OpKind.ELEMENTWISE, ir.NoAttrs(), (1, 2), (), (y,), "", "M"
        ),
    )
    g = ir.Graph(
        nodes=nodes,
        inputs=(x,),
        outputs=(3,),
        tensors=(x, a, b, y),
        params=(),
        modules=(),
        mode="meta",
    )
    rf = rp.receptive_field(g)
    assert rf.per_node[2].size == (5, 5) and rf.per_node[2].min_size == (3, 3)
    assert rf.per_layer["c"].padding == (2, 2)
    assert rf.misalignments == ()


# -- reports ------------------------------------------------------------------------------


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


def test_result_is_immutable_and_graph_untouched() -> None:
    a = convscope.analyze(nn.Conv2d(1, 1, 3), (1, 1, 8, 8))
    before = a.graph
    b = with_receptive_field(a)
    assert a.extras == {} and b.graph is before
    rf = b.need(RECEPTIVE_FIELD)
    with pytest.raises(TypeError):
        rf.per_layer["x"] = rf.output  # type: ignore[index]


# -- torchvision anchors: published RFs (Araujo et al., Distill 2019; Richter et al. 2021) --


def _tv(name: str) -> ReceptiveField:
    import torchvision

    with torch.device("meta"):
        m = torchvision.models.get_model(name)
    return rf_of(m, (1, 3, 224, 224))


def test_vgg16_conv5_3_and_pool5() -> None:
    rf = _tv("vgg16")
    check(rf.per_layer["features.28"], (196, 196), (16, 16), (90, 90))  # conv5_3
    check(rf.per_layer["features.30"], (212, 212), (32, 32), (90, 90))  # pool5


def test_resnet50_stages() -> None:
    rf = _tv("resnet50")
    for stage, (size, stride) in {
        "layer1": (35, 4),
        "layer2": (91, 8),
        "layer3": (267, 16),
        "layer4": (427, 32),
    }.items():
        r = rf.per_layer[stage]
        assert r.size == (size, size) and r.stride == (stride, stride), stage
        assert r.center_offset(0) == 0
    assert rf.misalignments == ()
    assert rf.output is not None and rf.output.is_global and rf.output.size == (427, 427)


def test_resnet18_and_mobilenet_v2() -> None:
    assert _tv("resnet18").per_layer["layer4"].size == (435, 435)
    rf = _tv("mobilenet_v2")
    assert rf.per_layer["features"].size == (491, 491)
    assert rf.per_layer["features"].stride == (32, 32)
    assert rf.misalignments == ()


class _SquareChannelsLast(nn.Module):
    """C == H == W: a permute's shape alone cannot say which dim went where."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.fc = nn.Linear(8, 8)
        self.out = nn.Conv2d(8, 8, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.fc(self.conv(x).permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        return self.out(y)


def test_permute_of_equal_sized_dims_follows_the_strides() -> None:
    rf = rf_of(_SquareChannelsLast(), (1, 3, 8, 8))
    fc = rf.per_layer["fc"]
    assert not fc.is_global  # the linear mixes channels only, per pixel
    check(fc, (3, 3), (1, 1), (1, 1))
    check(rf.per_layer["out"], (5, 5), (1, 1), (2, 2))
