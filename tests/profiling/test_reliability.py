"""The profiler's verdict on its own numbers, on synthetic timings (no clock involved)."""

from __future__ import annotations

from convscope.profiling.calibrate import STABLE_TOLERANCE, rounds_agree
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
