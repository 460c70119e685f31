"""Exact receptive fields at every output position of resampling graphs (upsampling,
transposed convs, fractional strides), against gradient supports of a positive network."""

from __future__ import annotations

import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from torch import nn

import convscope
from convscope.analysis.rf import with_receptive_field
from convscope.checks.rf_verify import verify_rf
from convscope.passes.keys import RECEPTIVE_FIELD
from convscope.passes.receptive import positions
from convscope.passes.receptive.result import NodeRF, ReceptiveField


def _rf(model: nn.Module, shape: tuple[int, ...]) -> tuple[convscope.Analysis, NodeRF]:
    a = with_receptive_field(convscope.analyze(model, shape))
    section = a.need(RECEPTIVE_FIELD)
    assert isinstance(section, ReceptiveField) and section.output is not None
    return a, section.output


def _positive(model: nn.Module) -> nn.Module:
    """Every weight 1, every bias 0: no two paths cancel, the gradient support is exact."""
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(0.0 if p.dim() == 1 else 1.0)
    return model


def _supports(model: nn.Module, shape: tuple[int, ...]) -> list[tuple[int, int] | None]:
    """Input-gradient bounding box of every output position (1-d models)."""
    x = torch.ones(shape, dtype=torch.float64, requires_grad=True)
    y = model.double()(x)
    out: list[tuple[int, int] | None] = []
    for j in range(y.shape[-1]):
        (g,) = torch.autograd.grad(y[0, :, j].sum(), x, retain_graph=True)
        mass = g[0].abs().sum(0)
        # A tap whose weight is a rounding residue (1e-16 where the exact weight is 0, as in
        # linear resampling at exact source positions) is not read.
        nz = torch.nonzero(mass > 1e-9 * mass.max()).flatten()
        out.append((int(nz.min()), int(nz.max())) if len(nz) else None)
    return out


def _agree_everywhere(model: nn.Module, shape: tuple[int, ...], rf: NodeRF) -> None:
    n_in = shape[-1]
    axis = len(rf.size) - 1  # a lone 1-d pool makes the pass read [N, C, L] as 2 axes
    for j, measured in enumerate(_supports(_positive(model), shape)):
        lo, hi = rf.interval(axis, j)
        clipped = (max(0, int(lo)), min(n_in - 1, int(hi)))
        if not rf.reads_padding(axis, j):
            assert measured == clipped, (j, measured, (lo, hi))
        elif measured is not None:  # reads padding too: the support lies inside
            assert clipped[0] <= measured[0] and measured[1] <= clipped[1], (j, measured)


def test_chained_nearest_upsamples_report_the_largest_rf_over_positions() -> None:
    # 3-tap conv, nearest ×2, 3-tap conv, nearest ×2, 3-tap conv. At output stride 1/4 the
    # last conv's window covers 3 consecutive outputs: 1 or 2 pixels after the second ×2,
    # whose windows then cover 2 to 3 pixels of the first: the size cycles with period 4.
    model = nn.Sequential(
        nn.Conv1d(1, 1, 3, padding=1),
        nn.Upsample(scale_factor=2),
        nn.Conv1d(1, 1, 3, padding=1),
        nn.Upsample(scale_factor=2),
        nn.Conv1d(1, 1, 3, padding=1),
    )
    _, rf = _rf(model, (1, 1, 16))
    assert rf.stride == (0.25,) and rf.period(0) == 4
    sizes = [size for size, _ in rf.phases(0) or ()]
    assert sizes == [4, 5, 5, 4]
    assert rf.size == (5,) and rf.size_range(0) == (4, 5)
    _agree_everywhere(model, (1, 1, 16), rf)


def test_transposed_conv_positions_are_exact() -> None:
    model = nn.Sequential(nn.ConvTranspose1d(1, 1, 3, stride=2, padding=1), nn.Conv1d(1, 1, 3))
    _, rf = _rf(model, (1, 1, 9))
    assert rf.period(0) == 2
    _agree_everywhere(model, (1, 1, 9), rf)


def test_windows_over_an_interleaved_transposed_conv_take_every_tap() -> None:
    # ConvTranspose1d k3 s3 p1 d2 op1: output o reads input (o + 1 − 2t)/3, so outputs
    # 14, 15, 16, 17 read inputs 5, 4, 5, 6: the intervals are not monotone. A dilated
    # conv (taps o, o + 2) then a k2/s2 conv: output 7 reads dilated outputs 14 and 15,
    # i.e. transposed outputs 14, 16 (input 5) and 15, 17 (inputs 4 and 6) → [4, 6]; the
    # dilated conv's output 14 skips transposed output 15, so it reads input 5 only.
    model = nn.Sequential(
        nn.ConvTranspose1d(1, 1, 3, stride=3, padding=1, dilation=2, output_padding=1),
        nn.Conv1d(1, 1, 2, dilation=2),
        nn.Conv1d(1, 1, 2, stride=2),
    )
    a = with_receptive_field(convscope.analyze(model, (1, 1, 10)))
    rf = a.section(RECEPTIVE_FIELD)
    assert rf is not None
    assert rf.per_layer["1"].interval(0, 14) == (5, 5)
    assert rf.per_layer["1"].interval(0, 15) == (4, 6)
    assert rf.per_layer["2"].interval(0, 7) == (4, 6)
    _agree_everywhere(model, (1, 1, 10), rf.per_layer["2"])


@pytest.mark.parametrize(
    "last",
    [nn.Upsample(size=2, mode="nearest"), nn.Conv1d(1, 1, 2, padding=1, dilation=2)],
    ids=["upsample", "dilated-conv"],
)
def test_a_window_over_an_axis_the_layout_lost_claims_no_positions(last: nn.Module) -> None:
    # A 1-d pool is run as 2-d and squeezed back to one pixel: the layout cannot tell which
    # size-1 dim the spatial axis went to. The next window must not keep the old positions
    # as if exact (they described one pixel; the upsample makes two, and the dilated conv's
    # only output reads nothing but padding).
    model = nn.Sequential(nn.Conv1d(1, 1, 1, stride=2), nn.AvgPool1d(2, 2), last)
    a = with_receptive_field(convscope.analyze(model, (1, 1, 6)))
    rf = a.section(RECEPTIVE_FIELD)
    assert rf is not None and rf.output is not None
    assert rf.output.positions is None or rf.output.positions[-1] is None
    assert "2" in rf.approximate


def test_rf_json_reports_range_and_phases_only_when_they_vary() -> None:
    from convscope.analysis.schema import to_dict

    # a 2-tap conv after ×2 reads one pixel at even positions, two at odd ones
    up = nn.Sequential(nn.Conv1d(1, 1, 3, padding=1), nn.Upsample(scale_factor=2))
    doc = to_dict(_rf(nn.Sequential(up, nn.Conv1d(1, 1, 2)), (1, 1, 8))[0])
    section = doc["receptive_field"]
    assert section["size"] == [4] and section["size_range"] == [[3, 4]]
    assert [p["size"] for p in section["phases"][0]] == [3, 4]
    plain = to_dict(_rf(nn.Conv1d(1, 1, 3), (1, 1, 8))[0])["receptive_field"]
    assert "size_range" not in plain and "phases" not in plain


def test_verify_rf_covers_every_phase_and_the_borders() -> None:
    model = nn.Sequential(
        nn.Conv2d(1, 1, 3, padding=1),
        nn.Upsample(scale_factor=4),
        nn.Conv2d(1, 1, 3, padding=1),
    )
    a, _ = _rf(model, (1, 1, 8, 8))
    res = verify_rf(model, (1, 1, 8, 8), a, layers=["2"])
    (check,) = res.checks
    assert check.exact and res.all_agree, res.render()
    rows = {p[0] for p in check.positions}
    assert {0, 1, 30, 31} <= rows  # borders (the map is 32 × 32)
    assert {p[0] % 4 for p in check.positions} == {0, 1, 2, 3}  # every phase of stride ¼
    assert {p[1] % 4 for p in check.positions} == {0, 1, 2, 3}


@st.composite
def resampling_cases(draw: st.DrawFn) -> tuple[nn.Module, tuple[int, int, int]]:
    n0 = draw(st.integers(6, 14))
    n = n0
    layers: list[nn.Module] = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["conv", "tconv", "nearest", "linear", "pool", "adaptive"]))
        if kind == "conv":
            k, s, d = draw(st.integers(1, 4)), draw(st.integers(1, 2)), draw(st.integers(1, 2))
            p = draw(st.integers(0, k // 2))
            out = (n + 2 * p - d * (k - 1) - 1) // s + 1
            layer: nn.Module = nn.Conv1d(1, 1, k, s, p, d)
        elif kind == "tconv":
            s = draw(st.integers(1, 3))
            k = draw(st.integers(s, 4))  # k ≥ s: every output reads some input
            p = draw(st.integers(0, k - 1))
            out = (n - 1) * s - 2 * p + k
            layer = nn.ConvTranspose1d(1, 1, k, s, p)
        elif kind in ("nearest", "linear"):
            out = draw(st.integers(n + 1, 3 * n))
            layer = nn.Upsample(size=out, mode=kind)
        elif kind == "pool":
            k = draw(st.integers(1, 3))
            out = n // k
            layer = nn.AvgPool1d(k)
        else:
            out = draw(st.integers(1, n))
            layer = nn.AdaptiveAvgPool1d(out)
        if not 1 <= out <= 80:
            continue
        layers.append(layer)
        n = out
    if not layers:
        layers.append(nn.Upsample(scale_factor=2))
    return nn.Sequential(*layers), (1, 1, n0)


@settings(
    max_examples=60,
    derandomize=True,  # the same 60 graphs on every run: CI never draws a new one
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(resampling_cases())
def test_random_resampling_graphs_exact_at_every_position(
    case: tuple[nn.Module, tuple[int, int, int]],
) -> None:
    model, shape = case
    a, rf = _rf(model, shape)
    assume(not rf.is_global)  # pooled to a single position: nothing positional left
    if rf.positions is not None and rf.positions[-1] is not None:
        _agree_everywhere(model, shape, rf)
    else:  # the pass lost the axis (a lone 1-d pool read as 2-d): affine, with tolerance
        assert any(isinstance(m, nn.AvgPool1d) for m in model)
    res = verify_rf(model, shape, a, layers=[str(len(model) - 1)])
    assert res.all_agree, res.render()


def test_period_is_the_denominator_of_the_stride() -> None:
    assert positions.period(2.0) == 1 and positions.period(0.0) == 1  # 0: a broadcast
    assert positions.period(0.5) == 2 and positions.period(2 / 3) == 3


def test_compose_a_padded_window_on_the_input() -> None:
    # 3-wide window, stride 1, padding 1 on 5 input pixels: output j reads [j − 1, j + 1];
    # the first and last read padding
    up = positions.identity(5)
    got = positions.compose(up, 1.0, 2.0, 1.0, -1.0, 0.0, 5, 5, None)
    assert got is not None
    los, his, pads = got
    assert los == (-1, 0, 1, 2, 3) and his == (1, 2, 3, 4, 5)
    assert pads == (True, False, False, False, True)
    # without intervals, a step that is not exactly affine (jitter) drops the positions
    assert positions.compose(up, 1.0, 2.0, 1.0, -1.0, 0.5, 5, 5, None) is None
    # a layer input of another length than the positions describe: unknown
    assert positions.compose(up, 1.0, 2.0, 1.0, -1.0, 0.0, 6, 6, None) is None


def test_hull_of_merged_branches() -> None:
    a = ((0.0, 1.0), (2.0, 3.0), (False, False))
    b = ((-1.0, 1.0), (1.0, 4.0), (True, False))
    assert positions.hull([a, b], 2) == ((-1.0, 1.0), (2.0, 4.0), (True, False))
    assert positions.hull([a, None], 2) is None
