"""Terminal output at 80 and 120 columns: golden files for ``lint`` and ``profile`` as a
terminal shows them, and real pseudo-terminal runs of the commands.

Regenerate the golden files after an intended change with
``CONVSCOPE_UPDATE_GOLDEN=1 pytest tests/render/test_terminal.py`` and review the diff.
"""

from __future__ import annotations

import fcntl
import io
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest
import torch
from rich.console import Console, RenderableType
from torch import nn

from convscope.analysis.build import Analysis
from convscope.linting.finding import Finding, LintResult, Location, Severity, SkippedRule
from convscope.profiling.speed_check import PredictionCheck
from convscope.render.lint import text as lint_text
from convscope.render.profile import text as profile_text

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden"
WIDTHS = (80, 120)
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


def _check(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("CONVSCOPE_UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"golden file {path} missing: run with CONVSCOPE_UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8")


def _terminal(renderable: RenderableType, width: int) -> str:
    """What a terminal of ``width`` columns shows (wrapping as on a tty), colour left out."""
    out = io.StringIO()
    Console(width=width, force_terminal=True, color_system=None, file=out).print(renderable)
    return "".join(line.rstrip() + "\n" for line in out.getvalue().splitlines())


def _in_pty(argv: list[str], columns: int, cwd: Path = ROOT) -> str:
    """Run ``argv`` with stdout and stderr on a pseudo-terminal ``columns`` wide."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TERM": "xterm-256color"}
    for var in ("COLUMNS", "LINES", "NO_COLOR", "FORCE_COLOR"):
        env.pop(var, None)
    proc = subprocess.Popen(argv, stdout=follower, stderr=follower, cwd=cwd, env=env)
    os.close(follower)
    chunks = []
    while True:
        ready, _, _ = select.select([leader], [], [], 120)
        if not ready:
            proc.kill()
            raise AssertionError(f"{argv} printed nothing for 120 s")
        try:
            data = os.read(leader, 65536)
        except OSError:  # the follower closed: the process is done
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=60)
    os.close(leader)
    assert proc.returncode in (0, 1), b"".join(chunks).decode()
    text = ANSI.sub("", b"".join(chunks).decode("utf-8", "replace")).replace("\r\n", "\n")
    return "".join(line.rstrip() + "\n" for line in text.splitlines())


# --------------------------------------------------------------------------- lint


def _lint_results() -> list[LintResult]:
    model = "examples/trap.py"
    src = ROOT / "examples" / "trap.py"
    info = [
        Finding(
            "DW003",
            "separable-candidate",
            Severity.INFO,
            f"stage{i}.conv",
            "dense 3×3 conv 64→64 holds 20.2% of the model's MACs; a depthwise 3×3 + pointwise "
            "1×1 pair would take params 36.9K → 4.67K and MACs 151M → 19.1M (saves 87.3%, "
            "threshold 50.0%)",
            suggestion="factorize into a depthwise conv followed by a 1×1 conv and fine-tune "
            "(accuracy is not guaranteed to hold)",
            rewrite=f"convscope rewrite {model} --only stage{i}.conv --mode separable",
            location=Location(src, 20 + i),
            model=model,
        )
        for i in (1, 2)
    ]
    warnings = [
        Finding(
            "RF001",
            "rf-under-coverage",
            Severity.WARNING,
            "stage2.conv",  # measured at its widest spatial layer, about the whole model
            "the output's receptive field is 43×43 input pixels (largest over paths, then "
            "global pooling): it covers 33.6%×33.6% of the 128×128 input, below "
            "min_coverage=80.0%",
            suggestion="grow the receptive field: more or larger (or dilated) spatial layers",
            location=Location(src, 22),
            model=model,
            scope="model",
        ),
        Finding(
            "RF002",
            "early-pointwise",
            Severity.WARNING,
            "stem",
            "block `stem` has no spatial op: its 5 1×1 convs in a row (`stem.0` … `stem.4`) "
            "run at 128×128 resolution while the receptive field is still 1×1 input pixels",
            suggestion="put a spatial conv (a depthwise 3×3 is cheap) in front of the early "
            "1×1 convs, or restore a 3×3 stem conv",
            location=Location(src, 12),
            model=model,
        ),
    ]
    # the engine's order: by layer, so the information comes first and the warnings last
    findings = (*info, warnings[0], warnings[1])
    skipped = (
        SkippedRule(
            "PF001",
            "memory-bound-hotspot",
            "needs roofline figures (peak-flops, bandwidth) in the target profile: use "
            "--target gpu-fp16 or a profile written by `convscope profile --calibrate`",
        ),
    )
    return [LintResult(model=model, findings=findings, skipped=skipped)]


@pytest.mark.parametrize("width", WIDTHS)
def test_lint_text_golden_at_terminal_widths(width: int) -> None:
    text = _terminal(lint_text.render(_lint_results(), cwd=ROOT), width)
    _check(f"lint-{width}.txt", text)
    _check_lint_layout(text, width)


def _check_lint_layout(text: str, width: int) -> None:
    lines = text.splitlines()
    assert all(len(line) <= width for line in lines), text
    # only the model heading and the summary start at column 0: wrapped lines hang under
    # their finding instead of restarting there
    flush = [line for line in lines if line and not line.startswith(" ")]
    assert len(flush) == 2, flush
    heads = [line.split()[0] for line in lines if re.match(r"^    \S", line)]
    assert heads == sorted(heads, key=lambda s: s != "warning"), "warnings come first"
    # the model-level finding heads a group of its own, not the layer it was measured at
    whole = next(i for i, line in enumerate(lines) if line.startswith("  whole model"))
    assert "RF001" in lines[whole + 1]
    stage2 = next(i for i, line in enumerate(lines) if line.startswith("  stage2.conv"))
    assert "DW003" in lines[stage2 + 1]
    assert not any(re.match(r"^    \S.*RF001", line) for line in lines[stage2:])


def test_lint_text_piped_is_one_line_per_finding() -> None:
    text = lint_text.to_text(_lint_results(), cwd=ROOT)
    assert len([line for line in text.splitlines() if "DW003 separable" in line]) == 2
    assert any(line.endswith("threshold 50.0%)") for line in text.splitlines())


def test_lint_on_a_real_80_column_pty() -> None:
    cmd = [sys.executable, "-m", "convscope", "lint", "examples/onebyone_trap.py"]
    text = _in_pty(cmd, 80)
    lines = [line for line in text.splitlines() if line]
    assert all(len(line) <= 80 for line in lines), text
    flush = [line for line in lines if not line.startswith(" ")]
    assert flush == [lines[0], lines[-1]], flush
    first = next(line for line in lines if re.match(r"^    \S", line))
    assert first.split()[:2] == ["warning", "RF001"] and "whole model" in text


# --------------------------------------------------------------------------- profile


def _synthetic_profile(
    page_faults: float | None = None, prediction: PredictionCheck | None = None
) -> Analysis:
    """A hand-made profile of a three-layer net whose layers add up to more than the
    end-to-end time (hook overhead) on a noisy run, with a roofline: no clock runs."""
    from convscope.api import analyze
    from convscope.profiling.layers import LayerTime, LayerTimes
    from convscope.profiling.measure import BatchResult, MemoryResult, Stats
    from convscope.profiling.run import ProfileResult, with_profile
    from convscope.targets.roofline import RooflineParams

    net = nn.Sequential(
        nn.Sequential(nn.Conv2d(3, 32, 3, padding=1)),
        nn.Sequential(nn.Conv2d(32, 32, 3, padding=1, groups=32)),
        nn.ReLU(),
    )
    analysis = analyze(net, torch.empty(1, 3, 64, 64, device="meta"), name="tests/three_layer")
    e2e = Stats.of([1.0e-3, 1.0e-3, 1.0e-3, 1.6e-3, 0.9e-3, 1.0e-3, 1.0e-3, 1.7e-3])
    layer_ms = {"0.0": 0.9, "1.0": 0.4, "2": 0.05}
    layers = tuple(
        LayerTime(path, type_name, True, 1, t / 1e3, t / 1e3, 0.8 * t / 1e3, 1.3 * t / 1e3)
        for (path, t), type_name in zip(layer_ms.items(), ("Conv2d", "Conv2d", "ReLU"), strict=True)
    )
    result = ProfileResult(
        model="tests/three_layer",
        device="cpu",
        device_name="test cpu",
        torch_version="2.x",
        threads=1,
        channels_last=False,
        dtype="float32",
        warmup=3,
        min_time=1.0,
        max_iters=None,
        batches=(
            BatchResult(
                1,
                e2e,
                MemoryResult("rss-vmhwm", 0, 3 * 2**20),
                ((1, 3, 64, 64),),
                page_faults=page_faults,
            ),
        ),
        layers=LayerTimes(1, "forward hooks", 8, layers, e2e),
        trace=None,
        conv_input_channels_last=None,
        conv_weight_channels_last=None,
        model_copied=False,
    )
    roof = RooflineParams(4e11, 5e10, name="edge-box", source="a made-up datasheet", device="cpu")
    return with_profile(analysis, result, roof, prediction=prediction)


@pytest.mark.parametrize("width", WIDTHS)
def test_profile_text_golden_at_terminal_widths(width: int) -> None:
    text = _terminal(profile_text.render(_synthetic_profile()), width)
    _check(f"profile-{width}.txt", text)
    lines = text.splitlines()
    assert all(len(line) <= width for line in lines), text
    assert "…" not in text, "a header or a cell was cut short"
    for header in ("Batch", "Iters", "Median", "p10", "p90", "Spread", "Img/s", "Achieved"):
        assert re.search(rf"(^| ){re.escape(header)}( |$)", text, re.MULTILINE), header
    assert text.count("NOISY") == 1
    assert not re.search(r"\d[eE][+-]?\d", text), "no exponent form"
    assert not re.search(r"(^|[\s(])-\d", text, re.MULTILINE), "no negative figure"
    # 1.35 ms of layers against a 1 ms end-to-end median: said as hook overhead
    flat = " ".join(re.sub("[│╭╮╰╯]", " ", text).split())
    assert "over by 0.350 ms (35.0% of end to end): the timing hooks' own overhead" in flat


def test_profile_text_counts_page_faults_and_flags_them_beside_a_prediction() -> None:
    check = PredictionCheck("dev", 0.8, 1, "cpu", 1)
    few = " ".join(_terminal(profile_text.render(_synthetic_profile(12.0, check)), 200).split())
    assert "12 minor page faults per forward" in few and "Faults" not in few
    many = " ".join(_terminal(profile_text.render(_synthetic_profile(2500.0, check)), 200).split())
    assert "2,500 minor page faults per forward" in many
    assert "Faults 2,500 minor page faults per forward: the C allocator" in many, many
    unknown = " ".join(_terminal(profile_text.render(_synthetic_profile()), 200).split())
    assert "page faults" not in unknown


# --------------------------------------------------------------------------- rule


def test_rule_markdown_is_drawn_for_an_80_column_pty() -> None:
    readme = (ROOT / "rules" / "RF002-early-pointwise" / "README.md").read_text(encoding="utf-8")
    assert max(len(line) for line in readme.splitlines()) > 80  # the case this is about
    text = _in_pty([sys.executable, "-m", "convscope", "rule", "RF002"], 80)
    lines = text.splitlines()
    assert all(len(line) <= 80 for line in lines), max(lines, key=len)
    assert "## What it does" not in text and "What it does" in text  # rendered, not raw
    # reflowed prose: every word of the README's prose is there whole, none cut at the edge
    prose = readme.split("## What it does", 1)[1].split("\n\n", 2)[1]
    words = set(re.findall(r"[A-Za-z][A-Za-z_-]+", prose))
    shown = set(re.findall(r"[A-Za-z][A-Za-z_-]+", text))
    assert words <= shown, words - shown


def test_rule_raw_prints_the_markdown_on_a_pty() -> None:
    readme = (ROOT / "rules" / "RF002-early-pointwise" / "README.md").read_text(encoding="utf-8")
    text = _in_pty([sys.executable, "-m", "convscope", "rule", "RF002", "--raw"], 80)
    assert text == "".join(line.rstrip() + "\n" for line in readme.splitlines())
