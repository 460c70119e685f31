"""First-contact mistakes get one ``error:`` line that says what to do, and exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from convscope.cli import profile as profile_cli
from convscope.cli.app import main

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "cli"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def error_line(code: int, err: str) -> str:
    assert code == 2, err
    lines = [line for line in err.strip().splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def test_class_that_needs_constructor_arguments_says_how_to_expose_it() -> None:
    code, out, err = run("analyze", str(FIX / "needs_args.py"))
    line = error_line(code, err)
    assert "Net" in line and "needs constructor arguments (width)" in line
    assert "model = Net(width=...)" in line and "build_model" in line
    assert out == ""


def test_named_class_that_needs_arguments_says_the_same() -> None:
    code, _, err = run("analyze", f"{FIX / 'needs_args.py'}:Block")
    assert "model = Block(ch=...)" in error_line(code, err)


def test_missing_batch_dimension_suggests_the_shape_with_one() -> None:
    code, _, err = run("analyze", str(FIX / "tiny.py"), "-i", "3,16,16")
    line = error_line(code, err)
    assert "no batch dimension" in line and "-i 1,3,16,16" in line


def test_batch_of_one_missing_a_spatial_dimension_suggests_a_shape_that_runs() -> None:
    # 1,3,16 is a batch of one with H or W dropped: torch reads it as an unbatched 1×3×16
    # map, so prepending another 1 (what the hint used to say) fails the same way.
    code, _, err = run("analyze", str(FIX / "tiny.py"), "-i", "1,3,16")
    line = error_line(code, err)
    assert "-i 1,3,16,16" in line and "-i 1,1,3,16" not in line
    code, _, err = run("analyze", str(FIX / "tiny.py"), "-i", "1,3,16,16", "--format", "json")
    assert code == 0, err


def test_two_input_model_says_to_repeat_i() -> None:
    code, _, err = run("analyze", str(FIX / "two_inputs.py"), "-i", "1,3,32,32")
    line = error_line(code, err)
    assert "takes 2 inputs (image, depth) but got 1" in line
    assert "repeat -i once per input" in line and "-i 1,3,32,32 -i SHAPE" in line


def test_two_input_model_runs_with_two_i() -> None:
    code, _, err = run(
        "analyze",
        str(FIX / "two_inputs.py"),
        "-i",
        "1,3,32,32",
        "-i",
        "1,1,32,32",
        "--format",
        "json",
    )
    assert code == 0, err


@pytest.mark.parametrize("fixture", ["downloads_weights.py", "hub_weights.py"])
def test_model_that_downloads_weights_fails_fast_with_what_to_do(fixture: str) -> None:
    code, out, err = run("analyze", str(FIX / fixture), "--format", "json")
    line = error_line(code, err)
    assert "tries to download weights" in line and "cannot download" in line
    assert "--weights FILE" in line and "without pretrained weights" in line
    assert out == ""  # the model's "Downloading..." went to stderr, not into the report


def test_download_message_is_printed_once_on_stderr() -> None:
    _, out, err = run("analyze", str(FIX / "downloads_weights.py"))
    assert err.count("Downloading weights...") == 1 and "Downloading" not in out


@pytest.mark.parametrize(
    ("spec", "guess"),
    [("torchvison:resnet18", "did you mean torchvision:resnet18?"), ("hf:resnet18", "")],
)
def test_unknown_zoo_prefix_lists_the_ones_that_exist(spec: str, guess: str) -> None:
    code, _, err = run("analyze", spec)
    line = error_line(code, err)
    assert f"unknown model prefix '{spec.split(':')[0]}:'" in line
    assert "torchvision:NAME" in line and "timm:NAME" in line and guess in line


def test_profile_warns_on_stderr_before_a_large_run(monkeypatch: pytest.MonkeyPatch) -> None:
    # The real threshold is GiB; lower it so a tiny model crosses it without allocating much.
    monkeypatch.setattr(profile_cli, "LARGE_RUN_BYTES", 1024)
    code, out, err = run(
        "profile",
        str(FIX / "tiny.py"),
        "--format",
        "json",
        "--threads",
        "1",
        "--min-time",
        "0.05",
        "--warmup",
        "1",
        "--max-iters",
        "2",
    )
    assert code == 0, err
    assert "warning: inputs 1×3×16×16 need about" in err and "smaller -i" in err
    assert "warning:" not in out  # warnings go to stderr; the JSON stays clean


def test_profile_does_not_warn_for_ordinary_inputs() -> None:
    code, _, err = run(
        "profile",
        str(FIX / "tiny.py"),
        "--threads",
        "1",
        "--min-time",
        "0.05",
        "--warmup",
        "1",
        "--max-iters",
        "2",
    )
    assert code == 0, err
    assert "warning: inputs" not in err


def test_analyze_help_has_examples() -> None:
    code, out, _ = run("analyze", "--help")
    assert code == 0
    assert "convscope analyze torchvision:resnet50" in out
    assert "-i 1,3,224,224 -i 1,1,224,224" in out


@pytest.mark.parametrize("command", [("lint",), ("report",), ("profile",)])
def test_target_has_the_same_metavar_everywhere(command: tuple[str, ...]) -> None:
    _, out, _ = run(*command, "--help")
    assert "--target PROFILE" in out
