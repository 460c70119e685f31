"""``convscope profile`` end to end: formats, options, calibration and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from convscope.cli.app import main

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "cli"
TINY = str(FIX / "tiny.py")
FAST = ("--threads", "1", "--min-time", "0.2", "--warmup", "1")


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def one_line_error(code: int, err: str, *needles: str) -> None:
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    for needle in needles:
        assert needle in lines[0]


def test_json_has_the_profile_section() -> None:
    code, out, err = run(
        "profile",
        "torchvision:mobilenet_v2",
        "-i",
        "1,3,112,112",
        "--format",
        "json",
        "--batch-sizes",
        "1,2",
        *FAST,
    )
    assert code == 0, err
    doc = json.loads(out)
    prof = doc["profile"]
    assert [b["batch_size"] for b in prof["batches"]] == [1, 2]
    assert doc["inputs"] == [[1, 3, 112, 112]]  # the analysis is at the first batch size
    layers = prof["layers"]
    assert layers["layers_sum_ms"] + layers["remainder_ms"] == pytest.approx(
        layers["e2e_median_ms"], abs=1e-5
    )
    timed = [row for row in doc["layers"] if "profile" in row]
    assert timed and all(row["profile"]["ms"] >= 0 for row in timed)
    assert prof["threads"] == 1 and prof["roofline"] is None


def test_table_with_target_roofline_to_file(tmp_path: Path) -> None:
    target = tmp_path / "report.txt"
    code, _, err = run(
        "profile", TINY, "--target", "gpu-fp16", "--top", "0", "-o", str(target), *FAST
    )
    assert code == 0, err
    # a GPU roof under CPU timings is flagged, on stderr and in the report
    assert "describes a cuda device but the timings were measured on cpu" in err
    text = target.read_text()
    assert "describes a cuda device" in text
    for needle in (
        "Median",
        "Img/s",
        "p10–p90",
        "Peak mem. growth",
        "Pred.",
        "Bound",
        "Reconcile",
        "vs end-to-end median",
        "gpu-fp16",
        "NVIDIA T4",
        "RSS",
        "conv",
        "Conv2d",
    ):
        assert needle in text, needle


def test_channels_last_and_trace_dir(tmp_path: Path) -> None:
    code, out, err = run(
        "profile",
        TINY,
        "--channels-last",
        "--trace-dir",
        str(tmp_path / "prof"),
        "--format",
        "json",
        *FAST,
    )
    assert code == 0, err
    prof = json.loads(out)["profile"]
    assert prof["channels_last"] is True
    assert prof["channels_last_observed"] == {"conv_input": True, "conv_weight": True}
    trace = json.loads((tmp_path / "prof" / "trace.json").read_text())
    names = {e.get("name") for e in trace["traceEvents"]}
    assert {"conv", "bn", "fc", "(root)"} <= names
    assert prof["trace"]["chrome"] == str(tmp_path / "prof" / "trace.json")
    assert list((tmp_path / "prof" / "tb").glob("*.pt.trace.json"))


def test_calibrate_alone_writes_a_usable_target(tmp_path: Path) -> None:
    machine = tmp_path / "machine.yaml"
    code, out, err = run(
        "profile", "--calibrate", "--calibrate-time", "0.3", "--threads", "1", "-o", str(machine)
    )
    assert code == 0, err
    assert "Peak compute" in out and "Ridge point" in out
    assert "peak-flops:" in machine.read_text()
    code, out, err = run("profile", TINY, "--target", str(machine), "--format", "json", *FAST)
    assert code == 0, err
    roof = json.loads(out)["profile"]["roofline"]
    assert roof["target"] == "machine" and roof["peak_flops"] > 0 and roof["bandwidth"] > 0
    code, out, err = run("profile", "--calibrate", "--calibrate-time", "0.2", "--format", "json")
    assert code == 0, err
    assert json.loads(out)["calibration"]["peak_flops"] > 0


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-CUDA error")
def test_cuda_without_cuda_exits_2_with_one_line() -> None:
    code, out, err = run("profile", TINY, "--device", "cuda")
    one_line_error(code, err, "CUDA is not available")
    assert out == ""


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        ((), "missing MODEL"),
        ((TINY, "--batch-sizes", "1,x"), "--batch-sizes"),
        ((TINY, "--batch-sizes", "0"), "--batch-sizes"),
        ((TINY, "--device", "tpu"), "device"),
        ((TINY, "--roofline"), "--calibrate"),
        ((TINY, "--target", "no-such-target"), "no-such-target"),
        (("no/such/model.py",), "not found"),
    ],
)
def test_usage_errors_are_one_line(args: tuple[str, ...], needle: str) -> None:
    code, _, err = run("profile", *args)
    one_line_error(code, err, needle)


def test_json_is_a_full_analysis_report_that_diff_reads(tmp_path: Path) -> None:
    """profile --format json carries the same sections as analyze (receptive field too), so
    `convscope diff` can compare two profile runs on every metric."""
    out = tmp_path / "p.json"
    result = CliRunner().invoke(
        main,
        [
            "profile",
            TINY,
            "--max-iters",
            "2",
            "--min-time",
            "0",
            "--format",
            "json",
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.stderr
    doc = json.loads(out.read_text())
    assert doc["receptive_field"]["covers_input"] is True
    assert doc["profile"]["batches"][0]["median_ms"] > 0
    diff = CliRunner().invoke(
        main, ["diff", str(out), str(out), "--fail-on", "rf:+0%", "--format", "json"]
    )
    assert diff.exit_code == 0, diff.stderr
