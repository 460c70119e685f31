"""Rewrite plans on a target with a hand-made kernel model: predicted times before → after,
and a separable layer predicted no faster left out with the reason."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from torch import nn

import convscope
from convscope.analysis.latency import predict_latency
from convscope.cli.app import main
from convscope.rewriting.plan import RewriteError, make_plan
from convscope.targets.latency import LatencyPrediction

# Dense and pointwise convs 1 ns per MAC, depthwise 10 ns per MAC, every other kernel 1 µs,
# module calls 2 µs. On a 1×3×16×16 input (256 positions):
#   stem 3→8 3×3: dense 3·8·9·256 = 55,296 MACs → 55.296 µs; the pair: depthwise 3·9·256
#     = 6,912 MACs → 69.12 µs, pointwise 3·8·256 = 6,144 → 6.144 µs, + 2 µs: 77.264 µs.
#   conv 8→32 3×3: dense 589,824 → 589.824 µs; depthwise 18,432 → 184.32 µs, pointwise
#     65,536 → 65.536 µs, + 2 µs: 251.856 µs.
PER_WORK = {"conv.dense": 1e-3, "conv.pointwise": 1e-3, "conv.depthwise": 1e-2}
STEM = (55.296, 77.264)
CONV = (589.824, 251.856)

MODEL_FILE = """
from torch import nn

INPUT_SHAPE = (1, 3, 16, 16)

model = nn.Sequential(
    nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.ReLU(),
    nn.Conv2d(8, 32, 3, padding=1, bias=False), nn.ReLU(),
)
"""


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.act1 = nn.ReLU()
        self.conv = nn.Conv2d(8, 32, 3, padding=1, bias=False)
        self.act2 = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act2(self.conv(self.act1(self.stem(x))))


def _latency(make: Callable[..., Path]) -> tuple[convscope.Analysis, LatencyPrediction]:
    a = convscope.analyze(Net(), (1, 3, 16, 16), name="net")
    return a, predict_latency(a, str(make("dev", per_work=PER_WORK)))


def test_a_slower_layer_is_skipped_with_the_reason(kernel_profile: Callable[..., Path]) -> None:
    a, lat = _latency(kernel_profile)
    plan = make_plan(a, latency=lat)
    [p] = plan.layers
    assert p.path == "conv"
    assert (p.predicted_us_before, p.predicted_us_after) == pytest.approx(CONV, abs=1e-3)
    [s] = plan.skipped
    assert s.path == "stem"
    assert s.reason.startswith("no faster than the dense conv, predicted on dev: ")
    assert "0.0553 ms → 0.0773 ms (+39.7%), model 0.649 ms → 0.671 ms" in s.reason
    assert "--allow-slower" in s.reason
    # The model's predicted time moves by the planned layer's difference only.
    assert plan.predicted_ms_before == pytest.approx(lat.predicted_ms)
    assert plan.predicted_ms_after == pytest.approx(
        lat.predicted_ms + (CONV[1] - CONV[0]) / 1e3, abs=1e-6
    )
    totals = plan.to_dict()["totals"]
    assert totals["predicted_ms_after"] == pytest.approx(plan.predicted_ms_after, abs=1e-3)


def test_naming_a_slower_layer_refuses_unless_allowed(
    kernel_profile: Callable[..., Path],
) -> None:
    a, lat = _latency(kernel_profile)
    with pytest.raises(RewriteError, match=r"stem: no faster than the dense conv.*\+39\.7%"):
        make_plan(a, latency=lat, only="stem")
    [p] = make_plan(a, latency=lat, only="stem", allow_slower=True).layers
    assert (p.predicted_us_before, p.predicted_us_after) == pytest.approx(STEM, abs=1e-3)


def test_without_a_kernel_model_the_plan_is_unchanged() -> None:
    a = convscope.analyze(Net(), (1, 3, 16, 16), name="net")
    plan = make_plan(a)
    assert [p.path for p in plan.layers] == ["stem", "conv"]
    assert plan.predicted_ms_after is None and plan.latency_target is None
    assert all(p.predicted_us_before is None for p in plan.layers)
    assert "predicted_ms_after" not in plan.to_dict()["totals"]


def test_spatialize_states_times_and_is_never_refused(
    kernel_profile: Callable[..., Path],
) -> None:
    class OneByOne(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.pw = nn.Conv2d(8, 8, 1, bias=False)
            self.conv = nn.Conv2d(8, 8, 3, padding=1, bias=False)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.conv(self.pw(x))

    a = convscope.analyze(OneByOne(), (1, 8, 16, 16), name="net")
    lat = predict_latency(a, str(kernel_profile("dev", per_work=PER_WORK)))
    [p] = make_plan(a, mode="spatialize", latency=lat).layers
    # 1×1 8→8: 16,384 MACs; the depthwise 3×3 in front: 8·9·256 = 18,432 MACs at 10 ns.
    assert p.predicted_us_before == pytest.approx(16.384, abs=1e-3)
    assert p.predicted_us_after == pytest.approx(16.384 + 184.32 + 2.0, abs=1e-3)


def test_cli_says_why(kernel_profile: Callable[..., Path], tmp_path: Path) -> None:
    model = tmp_path / "two_convs.py"
    model.write_text(MODEL_FILE, encoding="utf-8")
    target = str(kernel_profile("dev", per_work=PER_WORK))
    runner = CliRunner()
    refused = runner.invoke(main, ["rewrite", str(model), "--target", target, "--only", "0"])
    assert refused.exit_code == 2
    err = refused.stderr.strip()
    assert err.startswith("error: no layer to rewrite matching '0': 0: no faster than the dense")
    assert "(+39.7%)" in err and len(err.splitlines()) == 1
    planned = runner.invoke(
        main, ["rewrite", str(model), "--target", target, "--format", "markdown"]
    )
    assert planned.exit_code == 0, planned.stderr
    assert "| predicted |" in planned.stdout
    assert "0.590 → 0.252 ms (−57.3%)" in planned.stdout
    assert "- **Skipped**: 0: no faster than the dense conv" in planned.stdout
    assert "- **Latency**: predicted on dev (kernel model): " in planned.stdout


def test_the_report_plan_is_priced_on_the_target(
    kernel_profile: Callable[..., Path], tmp_path: Path
) -> None:
    from convscope.report.build import build_report, render

    model = tmp_path / "two_convs.py"
    model.write_text(MODEL_FILE, encoding="utf-8")
    target = str(kernel_profile("dev", per_work=PER_WORK))
    report = build_report(str(model), target=target, rewrite=True)
    doc = report.to_dict()["rewrite"]
    # The stem is predicted slower as a pair (77.264 > 55.296 µs): never planned.
    assert [p["path"] for p in doc["layers"]] == ["2"]
    layer = doc["layers"][0]
    assert (layer["predicted_us_before"], layer["predicted_us_after"]) == pytest.approx(CONV)
    assert doc["latency_target"] == "dev"
    totals = doc["totals"]
    delta_ms = (CONV[1] - CONV[0]) / 1e3
    # The JSON rounds the totals to µs.
    assert totals["predicted_ms_after"] - totals["predicted_ms_before"] == pytest.approx(
        delta_ms, abs=2e-3
    )
    markdown = render(report, "markdown")
    assert "Predicted on dev: " in markdown and "| 590 → 252 |" in markdown
    html = render(report, "html")
    assert "Predicted on dev:" in html and "Pred. µs before" in html and ">590<" in html
