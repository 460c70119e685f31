"""Kernel calibration end to end at a tiny budget: structure, provenance and torch's state
(never timing values)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml
from click.testing import CliRunner

from convscope.cli.app import main
from convscope.errors import InputError
from convscope.profiling.kernel_bench import calibrate_kernels, time_call
from convscope.profiling.measure import Clock
from convscope.targets.kernel_families import FAMILIES
from convscope.targets.kernels import parse_kernels
from convscope.targets.profiles import read_profile

SOME = ("conv.pointwise", "act.relu", "ew.add", "view")


def test_a_tiny_calibration_has_samples_provenance_and_leaves_torch_as_it_was() -> None:
    threads = torch.get_num_threads()
    rng = torch.random.get_rng_state()
    cal = calibrate_kernels("cpu", threads=1, budget_s=4.0, families=SOME)
    assert torch.get_num_threads() == threads
    assert torch.equal(torch.random.get_rng_state(), rng)
    model = cal.model
    prov = model.provenance
    assert prov.device == "cpu" and prov.threads == 1 and prov.dtype == "float32"
    assert prov.clock == "thread-cpu" and prov.budget_s == 4.0 and prov.runtime_s > 0
    assert prov.torch == torch.__version__
    # Interleaved: every family has samples, however small the budget.
    assert set(model.samples) == set(SOME)
    for name, (rows, times, unstable) in model.samples.items():
        assert rows.shape == (len(times), len(FAMILIES[name].columns))
        assert (times > 0).all() and all(0 <= i < len(times) for i in unstable)
    assert prov.samples == sum(len(t) for _, t, _ in model.samples.values())
    # The profile it writes reads back: the same samples, a roofline beside them.
    text = cal.to_profile_yaml()
    back = parse_kernels(yaml.safe_load(text)["kernels"])
    assert back.to_dict() == model.to_dict()
    assert yaml.safe_load(text)["roofline"]["peak-flops"] > 0


def test_sampling_is_deterministic() -> None:
    """The shapes drawn depend on the family and the seed only (timings do not matter)."""
    a = calibrate_kernels("cpu", threads=1, budget_s=1.0, families=("view",), seed=3)
    b = calibrate_kernels("cpu", threads=1, budget_s=1.0, families=("view",), seed=3)
    rows_a, rows_b = a.model.samples["view"][0], b.model.samples["view"][0]
    n = min(len(rows_a), len(rows_b))
    assert n > 0 and (rows_a[:n] == rows_b[:n]).all()


def test_more_work_is_not_faster_by_orders_of_magnitude() -> None:
    """A sanity check that cannot be flaky: 1000× the elements never time 100× faster."""
    clock = Clock(torch.device("cpu"))
    small, big = torch.rand(1_000), torch.rand(1_000_000)
    t_small = time_call(lambda: torch.relu(small), clock).us
    t_big = time_call(lambda: torch.relu(big), clock).us
    assert t_big > t_small / 100


def test_cli_writes_a_profile_that_analyze_reads(tmp_path: Path) -> None:
    out = tmp_path / "dev.yaml"
    result = CliRunner().invoke(
        main,
        ["profile", "--calibrate", "--kernels", "--threads", "1", "--budget", "6", "-o", str(out)],
    )
    assert result.exit_code == 0, result.stderr
    assert "kernel model:" in result.stderr
    prof = read_profile(str(out))
    assert prof.kernels is not None and prof.kernels.provenance.threads == 1
    listed = CliRunner().invoke(main, ["config", "--targets", "--target", str(out)])
    assert listed.exit_code == 0, listed.stderr
    assert "kernel model:" in listed.stdout


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_calibration_uses_events() -> None:
    cal = calibrate_kernels("cuda", budget_s=6.0, families=("conv.dense", "act.relu"))
    assert cal.model.provenance.device == "cuda"
    assert cal.model.provenance.clock == "cuda-events"
    assert cal.model.samples


def test_a_session_pooled_with_an_earlier_one_draws_other_shapes() -> None:
    first = calibrate_kernels("cpu", threads=1, budget_s=1.0, families=("view",)).model
    both = calibrate_kernels(
        "cpu", threads=1, budget_s=1.0, families=("view",), pool_with=first
    ).model
    rows, times, _ = both.samples["view"]
    n = len(first.samples["view"][1])
    assert both.provenance.sessions == 2 and len(times) > n
    assert (rows[:n] == first.samples["view"][0]).all()
    # The second session's seed is offset by one: not the first session's draws again.
    again = calibrate_kernels("cpu", threads=1, budget_s=1.0, families=("view",), seed=1)
    m = min(len(times) - n, len(again.model.samples["view"][1]))
    assert m > 0 and (rows[n : n + m] == again.model.samples["view"][0][:m]).all()


def test_a_session_of_other_settings_is_refused_before_timing() -> None:
    first = calibrate_kernels("cpu", threads=1, budget_s=0.5, families=("view",)).model
    with pytest.raises(InputError, match="threads"):
        calibrate_kernels("cpu", threads=2, budget_s=60.0, families=("view",), pool_with=first)


def test_cli_append_adds_a_session_and_refuses_a_profile_without_kernels(
    tmp_path: Path,
) -> None:
    out = tmp_path / "dev.yaml"
    args = ["profile", "--calibrate", "--kernels", "--threads", "1", "--budget", "3"]
    assert CliRunner().invoke(main, [*args, "-o", str(out)]).exit_code == 0
    before = read_profile(str(out)).kernels
    assert before is not None
    result = CliRunner().invoke(main, [*args, "--append", str(out)])
    assert result.exit_code == 0, result.stderr
    after = read_profile(str(out)).kernels
    assert after is not None and after.provenance.sessions == 2
    assert after.provenance.samples > before.provenance.samples
    plain = tmp_path / "roofline.yaml"
    plain.write_text(out.read_text().split("kernels:")[0])
    text = plain.read_text()
    refused = CliRunner().invoke(main, [*args, "--append", str(plain)])
    assert refused.exit_code == 2
    assert refused.stderr.startswith("error:") and "no kernel model" in refused.stderr
    assert plain.read_text() == text
