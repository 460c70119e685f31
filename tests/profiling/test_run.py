"""``convscope.profiling``: roofline arithmetic (hand numbers), statistics, and real CPU runs.

Timing tests never assert absolute speed. They assert invariants (the reported Σ layers is
the sum of the per-layer rows, the remainder what they leave of the end-to-end median),
relative agreement that holds on a loaded 2-core machine (per-layer sum within 15 % of the
end-to-end median; two runs' medians within 50 % of each other),
and behaviour (channels_last, traces, state restored). Runs use one thread: with two
threads on two shared cores, OpenMP barriers stall whenever another process runs.
"""

from __future__ import annotations

import json
import math
import mmap
import os
import statistics
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision
from torch import nn

from convscope.analysis.build import Analysis
from convscope.analysis.schema import to_dict
from convscope.api import analyze
from convscope.errors import ConvscopeError
from convscope.model.arguments import ModelInputs
from convscope.profiling import layers as layers_mod
from convscope.profiling import measure
from convscope.profiling.keys import PROFILE
from convscope.profiling.run import (
    ProfileResult,
    ProfileSection,
    latency_verdict,
    profile,
    with_profile,
)
from convscope.render.analysis import markdown
from convscope.render.report import html
from convscope.targets import roofline
from convscope.targets.roofline import RooflineParams, estimate

SHAPE = (1, 3, 112, 112)


# --------------------------------------------------------------------------- roofline


@dataclass(frozen=True)
class Row:
    path: str
    type_name: str
    flops: int
    other_flops: int
    traffic: int


# 100 GFLOP/s and 10 GB/s: ridge point 10 FLOP/B.
P = RooflineParams(peak_flops=100e9, bandwidth=10e9, name="hand")


def test_ridge_and_predicted_time() -> None:
    assert P.ridge_point == 10.0
    # 1 GFLOP, 10 MB: compute 10 ms, memory 1 ms -> 10 ms, compute-bound (intensity 100).
    assert roofline.predicted_time(1e9, 1e7, P) == pytest.approx(10e-3)
    assert roofline.bound_of(1e9, 1e7, P) == "compute"
    # 1 MFLOP, 100 MB: compute 0.01 ms, memory 10 ms -> memory-bound (intensity 0.01).
    assert roofline.predicted_time(1e6, 1e8, P) == pytest.approx(10e-3)
    assert roofline.bound_of(1e6, 1e8, P) == "memory"
    # Exactly at the ridge point (intensity 10): compute-bound by convention.
    assert roofline.bound_of(1e9, 1e8, P) == "compute"
    assert roofline.bound_of(0, 0, P) == "none"
    assert roofline.bound_of(5, 0, P) == "compute"
    assert roofline.achieved_fraction(10e-3, 20e-3) == 0.5
    assert roofline.achieved_fraction(10e-3, None) is None
    assert roofline.achieved_fraction(10e-3, 0.0) is None


def test_params_validation() -> None:
    for bad in (0, -1.0, math.inf, math.nan):
        with pytest.raises(ValueError):
            RooflineParams(bad, 1e9)
        with pytest.raises(ValueError):
            RooflineParams(1e9, bad)
    with pytest.raises(ValueError):
        roofline.predicted_time(-1, 0, P)


def test_estimate_per_layer_shares_and_hotspots() -> None:
    rows = [
        Row("conv", "Conv2d", flops=900_000_000, other_flops=100_000_000, traffic=10_000_000),
        Row("dw", "Conv2d", flops=1_000_000, other_flops=0, traffic=100_000_000),
        Row("relu", "ReLU", flops=0, other_flops=1_000_000, traffic=20_000_000),
        Row("view", "Flatten", flops=0, other_flops=0, traffic=0),
    ]
    rep = estimate(rows, P, measured_s={"conv": 20e-3, "dw": 40e-3, "other": 1.0})
    conv, dw, relu, view = rep.layers
    # FLOPs are 2·MACs + other FLOPs: 1 GFLOP -> 10 ms compute, 1 ms memory.
    assert conv.flops == 1_000_000_000 and conv.bound == "compute"
    assert conv.predicted_s == pytest.approx(10e-3) and conv.intensity == 100.0
    assert dw.bound == "memory" and dw.predicted_s == pytest.approx(10e-3)
    assert relu.bound == "memory" and relu.predicted_s == pytest.approx(2e-3)
    assert view.bound == "none" and view.predicted_s == 0.0 and view.intensity == 0.0
    assert rep.predicted_s == pytest.approx(22e-3)
    assert conv.predicted_share == pytest.approx(10 / 22)
    # Measured: achieved = predicted / measured; shares over the measured rows only.
    assert conv.achieved == pytest.approx(0.5) and dw.achieved == pytest.approx(0.25)
    assert relu.measured_s is None and relu.achieved is None
    assert conv.measured_share == pytest.approx(1 / 3)
    assert rep.measured_s == pytest.approx(60e-3)
    assert rep.achieved == pytest.approx(20e-3 / 60e-3)
    assert rep.bound_share("memory") == pytest.approx(12 / 22)
    assert rep.bound_share("memory", measured=True) == pytest.approx(40 / 60)
    # PF001's view: memory-bound layers holding >= 30 % of the predicted time.
    assert [x.path for x in rep.hotspots(0.3)] == ["dw"]
    assert [x.path for x in rep.hotspots(0.05)] == ["dw", "relu"]
    assert rep.layer("dw") is dw and rep.layer("missing") is None


def test_estimate_on_a_real_analysis_rows() -> None:
    a = analyze(torchvision.models.mobilenet_v2(), SHAPE)
    rep = estimate(a.rows, RooflineParams(65e12, 320e9, name="gpu-fp16"))
    assert rep.predicted_s > 0
    assert sum(x.predicted_share for x in rep.layers) == pytest.approx(1.0)
    depthwise = rep.layer("features.2.conv.1.0")
    assert depthwise is not None and depthwise.bound == "memory"  # depthwise: low intensity


# --------------------------------------------------------------------------- statistics


def test_quantiles_match_numpy_linear() -> None:
    data = [float(x) for x in range(1, 11)]
    assert measure.quantiles(data, (0.1, 0.5, 0.9)) == pytest.approx([1.9, 5.5, 9.1])
    s = measure.Stats.of([2.0, 1.0, 3.0])
    assert (s.median_s, s.min_s, s.max_s, s.iters) == (2.0, 1.0, 3.0, 3)
    assert s.spread == pytest.approx((2.8 - 1.2) / 2.0)
    assert measure.Stats.of([5.0]).spread == 0.0


def test_central_iterations() -> None:
    assert layers_mod.central_iterations([]) == []
    assert layers_mod.central_iterations([3.0]) == [0]
    assert layers_mod.central_iterations([9.0, 1.0, 5.0, 7.0, 3.0, 100.0, 4.0, 6.0]) == [2, 3, 6, 7]


def test_latency_verdict_is_noise_aware() -> None:
    base = {"p10_ms": 9.0, "p90_ms": 11.0}
    assert latency_verdict(base, {"p10_ms": 10.0, "p90_ms": 13.0}) == "unchanged"
    assert latency_verdict(base, {"p10_ms": 11.6, "p90_ms": 13.0}) == "regressed"
    assert latency_verdict(base, {"p10_ms": 11.4, "p90_ms": 13.0}) == "unchanged"  # < 5 %
    assert latency_verdict(base, {"p10_ms": 7.0, "p90_ms": 8.5}) == "improved"
    assert latency_verdict(base, {"p10_ms": 11.4, "p90_ms": 13.0}, pct=0.0) == "regressed"


def test_make_inputs() -> None:
    dev = torch.device("cpu")
    meta = torch.empty(1, 3, 8, 8, device="meta")
    ids = torch.empty(1, 5, dtype=torch.long, device="meta")
    made = measure.make_inputs(ModelInputs((meta,), {"ids": ids}), 4, dev)
    x, i = made.args[0], made.kwargs["ids"]
    assert x.shape == (4, 3, 8, 8) and not x.is_meta and x.std() > 0
    assert i.shape == (4, 5) and i.dtype == torch.long and int(i.abs().sum()) == 0
    real = torch.arange(2.0).reshape(2, 1)
    (r,) = measure.make_inputs(ModelInputs((real,)), 5, dev).args
    assert r.flatten().tolist() == [0.0, 1.0, 0.0, 1.0, 0.0]
    (c,) = measure.make_inputs(ModelInputs((meta,)), 2, dev, channels_last=True).args
    assert c.is_contiguous(memory_format=torch.channels_last) and not c.is_contiguous()


# --------------------------------------------------------------------------- real CPU runs


@pytest.fixture(scope="module")
def resnet18() -> torchvision.models.ResNet:
    torch.manual_seed(0)
    return torchvision.models.resnet18()


def _check_reconciliation(a: Analysis, section: ProfileSection, result: ProfileResult) -> None:
    """The reported Σ layers equals the sum of the per-layer rows the report prints (each
    read back through ``layer_dict``, summed here), and the remainder is what those rows
    leave of the end-to-end median."""
    paths = list(dict.fromkeys(r.path for r in a.rows))
    rows_ms = [(section.layer_dict(p) or {}).get("ms") for p in paths]
    timed = [ms for ms in rows_ms if ms is not None]
    assert timed, "no layer got a time"
    rows_sum_ms = math.fsum(timed)
    layers = section.summary_dict()["layers"]
    # each printed time is rounded to 1e-6 ms
    assert layers["layers_sum_ms"] == pytest.approx(rows_sum_ms, abs=1e-6 * (len(timed) + 1))
    e2e_ms = result.e2e_median_s * 1e3
    assert layers["remainder_ms"] == pytest.approx(
        e2e_ms - rows_sum_ms, abs=1e-6 * (len(timed) + 2)
    )


@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v2"])
def test_layers_reconcile_with_end_to_end(name: str) -> None:
    torch.manual_seed(0)
    model = getattr(torchvision.models, name)()
    model.train()  # profile() switches to eval and must put this back
    train_flags = [m.training for m in model.modules()]
    params = [p.data_ptr() for p in model.parameters()]
    result = profile(model, SHAPE, threads=1, min_time=0.4, name=name)
    a = with_profile(analyze(model, SHAPE), result)
    section = a.need(PROFILE)
    assert isinstance(section, ProfileSection)
    _check_reconciliation(a, section, result)
    # How much of the end-to-end time the hooks account for depends on the machine's load
    # (benchmarks/bench_profile.py measures it), so no bound on the remainder here.
    summary = section.summary_dict()
    assert summary["threads"] == 1 and summary["batches"][0]["iters"] >= 3
    # Every conv of the analysis got a time.
    convs = [r.path for r in a.rows if r.type_name == "Conv2d"]
    assert convs and all((section.layer_dict(p) or {}).get("ms", 0) > 0 for p in convs)
    # The user's model is unchanged: flags, parameters, no hooks left behind.
    assert [m.training for m in model.modules()] == train_flags
    assert [p.data_ptr() for p in model.parameters()] == params
    assert not result.model_copied
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())
    assert not nn.modules.module._global_forward_hooks
    assert not nn.modules.module._global_forward_pre_hooks


def test_repeated_runs_keep_their_order_statistics(resnet18: torchvision.models.ResNet) -> None:
    """Two runs of the same model: each run's statistics are ordered. How close the two
    medians are depends on the machine's load, so benchmarks/bench_profile.py measures it."""
    runs = [
        profile(resnet18, (1, 3, 64, 64), threads=1, min_time=0.3, per_layer=False)
        for _ in range(2)
    ]
    for r in runs:
        s = r.batches[0].stats
        assert s.p10_s <= s.median_s <= s.p90_s and s.iters >= 3


def test_batch_sizes_threads_and_max_iters(resnet18: torchvision.models.ResNet) -> None:
    before = torch.get_num_threads()
    result = profile(
        resnet18,
        (1, 3, 32, 32),
        batch_sizes=(1, 3),
        threads=1,
        min_time=10.0,
        max_iters=2,
        warmup=1,
        per_layer=False,
    )
    assert torch.get_num_threads() == before  # restored
    assert result.threads == 1
    assert [b.batch_size for b in result.batches] == [1, 3]
    assert result.batches[1].input_shapes == ((3, 3, 32, 32),)
    for b in result.batches:
        assert b.stats.iters == 2  # max_iters beats min_time
        assert b.throughput == pytest.approx(b.batch_size / b.stats.median_s)
        assert b.memory is not None and b.memory.method.startswith("rss")
        assert b.memory.peak_bytes >= b.memory.before_bytes
    assert result.layers is None


def test_channels_last_changes_the_memory_format(resnet18: torchvision.models.ResNet) -> None:
    work, copied = measure.prepare_model(resnet18, torch.device("cpu"), channels_last=True)
    assert copied and work is not resnet18
    conv1 = work.get_submodule("conv1")
    assert isinstance(conv1, nn.Conv2d)
    assert conv1.weight.is_contiguous(memory_format=torch.channels_last)
    assert not conv1.weight.is_contiguous()
    assert resnet18.conv1.weight.is_contiguous()  # the user's model is untouched

    result = profile(
        resnet18,
        (1, 3, 32, 32),
        channels_last=True,
        threads=1,
        min_time=0.0,
        max_iters=3,
        per_layer=False,
    )
    assert result.channels_last and result.model_copied
    assert result.conv_input_channels_last is True
    assert result.conv_weight_channels_last is True
    plain = profile(resnet18, (1, 3, 32, 32), threads=1, min_time=0.0, max_iters=3, per_layer=False)
    assert plain.conv_input_channels_last is False
    assert plain.conv_weight_channels_last is False
    assert resnet18.conv1.weight.is_contiguous()


def test_trace_files_are_valid_and_name_layers(
    resnet18: torchvision.models.ResNet, tmp_path: Path
) -> None:
    result = profile(
        resnet18,
        (1, 3, 32, 32),
        threads=1,
        min_time=0.0,
        max_iters=3,
        warmup=1,
        trace_dir=str(tmp_path / "prof"),
    )
    trace = result.trace
    assert trace is not None
    doc = json.loads((tmp_path / "prof" / "trace.json").read_text())
    names = {e.get("name") for e in doc["traceEvents"]}
    for layer in ("conv1", "layer1.0.conv1", "layer4.1.bn2", "fc", "(root)"):
        assert layer in names
    assert trace.layer_events > 0 and trace.events == len(doc["traceEvents"])
    # The TensorBoard directory holds the same trace under the plugin's naming scheme.
    tb = list((tmp_path / "prof" / "tb").glob("convscope.*.pt.trace.json"))
    assert tb == [trace.tensorboard_file]
    json.loads(tb[0].read_text())
    assert not nn.modules.module._global_forward_pre_hooks


def test_json_report_carries_the_profile_section(resnet18: torchvision.models.ResNet) -> None:
    shape = (1, 3, 32, 32)
    result = profile(resnet18, shape, threads=1, min_time=0.0, max_iters=3, warmup=1)
    params = RooflineParams(50e9, 20e9, name="hand", source="test")
    doc = to_dict(with_profile(analyze(resnet18, shape), result, params))
    prof = doc["profile"]
    assert prof["device"] == "cpu" and prof["batches"][0]["batch_size"] == 1
    for key in ("median_ms", "p10_ms", "p90_ms", "spread", "throughput_ips"):
        assert key in prof["batches"][0]
    assert prof["roofline"]["ridge_point"] == 2.5 and prof["roofline"]["target"] == "hand"
    assert "p10_ms > base.p90_ms" in prof["latency_gate"]["rule"]
    assert prof["memory"]["analytic_peak_activation_bytes"] > 0
    conv = next(layer for layer in doc["layers"] if layer["path"] == "layer1.0.conv1")
    lp = conv["profile"]
    assert lp["bound"] in ("compute", "memory") and lp["predicted_ms"] > 0
    assert lp["ms"] > 0 and 0 < lp["share"] < 1 and lp["achieved"] > 0
    json.dumps(doc)  # serializable


def _fresh_pages() -> None:
    """Writes one byte to every page of a new 64 MiB anonymous mapping: 16,384 fresh pages
    (fewer faults where huge pages back it), whatever state ``malloc``'s heap is in."""
    pages = mmap.mmap(-1, 64 * 2**20)
    view = np.frombuffer(pages, dtype=np.uint8)
    view[:: mmap.PAGESIZE] = 1
    del view
    pages.close()


class _FreshPages(nn.Module):
    """Takes fresh pages every forward (:func:`_fresh_pages`)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _fresh_pages()
        return x * 2


def test_time_batch_counts_the_page_faults_of_each_timed_call() -> None:
    if measure.minor_faults() is None:
        pytest.skip("getrusage is missing on this platform")
    clock = measure.Clock(torch.device("cpu"))
    fresh: list[int] = []
    idle: list[int] = []
    samples = measure.time_batch(
        _fresh_pages, clock, warmup=1, min_time=0.0, max_iters=3, faults=fresh
    )
    measure.time_batch(lambda: None, clock, warmup=1, min_time=0.0, max_iters=3, faults=idle)
    assert len(fresh) == len(samples) == 3
    # 64 MiB of new pages: 16,384 faults of 4 KiB, or 32 where 2 MiB pages back them
    assert min(fresh) >= 32, fresh
    assert statistics.median(idle) == 0, idle


def test_profile_reports_page_faults_per_forward() -> None:
    if measure.minor_faults() is None:
        pytest.skip("getrusage is missing on this platform")
    model, shape = _FreshPages(), (1, 3, 8, 8)
    result = profile(model, shape, threads=1, min_time=0.0, max_iters=3, warmup=1)
    assert (result.batches[0].page_faults or 0) >= 32
    profiled = with_profile(analyze(model, shape), result)
    doc = to_dict(profiled)
    faults = result.batches[0].page_faults
    assert doc["profile"]["batches"][0]["page_faults"] == faults
    # the Markdown and HTML reports' batch tables show the same count
    shown = f"{faults:,.0f}"
    md = markdown.render_report(profiled, doc)
    assert "page faults / forward |" in md and f"| {shown} |" in md
    page = html.render(doc)
    assert "Page faults / forward" in page and f'<td class="n">{shown}</td>' in page


def test_library_errors() -> None:
    model = nn.Conv2d(3, 4, 3)
    with pytest.raises(ConvscopeError):
        profile(model, (1, 3, 8, 8), batch_sizes=(0,))
    with pytest.raises(ConvscopeError):
        profile(model, (1, 3, 8, 8), threads=0)
    with torch.device("meta"):
        on_meta = nn.Conv2d(3, 4, 3)
    with pytest.raises(ConvscopeError, match="meta"):
        profile(on_meta, (1, 3, 8, 8))


def test_top_level_profile_is_the_library_function() -> None:
    import convscope
    import convscope.profiling.run

    result = convscope.profile(
        nn.Conv2d(3, 4, 3), (1, 3, 8, 8), min_time=0.0, max_iters=1, warmup=0, per_layer=False
    )
    assert result.batches[0].stats.iters == 1


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-CUDA error")
def test_cuda_without_cuda_is_one_line_error() -> None:
    with pytest.raises(ConvscopeError) as info:
        profile(nn.Conv2d(3, 4, 3), (1, 3, 8, 8), device="cuda")
    assert "CUDA is not available" in str(info.value) and "\n" not in str(info.value)


def test_calibrate_and_profile_yaml(tmp_path: Path) -> None:
    from convscope.linting.profiles import load_profile
    from convscope.linting.registry import default_registry
    from convscope.profiling.calibrate import calibrate

    before = torch.get_num_threads()
    cal = calibrate(budget_s=0.3, threads=1)
    assert torch.get_num_threads() == before
    assert cal.peak_flops > 1e8 and cal.bandwidth > 1e8 and cal.threads == 1
    assert cal.gemm_runs >= 2 and cal.copy_runs >= 2
    path = tmp_path / "machine.yaml"
    path.write_text(cal.to_profile_yaml())
    prof = load_profile(str(path), default_registry())
    assert prof.roofline.peak_flops == pytest.approx(cal.peak_flops, rel=1e-3)
    assert prof.roofline.bandwidth == pytest.approx(cal.bandwidth, rel=1e-3)
    assert cal.params().ridge_point == pytest.approx(cal.ridge_point)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_path(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = torchvision.models.resnet18()
    result = profile(
        model,
        SHAPE,
        device="cuda",
        batch_sizes=(1, 8),
        channels_last=True,
        min_time=0.3,
        trace_dir=str(tmp_path / "prof"),
    )
    assert result.device.startswith("cuda") and result.model_copied
    assert next(model.parameters()).device.type == "cpu"  # the user's model stays put
    assert result.conv_input_channels_last and result.conv_weight_channels_last
    assert result.layers is not None and result.layers.method.endswith("CUDA events")
    for b in result.batches:
        assert b.memory is not None and b.memory.method == "cuda-max-allocated"
        assert b.memory.growth_bytes > 0
    a = with_profile(analyze(model, SHAPE), result)
    section = a.need(PROFILE)
    _check_reconciliation(a, section, result)
    assert (tmp_path / "prof" / "trace.json").is_file()
    from convscope.profiling.calibrate import calibrate

    cal = calibrate("cuda", budget_s=0.5)
    assert cal.peak_flops > 1e12 and cal.bandwidth > 1e11


# --------------------------------------------------------------------------- limits


def _small_net() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1))


def test_memory_estimate_is_weights_once_plus_activations_per_sample() -> None:
    from convscope.profiling.run import estimate_bytes

    a = analyze(_small_net(), (2, 3, 16, 16))
    est = estimate_bytes(a, [2, 4, 400])
    weights = a.totals.param_bytes
    per_two = est[2] - weights
    assert per_two >= 2 * 3 * 16 * 16 * 4  # at least the input itself
    assert est[4] - weights == 2 * per_two
    assert est[400] - weights == 200 * per_two
    assert estimate_bytes(a, [None]) == {2: est[2]}  # None: the analysed batch


def test_batch_sizes_past_available_memory_are_refused_before_allocating(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from convscope.profiling import run as run_mod

    a = analyze(_small_net(), (1, 3, 16, 16))
    need = run_mod.estimate_bytes(a, [1000])[1000]
    monkeypatch.setattr(run_mod, "available_memory", lambda: need - 1)
    with pytest.raises(ConvscopeError, match=r"batch size 1000 needs at least .* available"):
        run_mod.check_memory(a, [1, 1000])
    run_mod.check_memory(a, [1, 999])  # fits: nothing raised


def test_available_memory_reads_the_kernels_figure() -> None:
    from convscope.profiling.run import available_memory

    free = available_memory()
    assert free is None or free > 0


@pytest.mark.parametrize("min_time", [float("nan"), float("inf"), -1.0])
def test_profile_refuses_a_min_time_that_never_ends(min_time: float) -> None:
    with pytest.raises(ConvscopeError, match="min_time must be a finite"):
        profile(_small_net(), (1, 3, 8, 8), min_time=min_time)


def test_profile_refuses_more_threads_than_the_machine_can_start() -> None:
    from convscope.profiling.run import THREADS_PER_CPU, max_threads

    assert max_threads() == THREADS_PER_CPU * (os.cpu_count() or 1)
    with pytest.raises(ConvscopeError, match=f"threads must be between 1 and {max_threads()}"):
        profile(_small_net(), (1, 3, 8, 8), threads=max_threads() + 1)


def test_library_profile_refuses_inputs_that_cannot_fit_before_allocating() -> None:
    with pytest.raises(ConvscopeError, match=r"batch size 100000000 needs at least .* available"):
        profile(_small_net(), (1, 3, 224, 224), batch_sizes=[100_000_000], min_time=0.0)
