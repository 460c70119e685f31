"""Rule PF001 memory-bound-hotspot: roofline figures from the target profile."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

import convscope
from convscope.analysis.build import Analysis
from convscope.linting.config import Settings
from convscope.linting.engine import REQUIREMENT_HINTS, lint
from convscope.targets.keys import ROOFLINE

PEAK, BANDWIDTH = 65.0e12, 320.0e9  # the gpu-fp16 profile (NVIDIA T4)


class LinearHead(nn.Module):
    """Two small convs and a flatten + linear head with 8.4M weights (0.5 FLOP/byte)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 32, 3, padding=1)
        self.act1 = nn.ReLU()
        self.conv2 = nn.Conv2d(32, 32, 3, padding=1)
        self.act2 = nn.ReLU()
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(32 * 32 * 32, 256)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.flatten(self.act2(self.conv2(self.act1(self.conv1(x))))))


def analysis() -> Analysis:
    return convscope.analyze(LinearHead(), (1, 3, 32, 32), name="head")


def predicted(a: Analysis) -> dict[str, float]:
    """Roofline lower bound per row, computed here from the rows' FLOPs and bytes."""
    return {r.path: max((r.flops + r.other_flops) / PEAK, r.traffic / BANDWIDTH) for r in a.rows}


def test_hotspot_on_gpu_fp16() -> None:
    a = analysis()
    result = lint(a, Settings(select=("PF001",), target="gpu-fp16"))
    assert not result.skipped
    [f] = result.findings
    assert f.code == "PF001" and f.layer == "fc"
    fc = next(r for r in a.rows if r.path == "fc")
    # 2·32768·256 FLOPs over 32768·256 fp32 weights (+ bias, input, output): ~0.5 FLOP/B
    assert fc.flops == 2 * 32768 * 256
    intensity = fc.flops / fc.traffic
    assert 0.49 < intensity < 0.5 and f.values["intensity"] == pytest.approx(intensity, abs=1e-4)
    assert f.values["ridge_point"] == pytest.approx(PEAK / BANDWIDTH, abs=1e-3)
    times = predicted(a)
    share = times["fc"] / sum(times.values())
    assert share > 0.9
    assert f.values["predicted_share"] == pytest.approx(share, abs=1e-4)
    assert f"{100 * share:.1f}% of the predicted latency" in f.message
    assert "memory-bound on gpu-fp16" in f.message


def test_share_threshold_and_min_rows() -> None:
    a = analysis()
    times = predicted(a)
    total = sum(times.values())
    rows = {r.path: r for r in a.rows}
    memory_bound = {
        p: t
        for p, t in times.items()
        if (rows[p].flops + rows[p].other_flops) / PEAK < rows[p].traffic / BANDWIDTH
    }
    # every memory-bound layer holding at least min_share of the time is reported
    for min_share in (0.0, 0.001, 0.01, 0.5):
        result = lint(
            a,
            Settings(
                select=("PF001",), target="gpu-fp16", rules={"PF001": {"min_share": min_share}}
            ),
        )
        expected = {p for p, t in memory_bound.items() if t / total >= min_share}
        assert {f.layer for f in result.findings} == expected, min_share
    assert len(memory_bound) > 1  # the convs and activations are memory-bound too
    result = lint(
        a,
        Settings(
            select=("PF001",), target="gpu-fp16", rules={"PF001": {"min_rows": len(a.rows) + 1}}
        ),
    )
    assert not result.findings and not result.skipped


def test_skipped_with_a_note_without_roofline_figures() -> None:
    for target in ("generic", "edge-int8"):
        result = lint(analysis(), Settings(select=("PF001",), target=target))
        assert not result.findings
        [skip] = result.skipped
        assert skip.code == "PF001" and skip.reason == REQUIREMENT_HINTS[ROOFLINE]
        assert "roofline" in skip.reason


def test_custom_profile_figures(tmp_path: Path) -> None:
    # a machine with huge bandwidth: every layer is compute-bound, nothing to report
    fast = tmp_path / "fast-memory.yaml"
    fast.write_text(
        "description: test\nroofline:\n  peak-flops: 1.0e+12\n  bandwidth: 1.0e+18\n",
        encoding="utf-8",
    )
    result = lint(analysis(), Settings(select=("PF001",), target=str(fast)))
    assert not result.skipped and not result.findings
    slow = tmp_path / "slow-memory.yaml"
    slow.write_text(
        "description: test\nroofline:\n  peak-flops: 1.0e+12\n  bandwidth: 1.0e+9\n",
        encoding="utf-8",
    )
    result = lint(analysis(), Settings(select=("PF001",), target=str(slow)))
    assert [f.layer for f in result.findings] == ["fc"]
    assert "memory-bound on slow-memory" in result.findings[0].message
