"""``convscope report`` end to end: formats, output files, and one-line errors with exit 2
that leave no file behind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from convscope.cli.app import main

ROOT = Path(__file__).resolve().parents[2]
SMALL = str(ROOT / "tests" / "fixtures" / "report" / "small_net.py")
TINY = str(ROOT / "tests" / "fixtures" / "cli" / "tiny.py")


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_html_report_written(tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    code, stdout, err = run("report", SMALL, "--rewrite", "-o", str(out))
    assert code == 0, err
    text = out.read_text(encoding="utf-8")
    assert text.startswith("<!doctype html>") and text.rstrip().endswith("</html>")
    assert 'id="rewrite"' in text and 'id="lint"' in text and 'id="fig-erf"' not in text
    assert stdout == "" and f"wrote {out}" in err


def test_format_follows_the_suffix(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    code, _, err = run("report", TINY, "-o", str(out))
    assert code == 0, err
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["model"] == TINY and len(doc["layers"]) == len(doc["execution_order"])
    assert doc["totals"]["params"] == 3 * 4 * 9 + 4 + 8 + 4 * 2 + 2
    assert "lint" in doc and "rewrite" not in doc and "erf" not in doc
    md = tmp_path / "r.md"
    code, _, err = run("report", TINY, "-o", str(md))
    assert code == 0, err
    assert md.read_text(encoding="utf-8").startswith("## convscope · ")


def test_markdown_and_json_to_stdout() -> None:
    code, out, err = run("report", TINY, "--format", "markdown", "--erf")
    assert code == 0, err
    assert "<details><summary>Per-layer table (" in out and "### Lint" in out
    assert "**Effective receptive field**" in out
    code, out, err = run("report", TINY, "--format", "json", "-i", "1,3,32,32")
    assert code == 0, err
    assert json.loads(out)["inputs"] == [[1, 3, 32, 32]]


def test_explicit_format_beats_the_suffix(tmp_path: Path) -> None:
    out = tmp_path / "report.txt"
    code, _, err = run("report", TINY, "--format", "json", "-o", str(out))
    assert code == 0, err
    assert json.loads(out.read_text(encoding="utf-8"))["schema_version"] == 1


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["tests/fixtures/cli/no_such_file.py"], "no_such_file.py"),
        ([TINY, "--target", "no-such-target"], "no-such-target"),
        ([TINY, "-i", "1,3,x,16"], "1,3,x,16"),
        ([TINY, "--config", "missing.yaml"], "missing.yaml"),
    ],
)
def test_bad_input_exit_2_and_no_file(tmp_path: Path, args: list[str], needle: str) -> None:
    out = tmp_path / "r.html"
    code, stdout, err = run("report", *args, "-o", str(out))
    assert code == 2
    assert err.startswith("error: ") and err.count("\n") == 1 and needle in err
    assert "Traceback" not in err and stdout == ""
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_missing_output_directory_exit_2(tmp_path: Path) -> None:
    code, _, err = run("report", TINY, "-o", str(tmp_path / "nope" / "r.html"))
    assert code == 2 and "output directory does not exist" in err


def test_bad_format_is_a_usage_error(tmp_path: Path) -> None:
    code, _, err = run("report", TINY, "--format", "pdf", "-o", str(tmp_path / "r.pdf"))
    assert code == 2 and "pdf" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA present")
def test_profile_cuda_without_cuda_exit_2(tmp_path: Path) -> None:
    code, _, err = run("report", TINY, "--profile", "cuda", "-o", str(tmp_path / "r.html"))
    assert code == 2 and "cuda" in err.lower() and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


PROFILE_FAST = ("--profile", "cpu", "--min-time", "0.02", "--calibrate-time", "0.1")
MACHINE = """\
description: measured box
device: cpu
roofline:
  peak-flops: 1.0e+11
  bandwidth: 2.0e+10
  source: a test
"""


def test_profile_cpu_calibrates_when_the_target_has_no_roof(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    code, _, err = run("report", TINY, *PROFILE_FAST, "-o", str(out))
    assert code == 0, err
    doc = json.loads(out.read_text(encoding="utf-8"))
    prof = doc["profile"]
    assert prof["device"] == "cpu" and prof["batches"][0]["median_ms"] > 0
    # generic has no figures: the roof is this machine, measured, and says so
    assert prof["roofline"]["target"] == "calibrated" and prof["roofline"]["device"] == "cpu"
    assert prof["calibration"]["rounds"] and "stable" in prof["calibration"]
    assert prof["reliability"]["verdict"] in ("ok", "noisy")
    memory = prof["batches"][0]["memory"]
    assert memory["label"].startswith("peak RSS growth during the timed runs")


@pytest.mark.parametrize("fmt", ["html", "markdown", "json"])
def test_profile_with_a_target_file_as_profile_and_lint_accept(tmp_path: Path, fmt: str) -> None:
    machine = tmp_path / "machine_t1.yaml"
    machine.write_text(MACHINE)
    out = tmp_path / f"r.{ {'markdown': 'md'}.get(fmt, fmt) }"
    code, _, err = run("report", TINY, *PROFILE_FAST, "--target", str(machine), "-o", str(out))
    assert code == 0, err
    text = out.read_text(encoding="utf-8")
    assert "machine_t1" in text and "unknown target" not in err
    if fmt == "json":
        doc = json.loads(text)
        assert doc["profile"]["roofline"]["peak_flops"] == 1e11
        assert doc["profile"]["calibration"] is None and doc["lint"]["target"] == "machine_t1"
    else:  # the verdict and the memory definition reach the rendered pages
        assert "peak RSS growth during the timed runs" in text
        assert ("noisy" in text.lower()) or ("reliable" in text.lower())


def test_profile_against_a_gpu_roof_on_cpu_warns(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    code, _, err = run("report", TINY, *PROFILE_FAST, "--target", "gpu-fp16", "-o", str(out))
    assert code == 0, err
    assert "warning: roofline 'gpu-fp16' describes a cuda device" in err
    warnings = json.loads(out.read_text())["profile"]["reliability"]["roofline_warnings"]
    assert any("measured on cpu" in w for w in warnings)


def test_help_lists_the_options() -> None:
    code, out, _ = run("report", "--help")
    assert code == 0
    for option in ("--profile", "--erf", "--rewrite", "--target", "--weights", "--format"):
        assert option in out


@pytest.mark.parametrize("command", ["report", "analyze"])
def test_depth_is_honoured_by_html(tmp_path: Path, command: str) -> None:
    pages = {}
    for depth in (None, 1):
        out = tmp_path / f"{command}-{depth}.html"
        extra = ("--format", "html") if command == "analyze" else ()
        code, _, err = run(
            command, SMALL, *extra, *(("--depth", str(depth)) if depth else ()), "-o", str(out)
        )
        assert code == 0, err
        pages[depth] = out.read_text(encoding="utf-8").count('" data-path="')
    assert 0 < pages[1] < pages[None]
