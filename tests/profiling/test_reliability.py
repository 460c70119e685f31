"""The profiler's verdict on its own numbers, on synthetic timings (no clock involved)."""

from __future__ import annotations

from typing import Any

from convscope.profiling.calibrate import STABLE_TOLERANCE, rounds_agree
from convscope.profiling.keys import PROFILE
from convscope.profiling.measure import Stats
from convscope.profiling.reliability import (
    ADVICE,
    SPREAD_LIMIT,
    UNATTRIBUTED_LIMIT,
    assess,
)


def _spread(samples: list[float]) -> float:
    return Stats.of(samples).spread


def test_a_quiet_run_is_ok() -> None:
    quiet = _spread([10.0, 10.1, 9.9, 10.05, 9.95, 10.0, 10.02, 9.98, 10.0, 10.01])
    rel = assess(spreads={1: quiet}, unattributed_share=0.05, achieved={"conv": 0.4})
    assert quiet < SPREAD_LIMIT
    assert not rel.noisy and rel.verdict == "ok" and rel.headline is None
    assert rel.reasons == () and rel.roofline_warnings == ()
    assert rel.to_dict()["advice"] is None


def test_wide_spread_marks_the_run_noisy() -> None:
    # 73 % spread: preempted iterations every few runs
    noisy = _spread([1.0, 1.0, 1.0, 1.7, 1.0, 1.0, 2.0, 1.0, 1.0, 1.9])
    assert noisy > SPREAD_LIMIT
    rel = assess(spreads={1: 0.05, 8: noisy})
    assert rel.noisy and rel.verdict == "noisy"
    assert len(rel.reasons) == 1 and rel.reasons[0].startswith("batch 8: spread")
    assert rel.headline is not None and ADVICE in rel.headline
    doc = rel.to_dict()
    assert doc["noisy"] is True and doc["advice"] == ADVICE
    assert doc["thresholds"]["spread"] == SPREAD_LIMIT


def test_unattributed_time_marks_the_run_noisy_either_sign() -> None:
    assert not assess(spreads={1: 0.0}, unattributed_share=UNATTRIBUTED_LIMIT).noisy
    for share in (0.69, -0.4):
        rel = assess(spreads={1: 0.0}, unattributed_share=share)
        assert rel.noisy and "unattributed" in rel.reasons[0]
        assert f"{abs(share):.0%}" in rel.reasons[0]


def test_beating_the_roofline_is_a_calibration_problem_not_noise() -> None:
    rel = assess(spreads={1: 0.01}, achieved={"a": 1.08, "b": 1.25, "c": 0.9, "d": None})
    assert not rel.noisy
    (warning,) = rel.roofline_warnings
    assert "2 layer(s) beat the roofline" in warning and "calibration problem" in warning
    assert warning.index("b 125%") < warning.index("a 108%")  # worst first
    assert assess(spreads={1: 0.01}, achieved={"a": 1.0}).roofline_warnings == ()


def test_roof_of_another_device_and_unstable_calibration_are_flagged() -> None:
    rel = assess(spreads={}, measured_device="cpu", roof_device="cuda", roof_name="gpu-fp16")
    (warning,) = rel.roofline_warnings
    assert "gpu-fp16" in warning and "cuda" in warning and "cpu" in warning
    same = assess(spreads={}, measured_device="cuda:1", roof_device="cuda")
    assert same.roofline_warnings == ()
    assert assess(spreads={}, measured_device="cpu", roof_device=None).roofline_warnings == ()
    unstable = assess(spreads={}, calibration_stable=False)
    assert "--calibrate rounds never agreed" in unstable.roofline_warnings[0]


def test_calibration_rounds_agree_only_within_tolerance() -> None:
    assert not rounds_agree([])
    assert not rounds_agree([(1e11, 1e10)])  # one round proves nothing
    assert rounds_agree([(1e11, 1e10), (1.05e11, 0.97e10)])
    # the 2x difference seen between two calibrations is never "stable"
    assert not rounds_agree([(1e11, 1e10), (2e11, 1e10)])
    edge = 1.0 / (1.0 - STABLE_TOLERANCE)
    assert rounds_agree([(1.0, 1.0), (edge * 0.999, 1.0)])
    assert not rounds_agree([(1.0, 1.0), (edge * 1.01, 1.0)])
    # only the last two rounds count: a machine that settled down is stable
    assert rounds_agree([(1.0, 1.0), (3.0, 1.0), (3.1, 1.0)])


# --------------------------------------------------------------------------- every output


def _synthetic_profile(samples: list[float], layer_samples: list[float] | None = None) -> Any:
    """An analysis of a two-layer net with a hand-made ProfileResult: no clock runs."""
    import torch
    from torch import nn

    from convscope.api import analyze
    from convscope.profiling.layers import LayerTime, LayerTimes
    from convscope.profiling.measure import BatchResult, MemoryResult
    from convscope.profiling.run import ProfileResult, with_profile
    from convscope.targets.roofline import RooflineParams

    net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU())
    analysis = analyze(net, torch.empty(1, 3, 16, 16, device="meta"))
    stats = Stats.of(samples)
    times = None
    if layer_samples is not None:
        ls = Stats.of(layer_samples)
        times = LayerTimes(
            batch_size=1,
            method="synthetic",
            iters=len(layer_samples),
            layers=(LayerTime("0", "Conv2d", True, 1, ls.mean_s, ls.median_s, ls.p10_s, ls.p90_s),),
            instrumented=stats,
        )
    result = ProfileResult(
        model="synthetic",
        device="cpu",
        device_name="test cpu",
        torch_version=torch.__version__,
        threads=1,
        channels_last=False,
        dtype="float32",
        warmup=0,
        min_time=0.0,
        max_iters=None,
        batches=(
            BatchResult(1, stats, MemoryResult("rss-vmhwm", 100, 100 + 2**20), ((1, 3, 16, 16),)),
        ),
        layers=times,
        trace=None,
        conv_input_channels_last=None,
        conv_weight_channels_last=None,
        model_copied=False,
    )
    # a roof far too low for the measured time: the conv "beats" it
    slow_roof = RooflineParams(1e3, 1e3, name="slow-box", device="cuda")
    return with_profile(analysis, result, slow_roof)


def test_the_verdict_reaches_text_json_markdown_and_html() -> None:
    from convscope.analysis.schema import to_dict
    from convscope.render.analysis import markdown
    from convscope.render.profile import text
    from convscope.render.report import html

    # 1 ms forwards with preempted iterations; the conv explains a third of them
    analysis = _synthetic_profile(
        [1e-3, 1e-3, 1.9e-3, 1e-3, 1.8e-3, 1e-3, 1e-3, 2e-3, 1e-3, 1e-3],
        [3e-4] * 10,
    )
    section = analysis.need(PROFILE)
    assert section.reliability.noisy and len(section.reliability.reasons) == 2
    doc = to_dict(analysis)
    rel = doc["profile"]["reliability"]
    assert rel["noisy"] and rel["advice"] == ADVICE
    assert any("beat the roofline" in w for w in rel["roofline_warnings"])
    assert any("describes a cuda device" in w for w in rel["roofline_warnings"])
    conv = next(r for r in doc["layers"] if r["path"] == "0")
    assert conv["profile"]["over_roof"] is True and conv["profile"]["median_ms"] == 0.3
    memory = doc["profile"]["batches"][0]["memory"]
    assert memory["growth_bytes"] == 2**20 and "growth" in memory["label"]

    plain = text.to_text(analysis, width=200)
    assert "NOISY" in plain and ADVICE in plain and "beat the roofline" in plain
    assert "Median ms" in plain and "Self ms" not in plain and "+1 MiB" in plain
    md = markdown.render_report(analysis, doc)
    assert f"**Noisy — {ADVICE}:**" in md and "Roofline figures are suspect" in md
    assert "peak memory growth" in md and "+1 MiB" in md
    page = html.render(doc)
    assert 'id="profile-verdict"' in page and "Noisy — " in page
    assert 'id="roofline-warnings"' in page and "over-roof" in page
    assert "Peak memory growth" in page and "+1 MiB" in page


def test_a_quiet_synthetic_profile_says_it_is_reliable() -> None:
    from convscope.analysis.schema import to_dict
    from convscope.render.report import html

    analysis = _synthetic_profile([1e-3] * 10, [9.5e-4] * 10)
    assert not analysis.need(PROFILE).reliability.noisy
    page = html.render(to_dict(analysis))
    assert "Timings look reliable" in page
