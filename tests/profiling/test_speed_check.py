"""Speed check: re-timed micro-benchmarks against a kernel model's predictions, with a clock
that returns known times (never a timing value of this machine), and the profile CLI's
prediction beside the measurement."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from convscope.cli.app import main
from convscope.errors import InputError
from convscope.profiling.kernel_bench import calibrate_kernels
from convscope.profiling.kernel_shapes import MAX_ELEMENTS
from convscope.profiling.measure import Clock, device_name
from convscope.profiling.speed_check import PredictionCheck, SpeedCheck, speed_check
from convscope.targets.kernels import KernelModel, Provenance

TINY = str(Path(__file__).resolve().parents[1] / "fixtures" / "cli" / "tiny.py")
CALIBRATED_US = 100.0


class FixedClock(Clock):
    """Runs the call, and says it took ``seconds``."""

    def __init__(self, seconds: float) -> None:
        super().__init__(torch.device("cpu"))
        self.seconds = seconds

    def time(self, fn: Callable[[], Any]) -> float:
        fn()
        return self.seconds


def flat_model(device: str | None = None) -> KernelModel:
    """Two families whose every sample took :data:`CALIBRATED_US`: the model predicts that
    time for any shape the samplers draw (a constant trend, no residual; the samples reach
    beyond the largest draw, so that no call is priced as pieces)."""
    numel = np.geomspace(1, 2 * MAX_ELEMENTS, 20).astype(np.int64)
    relu = np.column_stack([numel, np.zeros(20, dtype=np.int64)])
    add = np.column_stack([numel, numel, np.zeros(20, dtype=np.int64)])
    prov = Provenance(
        device="cpu",
        device_name=device or device_name(torch.device("cpu")),
        torch=torch.__version__,
        threads=1,
        dtype="float32",
        date="2026-12-07T00:00:00Z",
        runtime_s=1.0,
        budget_s=1.0,
        tolerance=0.05,
        samples=40,
        unstable=0,
        module_call_us=1.0,
        clock="thread-cpu",
    )
    times = np.full(20, CALIBRATED_US)
    return KernelModel(
        provenance=prov,
        samples=MappingProxyType({"act.relu": (relu, times, ()), "ew.add": (add, times, ())}),
    )


def test_the_ratio_is_measured_over_predicted_time() -> None:
    model = flat_model()
    assert model.predict_us("act.relu", [[5_000, 0]])[0] == pytest.approx(CALIBRATED_US)
    assert model.predict_us("ew.add", [[MAX_ELEMENTS, 1, 0]])[0] == pytest.approx(CALIBRATED_US)
    check = speed_check(model, budget_s=0.2, clock=FixedClock(2.5 * CALIBRATED_US / 1e6))
    assert check.ratio == pytest.approx(2.5)
    assert check.low == pytest.approx(2.5) and check.high == pytest.approx(2.5)
    assert set(check.families) == {"act.relu", "ew.add"}  # every family of the model
    assert check.samples >= 2
    assert "2.50× their calibrated time" in check.text
    assert check.to_dict()["ratio"] == 2.5


def test_it_leaves_torch_as_it_was() -> None:
    threads = torch.get_num_threads()
    rng = torch.random.get_rng_state()
    speed_check(flat_model(), budget_s=0.1, clock=FixedClock(1e-4))
    assert torch.get_num_threads() == threads
    assert torch.equal(torch.random.get_rng_state(), rng)


@pytest.mark.parametrize("budget", [0.0, -1.0, float("nan"), float("inf")])
def test_a_budget_that_is_not_a_positive_number_is_refused(budget: float) -> None:
    with pytest.raises(InputError, match="budget must be positive"):
        speed_check(flat_model(), budget_s=budget)


def test_another_device_is_refused() -> None:
    with pytest.raises(InputError, match="calibrated on Some Other CPU"):
        speed_check(flat_model("Some Other CPU"), budget_s=0.1)


def test_a_prediction_check_compares_like_with_like() -> None:
    speed = SpeedCheck(ratio=1.25, low=1.2, high=1.3, samples=10, seconds=1.0)
    check = PredictionCheck("dev", 8.0, 1, "cpu", 1, speed)
    d = check.to_dict(10.0, "cpu", 1)
    assert d["error"] == pytest.approx(-0.2)
    assert d["predicted_at_checked_speed_ms"] == pytest.approx(10.0)
    assert d["error_at_checked_speed"] == pytest.approx(0.0)
    assert d["not_comparable"] is None
    assert "--threads 1" in (check.comparable("cpu", 2) or "")
    assert "of cpu" in (check.comparable("cuda:0", 1) or "")


@pytest.fixture(scope="module")
def device_yaml(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A kernel model of this machine, small and quick (the families tiny.py runs)."""
    families = ("conv.dense", "conv.pointwise", "norm.batch", "act.relu", "ew.add", "view")
    cal = calibrate_kernels("cpu", threads=1, budget_s=2.0, families=families)
    path = tmp_path_factory.mktemp("dev") / "dev.yaml"
    path.write_text(cal.to_profile_yaml(), encoding="utf-8")
    return path


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


FAST = ("--threads", "1", "--min-time", "0.05", "--warmup", "1", "--no-per-layer")


def test_profile_shows_the_prediction_beside_the_measurement(device_yaml: Path) -> None:
    code, out, err = run("profile", TINY, "--target", str(device_yaml), "--format", "json", *FAST)
    assert code == 0, err
    doc = json.loads(out)
    pred = doc["profile"]["prediction"]
    assert pred["predicted_ms"] == pytest.approx(doc["latency"]["predicted_ms"], abs=1e-6)
    assert pred["measured_ms"] == pytest.approx(doc["profile"]["batches"][0]["median_ms"])
    # error is rounded to 4 decimals; the times it is recomputed from, to 6 (a relative
    # error of up to 1e-4 on a time of a few hundredths of a millisecond).
    recomputed = pred["predicted_ms"] / pred["measured_ms"] - 1
    assert pred["error"] == pytest.approx(recomputed, rel=1e-3, abs=1e-4)
    assert pred["speed_check"] is None and pred["not_comparable"] is None
    code, out, err = run("profile", TINY, "--target", str(device_yaml), *FAST)
    assert code == 0, err
    words = " ".join(out.split())  # the table's caption wraps at the table's width
    assert "Predicted" in words and "--speed-check" in words, out
    assert "Kernel" in words and "kernel model predicts" in words, out  # per-layer column


def test_profile_speed_check_prices_the_prediction_at_the_checked_speed(
    device_yaml: Path,
) -> None:
    code, out, err = run(
        "profile", TINY, "--target", str(device_yaml), "--speed-check", "--format", "json", *FAST
    )
    assert code == 0, err
    pred = json.loads(out)["profile"]["prediction"]
    ratio = pred["speed_check"]["ratio"]
    assert ratio > 0 and pred["speed_check"]["samples"] > 0
    assert pred["predicted_at_checked_speed_ms"] == pytest.approx(
        pred["predicted_ms"] * ratio, rel=1e-3
    )


def test_speed_check_alone(device_yaml: Path) -> None:
    code, out, err = run("profile", "--speed-check", "--target", str(device_yaml))
    assert code == 0, err
    assert out.startswith("speed check: kernels run at ")
    code, out, err = run(
        "profile", "--speed-check", "--target", str(device_yaml), "--format", "json"
    )
    assert code == 0, err
    assert set(json.loads(out)["speed_check"]["families"]) <= {
        "conv.dense",
        "conv.pointwise",
        "norm.batch",
        "act.relu",
        "ew.add",
        "view",
    }


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--speed-check",), "--speed-check goes with --target"),
        (("--speed-check", "--target", "generic"), "has no kernel model"),
        (("--speed-check", "--calibrate", "--target", "generic"), "without --calibrate"),
    ],
)
def test_speed_check_usage_errors(args: tuple[str, ...], needle: str) -> None:
    code, _, err = run("profile", *args)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], err
