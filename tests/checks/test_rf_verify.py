"""The analytic receptive field against the network itself (``--verify-rf``).

The property test builds random small CNNs (conv / pool with stride, padding, dilation,
ceil mode, non-square kernels and inputs, residual adds and concatenations, including
misaligned ResNet-D shortcuts and branches shifted by asymmetric pads) and checks that the
gradient support of the centre pixel of every block equals the analytic extent
``[i·S − P, i·S − P + r − 1]`` (inside the image; contained in it when clipped).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

import convscope
from convscope import formulas as fm
from convscope.analysis.rf import with_receptive_field
from convscope.checks.rf_verify import verify_rf


def analyze_rf(model: nn.Module, shape: tuple[int, ...]) -> convscope.Analysis:
    return with_receptive_field(convscope.analyze(model, shape))


# -- fixed CNNs ---------------------------------------------------------------------------


class Plain(nn.Module):
    """Non-square kernels and strides, dilation, ceil-mode max pool, functional ops."""

    def __init__(self) -> None:
        super().__init__()
        self.c1 = nn.Conv2d(2, 3, (3, 5), stride=(1, 2), padding=(1, 0))
        self.bn = nn.BatchNorm2d(3)
        self.pool = nn.MaxPool2d((3, 2), stride=2, padding=(1, 0), ceil_mode=True)
        self.c2 = nn.Conv2d(3, 3, 3, padding=2, dilation=2)
        self.c3 = nn.Conv2d(3, 4, (1, 3), stride=(2, 1))
        self.act = nn.Hardtanh()  # saturates at 1: must be replaced to see the support

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.act(self.bn(self.c1(x))))
        x = F.relu6(self.c2(x))
        x = F.max_pool2d(x, 2, 1, ceil_mode=True)
        return torch.sigmoid(self.c3(x))


class Branchy(nn.Module):
    """Inception-style concat and a residual add of branches with different RFs."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(1, 2, 3, 2, 1)
        self.b1 = nn.Conv2d(2, 2, 1)
        self.b3 = nn.Conv2d(2, 2, (3, 1), padding=(1, 0))
        self.b5 = nn.Sequential(nn.Conv2d(2, 2, 3, padding=1), nn.Conv2d(2, 2, 3, padding=1))
        self.bp = nn.Sequential(nn.MaxPool2d(3, 1, 1), nn.Conv2d(2, 2, 1))
        self.res = nn.Conv2d(8, 8, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.stem(x))
        y = torch.cat([self.b1(x), self.b3(x), self.b5(x), self.bp(x)], 1)
        return y + self.res(y)


@pytest.mark.parametrize(
    ("model", "shape"),
    [
        (Plain(), (1, 2, 29, 37)),
        (Branchy(), (1, 1, 24, 17)),
    ],
)
def test_fixed_models_agree(model: nn.Module, shape: tuple[int, ...]) -> None:
    a = analyze_rf(model, shape)
    paths = [r.path for r in a.rows]
    res = verify_rf(model, shape, a, layers=paths)
    assert res.checks and res.all_agree, res.render()
    assert all(c.exact for c in res.checks)
    assert "agree" in res.render()


def test_resnet18_non_square_agrees_and_model_untouched() -> None:
    import torchvision

    model = torchvision.models.resnet18(num_classes=10).train()
    state = copy.deepcopy(model.state_dict())
    shape = (1, 3, 48, 40)
    a = analyze_rf(model, shape)
    res = verify_rf(model, shape, a, max_layers=12)
    assert len(res.checks) == 12 and res.all_agree, res.render()
    assert res.check("avgpool").is_global
    assert model.training and all(m.training for m in model.modules())
    after = model.state_dict()
    assert all(torch.equal(after[k], v) for k, v in state.items())
    assert isinstance(model.relu, nn.ReLU) and isinstance(model.maxpool, nn.MaxPool2d)


def test_meta_model_is_materialised() -> None:
    with torch.device("meta"):
        model = Branchy()
    a = analyze_rf(model, (1, 1, 16, 16))
    res = verify_rf(model, (1, 1, 16, 16), a)
    assert res.all_agree, res.render()
    assert all(p.is_meta for p in model.parameters())


class UNetish(nn.Module):
    def __init__(self, mode: str) -> None:
        super().__init__()
        self.enc = nn.Conv2d(1, 2, 3, padding=1)
        self.down = nn.Conv2d(2, 2, 3, 2, 1)
        self.up = (
            nn.ConvTranspose2d(2, 2, 4, 2, 1)
            if mode == "transposed"
            else nn.Upsample(scale_factor=2, mode=mode)
        )
        self.dec = nn.Conv2d(4, 1, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e = self.enc(x)
        return self.dec(torch.cat([e, self.up(self.down(e))], 1))


@pytest.mark.parametrize("mode", ["transposed", "nearest", "bilinear"])
def test_upsampling_exact_at_every_checked_position(mode: str) -> None:
    # The pass follows the exact interval of every position through the resampling, so
    # the layers behind it are compared strictly, at every phase and both borders.
    model, shape = UNetish(mode), (1, 1, 32, 24)
    a = analyze_rf(model, shape)
    res = verify_rf(model, shape, a, layers=["enc", "down", "up", "dec"])
    assert res.all_agree, res.render()
    assert all(res.check(p).exact for p in ("down", "up", "dec")), res.render()
    assert len(res.check("dec").positions) > 1


class Spectro(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.c1 = nn.Conv2d(1, 2, (3, 5), padding=(1, 2))
        self.c2 = nn.Conv2d(2, 2, 3, stride=(1, 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.c2(torch.relu(self.c1(x.unsqueeze(1))))


def test_3d_input_of_a_2d_model() -> None:
    model, shape = Spectro(), (2, 20, 31)
    a = analyze_rf(model, shape)
    res = verify_rf(model, shape, a, layers=["c1", "c2"])
    assert res.input_size == (20, 31)
    assert res.all_agree and res.check("c2").measured == ((8, 12), (12, 18)), res.render()


class ChannelsLastBlock(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.dw = nn.Conv2d(4, 4, 5, padding=2, groups=4)
        self.norm = nn.LayerNorm(4)
        self.pw = nn.Linear(4, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.pw(self.norm(self.dw(x).permute(0, 2, 3, 1)))
        return x + y.permute(0, 3, 1, 2)


def test_channels_last_layers_are_verified_on_their_own_dims() -> None:
    model, shape = ChannelsLastBlock(), (1, 4, 15, 11)
    a = analyze_rf(model, shape)
    res = verify_rf(model, shape, a, layers=["dw", "pw", ""])
    assert [c.layer for c in res.checks] == ["dw", "pw", ""]
    assert res.check("pw").measured == ((5, 9), (3, 7))
    assert res.all_agree, res.render()


# -- property test ------------------------------------------------------------------------


@dataclass(frozen=True)
class Win:
    """A conv or pool window per axis."""

    kind: str  # "conv", "max", "avg"
    k: tuple[int, int]
    s: tuple[int, int]
    p: tuple[int, int]
    d: tuple[int, int]
    ceil: bool = False


def out_size(w: Win, n: tuple[int, int]) -> tuple[int, int]:
    if w.kind == "conv":
        return tuple(fm.conv_output_size(n[i], w.k[i], w.s[i], w.p[i], w.d[i]) for i in range(2))  # type: ignore[return-value]
    return tuple(
        fm.pool_output_size(n[i], w.k[i], w.s[i], w.p[i], w.d[i], w.ceil) for i in range(2)
    )  # type: ignore[return-value]


def make(w: Win, cin: int, cout: int) -> nn.Module:
    if w.kind == "conv":
        return nn.Conv2d(cin, cout, w.k, w.s, w.p, w.d)
    if w.kind == "max":
        return nn.MaxPool2d(w.k, w.s, w.p, w.d, ceil_mode=w.ceil)
    return nn.AvgPool2d(w.k, w.s, w.p, ceil_mode=w.ceil)


@st.composite
def windows(draw: st.DrawFn, kinds: tuple[str, ...] = ("conv", "conv", "max", "avg")) -> Win:
    kind = draw(st.sampled_from(kinds))
    k = (draw(st.integers(1, 5)), draw(st.integers(1, 5)))
    s = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    if kind == "conv":
        d = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
        p = (draw(st.integers(0, k[0] + 1)), draw(st.integers(0, k[1] + 1)))
    else:
        d = (draw(st.integers(1, 2)), draw(st.integers(1, 2))) if kind == "max" else (1, 1)
        p = (draw(st.integers(0, k[0] // 2)), draw(st.integers(0, k[1] // 2)))
    return Win(kind, k, s, p, d, ceil=draw(st.booleans()) if kind != "conv" else False)


@st.composite
def same_shape_branches(draw: st.DrawFn, cin: int, cout: int, stride: tuple[int, int]) -> nn.Module:
    """A conv whose output size matches every other one with the same stride: per axis a
    total padding of d(k − 1) (odd kernels). Split unevenly (an explicit pad op, no crop),
    it shifts the branch: misaligned merges whose smaller branch may stick out of the
    larger one, so the merged RF is the hull of both."""
    k = (draw(st.sampled_from([1, 3, 5])), draw(st.sampled_from([1, 3, 5])))
    d = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    total = (d[0] * (k[0] - 1), d[1] * (k[1] - 1))
    before = (draw(st.integers(0, total[0])), draw(st.integers(0, total[1])))
    if draw(st.booleans()) or before == (total[0] // 2, total[1] // 2):
        return nn.Conv2d(cin, cout, k, stride, (total[0] // 2, total[1] // 2), d)
    pad = nn.ZeroPad2d((before[1], total[1] - before[1], before[0], total[0] - before[0]))
    return nn.Sequential(pad, nn.Conv2d(cin, cout, k, stride, 0, d))


class Merge(nn.Module):
    def __init__(self, branches: list[nn.Module], cat: bool, relu: bool) -> None:
        super().__init__()
        self.branches = nn.ModuleList(branches)
        self.cat, self.relu = cat, relu

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ys = [b(x) for b in self.branches]
        y = torch.cat(ys, 1) if self.cat else sum(ys[1:], ys[0])
        return F.relu(y) if self.relu else y


class Net(nn.Module):
    def __init__(self, blocks: list[nn.Module]) -> None:
        super().__init__()
        self.blocks = nn.Sequential(*blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.blocks(x)


@st.composite
def random_nets(draw: st.DrawFn) -> tuple[Net, tuple[int, int, int, int], list[str]]:
    h, w = draw(st.integers(8, 48)), draw(st.integers(8, 48))
    c = draw(st.integers(1, 3))
    shape = (1, c, h, w)
    n = (h, w)
    blocks: list[nn.Module] = []
    for _ in range(draw(st.integers(1, 5))):
        choice = draw(st.sampled_from(["window", "window", "add", "cat", "resnet_d"]))
        if choice == "window":
            win = draw(windows())
            o = out_size(win, n)
            if min(o) < 1:
                continue
            cout = draw(st.integers(1, 4)) if win.kind == "conv" else c
            blocks.append(make(win, c, cout))
            n, c = o, cout
        elif choice in ("add", "cat"):
            stride = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
            nb = draw(st.integers(2, 3))
            cout = draw(st.integers(1, 4))
            branches = [draw(same_shape_branches(c, cout, stride)) for _ in range(nb)]
            if stride == (1, 1) and choice == "add" and c == cout and draw(st.booleans()):
                branches[-1] = nn.Identity()
            o = out_size(Win("conv", (1, 1), stride, (0, 0), (1, 1)), n)
            blocks.append(Merge(branches, cat=choice == "cat", relu=draw(st.booleans())))
            n, c = o, cout * (nb if choice == "cat" else 1)
        else:
            if n[0] % 2 or n[1] % 2:
                continue
            cout = draw(st.integers(1, 4))
            main = nn.Conv2d(c, cout, 3, 2, 1)
            short = nn.Sequential(nn.AvgPool2d(2), nn.Conv2d(c, cout, 1))
            blocks.append(Merge([main, short], cat=False, relu=True))
            n, c = (n[0] // 2, n[1] // 2), cout
    if not blocks:
        blocks.append(nn.Conv2d(c, 2, 3, padding=1))
    paths = [f"blocks.{i}" for i in range(len(blocks))]
    return Net(blocks), shape, paths


@settings(
    max_examples=200,
    derandomize=True,  # reproducible in CI; wider random sweeps are run by hand
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(random_nets())
def test_random_graphs_analytic_equals_measured(
    case: tuple[Net, tuple[int, int, int, int], list[str]],
) -> None:
    model, shape, paths = case
    a = analyze_rf(model, shape)
    res = verify_rf(model, shape, a, layers=paths)
    assert len(res.checks) == len(paths), res.render()
    assert all(c.exact for c in res.checks)
    assert res.all_agree, res.render()
