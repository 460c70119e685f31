"""Nothing runs from a data file, and nothing the user has is overwritten or left half-written.

Every refusal is exit 2 with one ``error:`` line naming the problem, and the files involved
keep their bytes and mtime. Archives with pickled code are built at test time
(``tests/fixtures/pt2_archives.py``); their payload creates a marker folder when it runs.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from convscope.cli.app import main

FIX = Path(__file__).resolve().parents[1] / "fixtures"
TINY = FIX / "cli" / "tiny.py"
FAST = ("--threads", "1", "--min-time", "0.05", "--warmup", "1", "--max-iters", "2")


def _archives() -> Any:
    if "pt2_archives" not in sys.modules:  # importable by name: the payload pickles by it
        spec = importlib.util.spec_from_file_location("pt2_archives", FIX / "pt2_archives.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["pt2_archives"] = module
        spec.loader.exec_module(module)
    return sys.modules["pt2_archives"]


ARCHIVES = _archives()


def run(*args: str | Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


def refused(code: int, err: str, *needles: str) -> str:
    assert code == 2, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def snapshot(*paths: Path) -> list[tuple[bytes, int]]:
    return [(p.read_bytes(), p.stat().st_mtime_ns) for p in paths]


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    shutil.copy(TINY, tmp_path / "net.py")
    return tmp_path


# --------------------------------------------------------------------------- .pt2 pickles

COMMANDS = {
    "analyze": ("analyze", "{m}"),
    "lint": ("lint", "{m}"),
    "report": ("report", "{m}", "--format", "json"),
    "rewrite": ("rewrite", "{m}"),
    "profile": ("profile", "{m}", *FAST),
    "diff": ("diff", "{m}", "{m}"),
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_model_command_refuses_pickled_code_in_a_pt2(command: str, work: Path) -> None:
    marker = work / "ran"
    path = ARCHIVES.malicious(work / "evil.pt2", "sample_inputs", marker)
    before = snapshot(path)
    argv = [a.format(m=path) for a in COMMANDS[command]]
    code, _, err = run(*argv)
    refused(code, err, "evil.pt2", "--trust-pickle")
    assert not marker.exists(), "the pickled payload ran"
    assert snapshot(path) == before


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_model_command_accepts_trust_pickle(command: str, work: Path) -> None:
    path = ARCHIVES.good(work / "good.pt2")
    argv = [a.format(m=path) for a in COMMANDS[command]]
    code, _, err = run(*argv, "--trust-pickle")
    # 1: lint findings; rewrite finds no plain conv in an unlifted program's graph
    assert code in (0, 1) or "no layer to rewrite" in err, err


# --------------------------------------------------------------------------- input == output


@pytest.mark.parametrize("command", ["analyze", "lint", "report"])
@pytest.mark.parametrize("how", ["same", "symlink", "hard link"])
def test_output_that_is_the_model_is_refused(command: str, how: str, work: Path) -> None:
    model = work / "net.py"
    before = snapshot(model)
    out = model
    if how == "symlink":
        out = work / "link.txt"
        out.symlink_to(model)
    elif how == "hard link":
        out = work / "hard.txt"
        os.link(model, out)
    code, _, err = run(command, model, "-o", out)
    refused(code, err, "model file", "net.py")
    assert snapshot(model) == before


def test_output_that_is_the_checkpoint_or_calibration_is_refused(work: Path) -> None:
    import torch

    from convscope.model.load import load_model

    ckpt = work / "ckpt.pt"
    torch.save(load_model("net.py", device="cpu").module.state_dict(), ckpt)
    data = work / "calib.pt"
    torch.save(torch.randn(4, 3, 16, 16), data)
    before = snapshot(ckpt, data)
    code, _, err = run("analyze", "net.py", "--weights", ckpt, "-o", ckpt)
    refused(code, err, "checkpoint", "ckpt.pt")
    code, _, err = run("analyze", "net.py", "--weights", ckpt, "--quant", "--calibration", data)
    assert code == 0, err  # the same data without -o is fine
    code, _, err = run(
        "analyze", "net.py", "--weights", ckpt, "--quant", "--calibration", data, "-o", data
    )
    refused(code, err, "calibration data", "calib.pt")
    assert snapshot(ckpt, data) == before


def test_rewrite_never_replaces_the_checkpoint_it_read(work: Path) -> None:
    code, _, err = run("rewrite", "net.py", "--apply", "-o", "first.pt2")
    assert code == 0, err
    ckpt = work / "first.state_dict.pt"
    program = work / "first.pt2"
    before = snapshot(ckpt, program)
    code, _, err = run("rewrite", "net.py", "--weights", ckpt, "--apply", "-o", program)
    refused(code, err, "checkpoint", "first.state_dict.pt")
    assert snapshot(ckpt, program) == before


def test_rewrite_checks_the_state_dict_sibling_before_writing(work: Path) -> None:
    (work / "out.state_dict.pt").mkdir()
    code, _, err = run("rewrite", "net.py", "--apply", "-o", "out.pt2")
    refused(code, err, "out.state_dict.pt", "directory")
    assert sorted(p.name for p in work.iterdir()) == ["net.py", "out.state_dict.pt"]


def test_lint_report_may_not_replace_its_baseline_or_config(work: Path) -> None:
    code, _, err = run("lint", "net.py", "--write-baseline", "base.json")
    assert code == 0, err
    base = work / "base.json"
    config = work / "convscope.yaml"
    config.write_text("select: [ALL]\n")
    before = snapshot(base, config)
    code, _, err = run("lint", "net.py", "--baseline", base, "-o", base)
    refused(code, err, "baseline", "base.json")
    code, _, err = run("lint", "net.py", "-o", config)
    refused(code, err, "config", "convscope.yaml")
    assert snapshot(base, config) == before
    # updating a baseline in place is how baselines are maintained
    code, _, err = run("lint", "net.py", "--baseline", base, "--write-baseline", base)
    assert code == 0, err


def test_diff_may_not_replace_a_report_it_compares(work: Path) -> None:
    code, _, err = run("analyze", "net.py", "--format", "json", "-o", "a.json")
    assert code == 0, err
    report = work / "a.json"
    before = snapshot(report)
    code, _, err = run("diff", report, "net.py", "-o", report)
    refused(code, err, "BASE", "a.json")
    assert snapshot(report) == before


def test_output_through_a_symlink_writes_the_target_and_keeps_the_link(work: Path) -> None:
    real = work / "real.json"
    real.write_text("{}")
    (work / "link.json").symlink_to("real.json")
    code, _, err = run("analyze", "net.py", "--format", "json", "-o", "link.json")
    assert code == 0, err
    assert (work / "link.json").is_symlink()
    assert '"schema_version"' in real.read_text()


# --------------------------------------------------------------------------- profile traces


def test_trace_dir_that_is_a_file_fails_before_profiling(work: Path) -> None:
    (work / "traces").write_text("not a folder")
    before = snapshot(work / "traces")
    code, _, err = run("profile", "net.py", *FAST, "--trace-dir", "traces")
    refused(code, err, "traces", "is a file")
    assert snapshot(work / "traces") == before


def test_full_disk_while_profiler_writes_leaves_nothing(
    work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Kineto on a full disk: it leaves ``NAME.pt.trace.json.tmp`` and prints a raw ``ERROR:``
    line on stderr; the run reports one line and removes everything it made."""
    import torch.profiler

    def handler(directory: str, worker_name: str) -> Any:
        def on_ready(prof: Any) -> None:
            Path(directory, f"{worker_name}.1.pt.trace.json.tmp").write_text('{"traceEv')
            os.write(2, b"ERROR:2026 output_json.cpp:1042] Failed to write to log file!\n")

        return on_ready

    monkeypatch.setattr(torch.profiler, "tensorboard_trace_handler", handler)
    code, _, err = run("profile", "net.py", *FAST, "--trace-dir", "runs/prof")
    refused(code, err, "cannot write the profiler trace", "runs/prof", "disk full")
    assert not (work / "runs").exists()


def test_full_disk_while_copying_the_trace_leaves_nothing(
    work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    from convscope import _io

    def stage(target: Path, raw: bytes) -> str:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(_io, "_stage", stage)
    (work / "prof").mkdir()
    code, _, err = run("profile", "net.py", *FAST, "--trace-dir", "prof")
    refused(code, err, "trace.json", "No space left on device")
    assert list((work / "prof").iterdir()) == []  # the folder was the user's: it stays


# --------------------------------------------------------------------------- configs


def _planted(work: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A config in the project folder naming a callable of a module outside it."""
    outside = work / "elsewhere"
    outside.mkdir()
    marker = work / "called"
    (outside / "planted_mod.py").write_text(
        f"from torch import nn\n\ndef build():\n    open({str(marker)!r}, 'w').close()\n"
        "    return nn.Conv2d(3, 4, 3)\n"
    )
    monkeypatch.syspath_prepend(str(outside))
    project = work / "project"
    (project / "sub").mkdir(parents=True)
    config = project / "convscope.yaml"
    config.write_text("models:\n  - spec: planted_mod:build\n    input: [1, 3, 8, 8]\n")
    return config, marker


def test_a_discovered_config_cannot_name_code_outside_its_project(
    work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config, marker = _planted(work, monkeypatch)
    monkeypatch.chdir(config.parent / "sub")
    before = snapshot(config)
    code, _, err = run("lint")
    refused(code, err, "models[0].spec", "planted_mod", "--config")
    assert not marker.exists(), "the config's callable was called"
    assert snapshot(config) == before


def test_a_discovered_config_cannot_name_a_file_outside_its_project(
    work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = work / "project"
    project.mkdir()
    (project / "convscope.yaml").write_text("models: [../net.py]\n")
    monkeypatch.chdir(project)
    code, _, err = run("lint")
    refused(code, err, "models[0].spec", "outside", "--config")


def test_an_explicit_config_may_name_any_spec(work: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config, marker = _planted(work, monkeypatch)
    code, _, err = run("lint", "--config", config)
    assert code in (0, 1), err
    assert marker.exists()


def test_a_discovered_config_may_name_its_own_files_and_zoo_models(
    work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = work / "project"
    (project / "pkg").mkdir(parents=True)
    (project / "pkg" / "__init__.py").write_text("")
    shutil.copy(TINY, project / "pkg" / "net.py")
    (project / "convscope.yaml").write_text(
        "models:\n  - pkg/net.py\n  - pkg.net:Tiny\n  - spec: torchvision:mobilenet_v2\n"
        "    input: [1, 3, 32, 32]\n"
    )
    monkeypatch.chdir(project)
    monkeypatch.syspath_prepend(str(project))  # how `python -m convscope` runs from here
    code, _, err = run("lint", "--format", "json")
    assert code in (0, 1), err
