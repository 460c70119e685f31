"""Rules RF001–RF005: hand-built nets with hand-computed receptive fields, and real models.

Receptive fields follow Araujo et al. (Distill 2019): a k×k conv with stride s at
effective stride S grows the RF by (k − 1)·S and multiplies S by s.
"""

from __future__ import annotations

from collections import Counter
from fractions import Fraction
from functools import cache
from typing import Any

import pytest
import torch
from click.testing import CliRunner
from torch import nn
from torch.nn import functional as F

import convscope
from convscope.analysis.build import Analysis
from convscope.analysis.rf import with_receptive_field
from convscope.cli.app import main
from convscope.linting.config import Settings
from convscope.linting.engine import lint
from convscope.linting.finding import Finding, LintResult
from convscope.linting.rules.rf005_stride_skips_input import read_fraction


def run(
    model: nn.Module, shape: tuple[int, ...], code: str, options: dict[str, Any] | None = None
) -> LintResult:
    analysis = convscope.analyze(model, shape, name=type(model).__name__)
    settings = Settings(select=(code,), rules={code: options} if options else {})
    return lint(analysis, settings, receptive_field=with_receptive_field)


def found(result: LintResult, code: str) -> list[Finding]:
    assert not result.skipped, result.skipped
    assert all(f.code == code for f in result.findings), result.findings
    return list(result.findings)


class Plain(nn.Module):
    """A chain of convs (kernel, stride, dilation) and a global average pool."""

    def __init__(
        self, layers: list[tuple[int, int, int]], width: int = 8, flatten_side: int = 0
    ) -> None:
        super().__init__()
        convs = []
        cin = 3
        for k, s, d in layers:
            convs += [
                nn.Conv2d(cin, width, k, stride=s, padding=d * (k // 2), dilation=d),
                nn.ReLU(),
            ]
            cin = width
        self.body = nn.Sequential(*convs)
        self.flatten = flatten_side > 0  # flatten + linear over a flatten_side² map
        self.fc = nn.Linear(width * flatten_side**2 if self.flatten else width, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.body(x)
        return self.fc(torch.flatten(x, 1) if self.flatten else x.mean((2, 3)))


# --------------------------------------------------------------------------- RF001


def test_rf001_two_convs_on_64() -> None:
    # two 3×3 convs, stride 1: RF 1 + 2 + 2 = 5 pixels of a 64-pixel side
    result = run(Plain([(3, 1, 1), (3, 1, 1)]), (1, 3, 64, 64), "RF001")
    [f] = found(result, "RF001")
    assert f.layer == "body.2"  # the second conv: the largest receptive field
    assert f.values["rf"] == "5×5" and f.values["input"] == "64×64"
    assert f.values["coverage"] == pytest.approx(5 / 64, abs=1e-4)
    assert "5×5 input pixels" in f.message and "7.8%×7.8%" in f.message


def test_rf001_coverage_threshold_and_full_coverage() -> None:
    # strides 2, 2, 2 then a 3×3: RF 3, 7, 15, 31 — covers a 31×31 input exactly
    layers = [(3, 2, 1), (3, 2, 1), (3, 2, 1), (3, 1, 1)]
    assert not found(run(Plain(layers), (1, 3, 31, 31), "RF001"), "RF001")
    full = {"min_coverage": 1.0}
    [f] = found(run(Plain(layers), (1, 3, 32, 32), "RF001", full), "RF001")
    assert f.values["rf"] == "31×31"
    # 31 / 32 = 97% passes the default (80%); 31 / 40 = 78% does not
    assert not found(run(Plain(layers), (1, 3, 32, 32), "RF001"), "RF001")
    assert found(run(Plain(layers), (1, 3, 40, 40), "RF001"), "RF001")
    # 31 / 64 = 48%: reported at min_coverage 0.5, not at 0.45
    assert found(run(Plain(layers), (1, 3, 64, 64), "RF001", {"min_coverage": 0.5}), "RF001")
    assert not found(run(Plain(layers), (1, 3, 64, 64), "RF001", {"min_coverage": 0.45}), "RF001")


def test_rf001_per_axis() -> None:
    # a 1×7 kernel: RF 1 × 7 on a 4 × 16 input — both axes fall short
    class Wide(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 8, (1, 7), padding=(0, 3))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.conv(x).mean((2, 3))

    [f] = found(run(Wide(), (1, 3, 4, 16), "RF001"), "RF001")
    assert f.values["rf"] == "1×7" and f.values["input"] == "4×16"
    assert f.values["coverage"] == pytest.approx(0.25)


def test_rf001_flatten_linear_covers_unless_disabled() -> None:
    layers = [(3, 2, 1), (3, 1, 1)]  # RF 7 on 16×16; map 8×8
    net = Plain(layers, width=4, flatten_side=8)
    assert not found(run(net, (1, 3, 16, 16), "RF001"), "RF001")
    [f] = found(run(net, (1, 3, 16, 16), "RF001", {"global_mixing_covers": False}), "RF001")
    assert f.values["rf"] == "7×7"


# --------------------------------------------------------------------------- RF002


class PointwiseStem(nn.Module):
    def __init__(self, n_pointwise: int, stride: int = 1) -> None:
        super().__init__()
        self.down = nn.Conv2d(3, 16, 3, stride=stride, padding=1)
        self.n = n_pointwise
        for i in range(n_pointwise):  # direct children: a run, not a block
            self.add_module(f"pw{i}", nn.Conv2d(16, 16, 1))
        self.spatial = nn.Conv2d(16, 16, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.down(x)
        for i in range(self.n):
            x = torch.relu(getattr(self, f"pw{i}")(x))
        return self.spatial(x).mean((2, 3))


def test_rf002_run_length_threshold() -> None:
    [f] = found(run(PointwiseStem(3), (1, 3, 64, 64), "RF002"), "RF002")
    assert f.layer == "pw0"
    assert f.values["rf"] == "3×3" and f.values["resolution"] == "64×64"
    assert f.values["rf_fraction"] == pytest.approx(3 / 64, abs=1e-4)
    assert "3 1×1 convs in a row (`pw0` … `pw2`)" in f.message
    assert f.rewrite is not None and f.rewrite.endswith(
        "--only pw0 --only pw1 --only pw2 --mode spatialize"
    )
    assert not found(run(PointwiseStem(2), (1, 3, 64, 64), "RF002"), "RF002")
    assert found(run(PointwiseStem(2), (1, 3, 64, 64), "RF002", {"min_run": 2}), "RF002")


def test_rf002_thresholds() -> None:
    # stride 4 before the run: map 16×16 = 25% of the side (still "high"), at 12.5% not
    stem = PointwiseStem(3, stride=4)
    assert found(run(stem, (1, 3, 64, 64), "RF002"), "RF002")
    assert not found(run(stem, (1, 3, 64, 64), "RF002", {"min_resolution_fraction": 0.3}), "RF002")
    # RF 3 of a 16-pixel side is 19% > max_rf_fraction 10%
    assert not found(run(PointwiseStem(3), (1, 3, 16, 16), "RF002"), "RF002")
    assert found(run(PointwiseStem(3), (1, 3, 16, 16), "RF002", {"max_rf_fraction": 0.2}), "RF002")


class ResidualPointwise(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Conv2d(16, 8, 1)
        self.b = nn.Conv2d(8, 16, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.b(torch.relu(self.a(x)))


class Stage(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, padding=1)
        self.stage = nn.Sequential(ResidualPointwise(), ResidualPointwise())
        self.out = nn.Conv2d(16, 16, 3, stride=2, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.stage(self.stem(x))).mean((2, 3))


def test_rf002_block_without_spatial_op() -> None:
    # each block is two 1×1 convs and a residual add; the outermost such module is reported
    [f] = found(run(Stage(), (1, 3, 64, 64), "RF002"), "RF002")
    assert f.layer == "stage"
    assert (
        "block `stage` has no spatial op (4 1×1 convs and `add` merges) and runs at 64×64"
        in f.message
    )
    assert f.rewrite is not None and "--only stage --mode spatialize" in f.rewrite


def test_rf002_onebyone_trap_cli_exits_1() -> None:
    result = CliRunner().invoke(main, ["lint", "examples/onebyone_trap.py", "--select", "RF002"])
    assert result.exit_code == 1, result.output
    assert "RF002 early-pointwise" in result.stdout
    assert "block `stem` has no spatial op: its 5 1×1 convs in a row" in result.stdout
    assert (
        "convscope rewrite examples/onebyone_trap.py --only stem --mode spatialize" in result.stdout
    )


# --------------------------------------------------------------------------- RF003


def test_rf003_whole_image_and_kernel_larger_than_map() -> None:
    # 32×32: strides 2, 2, 2 → RF 15 on a 4×4 map; 5×5 (RF 47); 3×3 whose input RF 47 ≥ 32
    layers = [(3, 2, 1), (3, 2, 1), (3, 2, 1), (5, 1, 1), (3, 1, 1)]
    result = run(Plain(layers), (1, 3, 32, 32), "RF003")
    by_layer = {f.layer: f for f in found(result, "RF003")}
    assert set(by_layer) == {"body.6", "body.8"}
    assert by_layer["body.6"].values == {"feature_map": "4×4"}
    assert by_layer["body.8"].values == {"input_rf": "47×47"}
    [f] = found(run(Plain(layers), (1, 3, 32, 32), "RF003", {"check_kernel": False}), "RF003")
    assert f.layer == "body.8"
    # at 64×64 the maps are 8×8 and the last input RF 47 < 64
    assert not found(run(Plain(layers), (1, 3, 64, 64), "RF003"), "RF003")


def test_rf003_dilated_kernel_counts() -> None:
    # a 3×3 conv with dilation 3 spans 7 pixels: on the 4×4 map it reads mostly padding
    layers = [(3, 2, 1), (3, 2, 1), (3, 2, 1), (3, 1, 3)]
    [f] = found(run(Plain(layers), (1, 3, 32, 32), "RF003"), "RF003")
    assert "3×3 kernel dilated to 7×7" in f.message


class Residual(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.c1 = nn.Conv2d(8, 8, 3, padding=1)
        self.c2 = nn.Conv2d(8, 8, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.c2(torch.relu(self.c1(x)))


class ResNetLike(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.blocks = nn.Sequential(Residual(), Residual())
        self.late = nn.Conv2d(8, 8, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.late(self.blocks(self.stem(x))).mean((2, 3))


def test_rf003_shortest_versus_longest_path() -> None:
    # on 8×8: stem RF 3; block 1 → max 7 (min 3); block 2: c1 input 7, c2 input 9 ≥ 8,
    # output max 11; the identity path keeps the shortest RF at 3 (c2's input: 5)
    assert not found(run(ResNetLike(), (1, 3, 8, 8), "RF003"), "RF003")
    result = run(ResNetLike(), (1, 3, 8, 8), "RF003", {"rf_path": "longest"})
    by_layer = {f.layer: f.values["input_rf"] for f in found(result, "RF003")}
    assert by_layer == {"blocks.1.c2": "9×9", "late": "11×11"}


def test_rf003_squeeze_excitation_is_not_reported() -> None:
    # on 4×4: two 3×3 convs reach RF 5 ≥ 4, yet the SE 1×1 convs on the pooled 1×1 map
    # are not layers with a spatial job
    class SE(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
            self.conv2 = nn.Conv2d(8, 8, 3, padding=1)
            self.fc1 = nn.Conv2d(8, 4, 1)
            self.fc2 = nn.Conv2d(4, 8, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = self.conv2(torch.relu(self.conv1(x)))
            s = torch.sigmoid(self.fc2(torch.relu(self.fc1(x.mean((2, 3), keepdim=True)))))
            return (x * s).mean((2, 3))

    assert not found(run(SE(), (1, 3, 4, 4), "RF003"), "RF003")


# --------------------------------------------------------------------------- RF004


class DownBlock(nn.Module):
    def __init__(self, shortcut: nn.Module) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(16, 32, 3, stride=2, padding=1)
        self.conv2 = nn.Conv2d(32, 32, 3, padding=1)
        self.shortcut = shortcut

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2(torch.relu(self.conv1(x))) + self.shortcut(x)


class Stem4(nn.Module):
    """Stride 4 at the block input (3×3 stride-2 conv, 3×3 stride-2 max pool), then a block."""

    def __init__(self, shortcut: nn.Module) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, 16, 3, stride=2, padding=1), nn.MaxPool2d(3, stride=2, padding=1)
        )
        self.block = DownBlock(shortcut)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(self.stem(x)).mean((2, 3))


def test_rf004_resnet_d_offset_is_below_the_default_fraction() -> None:
    # main branch: 3×3 stride 2, padding 1 centres output pixel 0 on block pixel 0;
    # ResNet-D shortcut: a 2×2 average pool centres it on block pixel 0.5 = 2 input pixels,
    # a quarter of one pixel of the stride-8 merged map: tolerated unless asked for.
    shortcut = nn.Sequential(nn.AvgPool2d(2, stride=2), nn.Conv2d(16, 32, 1))
    assert not found(run(Stem4(shortcut), (1, 3, 64, 64), "RF004"), "RF004")
    opts = {"min_offset_fraction": 0.2}
    [f] = found(run(Stem4(shortcut), (1, 3, 64, 64), "RF004", opts), "RF004")
    assert f.layer == "block"
    assert f.values == {"offset_px": 2.0, "kind": "offset"}
    assert "differ by 2 input pixels (0.25 of a stride-8 pixel)" in f.message
    assert "on H and W" in f.message


class OneSidedPad(nn.Module):
    """A residual block whose main branch drops the conv's padding and pads one side
    instead: its features sit one block pixel (4 input pixels at stride 4) off."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, 16, 3, stride=2, padding=1), nn.MaxPool2d(3, stride=2, padding=1)
        )
        self.conv = nn.Conv2d(16, 16, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        return (x + F.pad(self.conv(x), (2, 0, 2, 0))).mean((2, 3))


def test_rf004_one_sided_pad_is_a_whole_pixel_off() -> None:
    [f] = found(run(OneSidedPad(), (1, 3, 64, 64), "RF004"), "RF004")
    assert f.values == {"offset_px": 4.0, "kind": "offset"}
    assert "(1 of a stride-4 pixel)" in f.message


def test_rf004_offsets_do_not_compound_through_merges() -> None:
    class Fpn(nn.Module):
        """Two nearest ×2 top-down merges: each is half a fine pixel off, no more."""

        def __init__(self) -> None:
            super().__init__()
            self.c2 = nn.Conv2d(3, 8, 3, stride=4, padding=1)
            self.c3 = nn.Conv2d(8, 8, 3, stride=2, padding=1)
            self.c4 = nn.Conv2d(8, 8, 3, stride=2, padding=1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            c2 = self.c2(x)
            c3 = self.c3(c2)
            c4 = self.c4(c3)
            p3 = c3 + F.interpolate(c4, scale_factor=2.0, mode="nearest")
            return c2 + F.interpolate(p3, scale_factor=2.0, mode="nearest")

    opts = {"min_offset_fraction": 0.0}
    fractions = sorted(
        f.values["offset_px"] for f in found(run(Fpn(), (1, 3, 64, 64), "RF004", opts), "RF004")
    )
    # 0.5 of a stride-8 pixel (4 px) at the first merge, 0.5 of a stride-4 pixel (2 px) at
    # the second; compounding would make the second 3.5 stride-4 pixels.
    assert fractions == [2.0, 4.0]
    assert not found(run(Fpn(), (1, 3, 64, 64), "RF004"), "RF004")


def test_rf004_aligned_shortcuts() -> None:
    strided = nn.Conv2d(16, 32, 1, stride=2)  # ResNet-B: aligned (but RF005)
    pooled = nn.Sequential(nn.AvgPool2d(3, stride=2, padding=1), nn.Conv2d(16, 32, 1))
    for shortcut in (strided, pooled):
        assert not found(run(Stem4(shortcut), (1, 3, 64, 64), "RF004"), "RF004")


def test_rf004_even_kernel_offset() -> None:
    class Even(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = nn.Conv2d(3, 8, 3, padding=1)
            self.b = nn.Conv2d(3, 8, 2, padding=0)  # centre at 0.5, one pixel shorter

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.cat([self.a(x)[..., :-1, :-1], self.b(x)], 1).mean((2, 3))

    # half a pixel of the merged map: below the default threshold, reported when asked
    assert not found(run(Even(), (1, 3, 16, 16), "RF004"), "RF004")
    [f] = found(run(Even(), (1, 3, 16, 16), "RF004", {"min_offset_fraction": 0.25}), "RF004")
    assert "`cat`" in f.message
    assert f.values["offset_px"] == pytest.approx(0.5)


# --------------------------------------------------------------------------- RF005


@pytest.mark.parametrize(
    ("k", "s", "d", "read"),
    [
        (1, 2, 1, Fraction(1, 2)),
        (2, 2, 1, Fraction(1)),
        (3, 2, 1, Fraction(1)),
        (3, 2, 2, Fraction(1, 2)),
        (3, 4, 1, Fraction(3, 4)),
        (2, 4, 2, Fraction(1, 2)),
        (2, 3, 2, Fraction(2, 3)),
        (3, 3, 2, Fraction(1)),
        (5, 1, 1, Fraction(1)),
    ],
)
def test_rf005_read_fraction(k: int, s: int, d: int, read: Fraction) -> None:
    assert read_fraction(k, s, d) == read


class Strided(nn.Module):
    def __init__(self, layer: nn.Module) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.layer = layer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer(self.stem(x)).mean((2, 3))


def test_rf005_pointwise_stride_two_skips_three_quarters() -> None:
    [f] = found(run(Strided(nn.Conv2d(8, 8, 1, stride=2)), (1, 3, 16, 16), "RF005"), "RF005")
    assert f.layer == "layer"
    assert f.values["skipped"] == "3/4" and f.values["skipped_fraction"] == 0.75
    assert "reads 1/4 of its input pixels: 3/4 (75.0%)" in f.message


def test_rf005_pools_axes_and_threshold() -> None:
    # 2×2 max pool with stride 3: 2/3 per axis read, 1 − 4/9 = 5/9 skipped
    [f] = found(run(Strided(nn.MaxPool2d(2, stride=3)), (1, 3, 16, 16), "RF005"), "RF005")
    assert f.values["skipped"] == "5/9"
    # a single-pixel axis skips nothing: only the width counts (1/2 skipped)
    [f] = found(run(Strided(nn.Conv2d(8, 8, 1, stride=2)), (1, 3, 1, 16), "RF005"), "RF005")
    assert f.values["skipped"] == "1/2"
    assert not found(
        run(
            Strided(nn.Conv2d(8, 8, 1, stride=2)),
            (1, 3, 16, 16),
            "RF005",
            {"min_skipped_fraction": 0.75},
        ),
        "RF005",
    )
    for ok in (
        nn.Conv2d(8, 8, 3, stride=2, padding=1),
        nn.MaxPool2d(2),
        nn.ConvTranspose2d(8, 8, 1, stride=2),
    ):
        assert not found(run(Strided(ok), (1, 3, 16, 16), "RF005"), "RF005")


# --------------------------------------------------------------------------- real models


@cache
def torchvision_analysis(name: str) -> Analysis:
    import torchvision

    model = getattr(torchvision.models, name)()
    return convscope.analyze(model, (1, 3, 224, 224), name=f"torchvision:{name}")


@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v2"])
def test_real_models_rf_rules(name: str) -> None:
    result = lint(
        torchvision_analysis(name), Settings(select=("RF",)), receptive_field=with_receptive_field
    )
    assert not result.skipped
    # ResNet-B's 1×1 stride-2 shortcuts sit beside a 3×3 stride-2 branch that reads every
    # pixel, so RF005 is quiet on them too: published designs pass the RF rules.
    assert Counter(f.code for f in result.findings) == {}


def test_resnet50_cli_passes_the_rf_rules() -> None:
    result = CliRunner().invoke(main, ["lint", "torchvision:resnet50", "--select", "RF"])
    assert result.exit_code == 0, result.output
    assert "no findings" in result.stdout


class ShortcutOnly(nn.Module):
    """A transition whose only path is a 1×1 stride-2 conv: 3/4 of the pixels are lost."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.down = nn.Conv2d(8, 16, 1, stride=2)
        self.body = nn.Conv2d(16, 16, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.down(torch.relu(self.stem(x)))
        return (y + self.body(y)).mean((2, 3))  # the merge comes after the stride


def test_rf005_without_a_parallel_branch_fires() -> None:
    [f] = found(run(ShortcutOnly(), (1, 3, 32, 32), "RF005"), "RF005")
    assert f.layer == "down" and "no parallel branch" in f.message


def test_rf005_strided_slicing() -> None:
    class Sliced(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3, padding=1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.conv(x)[:, :, ::2, ::2].mean((2, 3))

    [f] = found(run(Sliced(), (1, 3, 32, 32), "RF005"), "RF005")
    assert f.values["skipped_fraction"] == 0.75 and "strided slice 2×2" in f.message


def test_rf005_space_to_depth_slices_read_every_pixel() -> None:
    class SpaceToDepth(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(12, 8, 3, padding=1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            phases = [x[..., i::2, j::2] for i in (0, 1) for j in (0, 1)]
            return self.conv(torch.cat(phases, 1)).mean((2, 3))

    assert not found(run(SpaceToDepth(), (1, 3, 32, 32), "RF005"), "RF005")


class FunctionalStem(nn.Module):
    """Two ``F.conv2d`` 1×1 calls on the input in the root module's own forward."""

    def __init__(self) -> None:
        super().__init__()
        self.w1 = nn.Parameter(torch.zeros(8, 3, 1, 1))
        self.w2 = nn.Parameter(torch.zeros(8, 8, 1, 1))
        self.spatial = nn.Conv2d(8, 8, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.conv2d(x, self.w1)  # the first call: the line the finding must name
        x = F.conv2d(x, self.w2)
        return self.spatial(x).mean((2, 3))


def test_rf002_functional_calls_name_their_line_and_offer_no_rewrite() -> None:
    import inspect

    model = FunctionalStem()
    analysis = convscope.analyze(model, (1, 3, 32, 32), name="functional")
    result = lint(
        analysis,
        Settings(select=("RF002",)),
        receptive_field=with_receptive_field,
        module=model,
        source_file=__file__,
    )
    [f] = found(result, "RF002")
    lines, start = inspect.getsourcelines(FunctionalStem.forward)
    call = start + next(i for i, text in enumerate(lines) if "self.w1)" in text)
    assert f.location is not None and f.location.line == call
    assert f"(root), line {call}" in f.message
    assert f.rewrite is None  # `convscope rewrite --only ''` would fail: none is offered


class ChannelsLastMlp(nn.Module):
    """Patchify stem, then per-pixel ``nn.Linear`` MLP blocks on ``[N, H, W, C]``."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 2, stride=2)
        self.fc = nn.ModuleList(nn.Linear(16, 16) for _ in range(3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.stem(x).permute(0, 2, 3, 1)
        for fc in self.fc:
            y = torch.relu(fc(y))
        return y.mean((1, 2))


def test_rf002_counts_channels_last_linears_as_1x1_and_offers_no_spatialize() -> None:
    analysis = convscope.analyze(ChannelsLastMlp(), (1, 3, 32, 32), name="mlp")
    result = lint(analysis, Settings(select=("RF002",)), receptive_field=with_receptive_field)
    [f] = found(result, "RF002")
    assert "3 channels-last linear layers in a row (`fc.0` … `fc.2`)" in f.message
    assert f.values["resolution"] == "16×16" and f.values["rf"] == "2×2"
    assert f.rewrite is None  # spatialize rewrites 1×1 convs, not linear layers
    assert f.suggestion is not None and "in front of the channels-last linear" in f.suggestion
