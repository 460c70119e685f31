"""``convscope report BASE --compare HEAD`` end to end: model specs and saved JSON reports
on either side, the three formats, and one-line errors with exit 2 that write nothing
(options a comparison cannot honour, bad sides, an output that is an input)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from convscope.cli.app import main

ROOT = Path(__file__).resolve().parents[2]
BASE = str(ROOT / "tests" / "fixtures" / "compare" / "base_net.py")
HEAD = str(ROOT / "tests" / "fixtures" / "compare" / "head_net.py")
TINY = str(ROOT / "tests" / "fixtures" / "cli" / "tiny.py")


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """base_net.py saved as `analyze` JSON (no lint) and as `report` JSON (with lint)."""
    d = tmp_path_factory.mktemp("saved")
    out = {"analyze": d / "base-analyze.json", "report": d / "base-report.json"}
    code, _, err = run("analyze", BASE, "--format", "json", "-o", str(out["analyze"]))
    assert code == 0, err
    code, _, err = run("report", BASE, "--format", "json", "-o", str(out["report"]))
    assert code == 0, err
    return out


def test_two_model_specs_to_an_html_page(tmp_path: Path) -> None:
    out = tmp_path / "review.html"
    code, stdout, err = run("report", BASE, "--compare", HEAD, "-o", str(out))
    assert code == 0, err
    assert stdout == "" and f"wrote {out}" in err
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>") and 'id="layer-table"' in page
    assert 'id="lint-table"' in page and 'id="fig-macs"' in page


def test_saved_analysis_against_the_working_tree(saved: dict[str, Path], tmp_path: Path) -> None:
    """The CI form: the base revision analyzed to JSON, compared with a model spec."""
    out = tmp_path / "review.json"  # the format follows the suffix
    code, _, err = run("report", str(saved["analyze"]), "--compare", HEAD, "-o", str(out))
    assert code == 0, err
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["comparison_version"] == 1
    assert doc["base"]["label"] == str(saved["analyze"]) and doc["base"]["model"] == BASE
    totals = {t["name"]: t for t in doc["totals"]}
    assert (totals["macs"]["base"], totals["macs"]["head"]) == (202_832, 415_904)
    assert doc["lint"] is None and "no lint section in base" in doc["lint_note"]


def test_saved_reports_carry_their_lint(saved: dict[str, Path]) -> None:
    code, out, err = run(
        "report", str(saved["report"]), "--compare", str(saved["report"]), "--format", "json"
    )
    assert code == 0, err
    doc = json.loads(out)
    assert doc["lint"]["counts"]["new"] == doc["lint"]["counts"]["fixed"] == 0
    assert doc["lint"]["counts"]["unchanged"] > 0 and doc["lint_note"] is None
    assert doc["layers"]["counts"]["same"] == len(doc["layers"]["rows"])


def test_markdown_to_stdout_with_input_shapes() -> None:
    code, out, err = run(
        "report", TINY, "--compare", TINY, "--format", "markdown", "-i", "1,3,32,32"
    )
    assert code == 0, err
    assert out.startswith("### convscope compare: ")
    assert "input 1×3×32×32" in out and "| macs | 111K | 111K | 0 | 0% |  |" in out


@pytest.mark.parametrize(
    ("extra", "flag"),
    [
        (["--profile", "cpu"], "--profile"),
        (["--min-time", "0.5"], "--min-time"),
        (["--no-calibrate"], "--calibrate/--no-calibrate"),
        (["--calibrate-time", "1"], "--calibrate-time"),
        (["--erf"], "--erf"),
        (["--rewrite"], "--rewrite"),
        (["--seed", "3"], "--seed"),
        (["--weights", "ckpt.pt"], "--weights"),
        (["--depth", "1"], "--depth"),
    ],
)
def test_options_a_comparison_cannot_honour(tmp_path: Path, extra: list[str], flag: str) -> None:
    out = tmp_path / "review.html"
    code, stdout, err = run("report", TINY, "--compare", TINY, *extra, "-o", str(out))
    assert code == 2
    assert err.startswith(f"error: {flag} does not apply with --compare: ")
    assert err.count("\n") == 1 and "Traceback" not in err and stdout == ""
    assert not out.exists()


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--target", "gpu-fp16"], "--target applies to a model spec side"),
        (["--config", "c.yaml"], "--config applies to a model spec side"),
        (["-i", "1,3,8,8"], "-i/--input applies to a model spec side"),
    ],
)
def test_spec_options_with_two_saved_reports(
    saved: dict[str, Path], tmp_path: Path, args: list[str], needle: str
) -> None:
    out = tmp_path / "review.html"
    report = str(saved["analyze"])
    code, stdout, err = run("report", report, "--compare", report, *args, "-o", str(out))
    assert code == 2 and err.startswith(f"error: {needle}") and err.count("\n") == 1
    assert stdout == "" and not out.exists()


def test_never_overwrites_an_input(saved: dict[str, Path], tmp_path: Path) -> None:
    head = tmp_path / "head.json"
    head.write_bytes(saved["analyze"].read_bytes())
    before = head.read_bytes()
    code, _, err = run("report", str(saved["analyze"]), "--compare", str(head), "-o", str(head))
    assert (
        code == 2
        and err == f"error: output {head} is the HEAD {head}; choose another output path\n"
    )
    assert head.read_bytes() == before
    code, _, err = run("report", BASE, "--compare", TINY, "-o", BASE)
    assert code == 2 and "is the BASE" in err


@pytest.mark.parametrize(
    ("side", "needle"),
    [
        ("tests/fixtures/cli/no_such_file.py", "no_such_file.py"),
        ("missing.json", "report not found: missing.json"),
    ],
)
def test_a_bad_side_exits_2_and_writes_nothing(tmp_path: Path, side: str, needle: str) -> None:
    out = tmp_path / "review.html"
    for argv in (["report", side, "--compare", TINY], ["report", TINY, "--compare", side]):
        code, stdout, err = run(*argv, "-o", str(out))
        assert code == 2, err
        assert err.startswith("error: ") and needle in err and err.count("\n") == 1
        assert stdout == "" and not out.exists()
