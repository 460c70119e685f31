"""``build_report``: progress is announced before any slow step, and the roofline of a
target file is the file's (no second resolution by name)."""

from __future__ import annotations

from pathlib import Path

from convscope.profiling.keys import PROFILE
from convscope.report.build import build_report

ROOT = Path(__file__).resolve().parents[2]
TINY = str(ROOT / "tests" / "fixtures" / "cli" / "tiny.py")


def test_every_step_is_announced_before_it_runs() -> None:
    seen: list[tuple[str, float]] = []
    build_report(TINY, rewrite=True, progress=lambda label, frac: seen.append((label, frac)))
    labels = [label for label, _ in seen]
    assert labels[0] == f"loading {TINY}"  # the first thing that happens, before the load
    assert labels.index("analysing") < labels.index("linting") < labels.index("rewrite plan")


def test_profile_steps_report_progress(tmp_path: Path) -> None:
    machine = tmp_path / "box.yaml"
    machine.write_text("roofline:\n  peak-flops: 1.0e+11\n  bandwidth: 2.0e+10\n")
    seen: list[str] = []
    report = build_report(
        TINY,
        target=str(machine),
        profile_device="cpu",
        min_time=0.01,
        progress=lambda label, frac: seen.append(label),
    )
    section = report.analysis.need(PROFILE)
    assert section.roofline is not None and section.roofline.params.name == "box"
    assert section.calibration is None and "calibrating" not in seen
    assert any(label.startswith("batch") for label in seen)  # the timing loop's own bar


def test_rewrite_plan_carries_the_weight_error_rewrite_measures() -> None:
    from convscope.api import rewrite
    from convscope.model.load import load_model

    spec = str(ROOT / "tests" / "fixtures" / "report" / "small_net.py")
    doc = build_report(spec, rewrite=True).to_dict()
    planned = {x["path"]: x["weight_error"] for x in doc["rewrite"]["layers"]}
    loaded = load_model(spec, device="meta")
    measured = rewrite(loaded.module, loaded.inputs, layers=list(planned), seed=0)
    assert planned and all(isinstance(v, float) for v in planned.values())
    assert planned == {p.path: round(p.weight_error or 0.0, 4) for p in measured.plan}
