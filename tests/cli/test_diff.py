"""``convscope diff`` end to end: saved reports and model specs, exit codes 0/1/2,
``--exit-zero``, the three formats, ``-o`` (and no file on error)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from convscope.cli.app import main

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
TINY = Path(__file__).resolve().parents[1] / "fixtures" / "cli" / "tiny.py"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def reports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """main.json / head.json (the golden pair) in the current directory."""
    shutil.copy(GOLDEN / "diff-base.json", tmp_path / "main.json")
    shutil.copy(GOLDEN / "diff-head.json", tmp_path / "head.json")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def wider_tiny(tmp_path: Path) -> Path:
    """tests/fixtures/cli/tiny.py with the conv widened from 4 to 8 channels."""
    text = TINY.read_text(encoding="utf-8")
    for old, new in (
        ("nn.Conv2d(3, 4, 3, padding=1)", "nn.Conv2d(3, 8, 3, padding=1)"),
        ("nn.BatchNorm2d(4)", "nn.BatchNorm2d(8)"),
        ("nn.Linear(4, 2)", "nn.Linear(8, 2)"),
    ):
        assert old in text
        text = text.replace(old, new)
    path = tmp_path / "tiny_wide.py"
    path.write_text(text, encoding="utf-8")
    return path


def test_json_vs_json_markdown_matches_golden(reports: Path) -> None:
    code, out, err = run(
        "diff",
        "main.json",
        "head.json",
        "--fail-on",
        "params:+100%,macs:+50%,rf:+8,latency:+5%",
        "--format",
        "markdown",
    )
    assert code == 1, err
    assert out == (GOLDEN / "diff.md").read_text(encoding="utf-8")


def test_exit_codes_and_exit_zero(reports: Path) -> None:
    code, out, _ = run("diff", "main.json", "head.json", "--fail-on", "macs:+80%")
    assert code == 0
    assert "OK: all 1 threshold met" in out and "pass ≤ +80%" in out
    code, out, _ = run("diff", "main.json", "head.json", "--fail-on", "macs:+50%")
    assert code == 1
    assert "FAIL: 1 of 1 threshold exceeded (macs: +70.17% > +50%)" in out
    code, out_zero, _ = run(
        "diff", "main.json", "head.json", "--fail-on", "macs:+50%", "--exit-zero"
    )
    assert code == 0 and out_zero == out
    code, out, _ = run("diff", "main.json", "head.json")  # no thresholds: never fails
    assert code == 0 and "no thresholds given" in out


def test_repeated_fail_on_and_absolute_threshold(reports: Path) -> None:
    code, out, _ = run(
        "diff",
        "main.json",
        "head.json",
        "--fail-on",
        "params:+15K",
        "--fail-on",
        "peak_activation_bytes:+1MiB",
        "--format",
        "json",
    )
    assert code == 1
    doc = json.loads(out)
    assert [(g["metric"], g["exceeded"]) for g in doc["gates"]] == [
        ("params", True),
        ("peak_activation_bytes", False),
    ]
    assert doc["totals"]["params"]["delta"] == 15_360


def test_output_file_is_written(reports: Path) -> None:
    code, out, err = run("diff", "main.json", "head.json", "--format", "json", "-o", "d.json")
    assert code == 0 and out == ""
    assert err.strip() == "wrote d.json"
    doc = json.loads((reports / "d.json").read_text(encoding="utf-8"))
    assert doc["layers"]["added"] == 1 and doc["base"]["label"] == "main.json"


def test_spec_vs_spec(wider_tiny: Path) -> None:
    code, out, err = run(
        "diff", str(TINY), str(wider_tiny), "--format", "json", "--fail-on", "params:+50%"
    )
    assert code == 1, err
    doc = json.loads(out)
    # conv 3·4·9+4, bn 2·4, fc 4·2+2 → conv 3·8·9+8, bn 2·8, fc 8·2+2
    assert doc["totals"]["params"] == {
        "base": 130,
        "head": 258,
        "delta": 128,
        "delta_pct": round(100 * 128 / 130, 4),
    }
    # conv MACs 16·16·4·27 → 16·16·8·27
    assert doc["totals"]["macs"]["base"] == 16 * 16 * 4 * 27 + 8
    assert doc["totals"]["macs"]["head"] == 16 * 16 * 8 * 27 + 16
    assert doc["totals"]["rf"]["base"] == 3
    rows = {r["path"]: r for r in doc["layers"]["rows"]}
    assert rows["conv"]["fields"]["params"] == {"base": 112, "head": 224}
    assert doc["gates"][0]["exceeded"] is True


def test_spec_with_input_option(wider_tiny: Path) -> None:
    code, out, err = run(
        "diff", str(TINY), str(wider_tiny), "-i", "1,3,8,8", "--format", "markdown"
    )
    assert code == 0, err
    assert "input 1×3×8×8" in out and "| `conv` | changed | Conv2d | 112 → 224 (+112) |" in out


def test_saved_report_vs_spec(tmp_path: Path) -> None:
    saved = tmp_path / "tiny.json"
    code, _, err = run("analyze", str(TINY), "--format", "json", "-o", str(saved))
    assert code == 0, err
    code, out, err = run("diff", str(saved), str(TINY), "--fail-on", "macs:+0,rf:+0")
    assert code == 0, err
    assert "0 changed, 0 added, 0 removed, 4 unchanged" in out
    assert "OK: all 2 thresholds met" in out


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    return lines[0]


def test_bad_json_is_exit_2_without_output(reports: Path) -> None:
    (reports / "broken.json").write_text("{", encoding="utf-8")
    code, out, err = run("diff", "main.json", "broken.json", "-o", "out.md")
    assert code == 2 and out == ""
    assert "broken.json is not valid JSON" in one_line(err)
    assert not (reports / "out.md").exists()


def test_non_report_json_is_exit_2(reports: Path) -> None:
    (reports / "lint.json").write_text('{"findings": []}', encoding="utf-8")
    code, _, err = run("diff", "lint.json", "head.json")
    assert code == 2
    assert "lint.json is not a convscope JSON report" in one_line(err)
    doc = json.loads((reports / "head.json").read_text(encoding="utf-8"))
    doc["schema_version"] = 99
    (reports / "future.json").write_text(json.dumps(doc), encoding="utf-8")
    code, _, err = run("diff", "main.json", "future.json")
    assert code == 2
    assert "future.json has schema_version 99" in one_line(err)
    code, _, err = run("diff", "main.json", "nowhere.json")
    assert code == 2 and "report not found: nowhere.json" in one_line(err)


def test_unknown_metric_is_exit_2_without_output(reports: Path) -> None:
    code, out, err = run(
        "diff",
        "main.json",
        "head.json",
        "--fail-on",
        "macs:+5%,mac:+5%",
        "-o",
        "out.md",
        "--format",
        "markdown",
    )
    assert code == 2 and out == ""
    assert "unknown metric 'mac' in --fail-on threshold 'mac:+5%'" in one_line(err)
    assert not (reports / "out.md").exists()


def test_latency_gate_without_profile_is_exit_2(tmp_path: Path) -> None:
    for name in ("a.json", "b.json"):
        doc = json.loads((GOLDEN / "diff-base.json").read_text(encoding="utf-8"))
        del doc["profile"]
        (tmp_path / name).write_text(json.dumps(doc), encoding="utf-8")
    code, _, err = run(
        "diff", str(tmp_path / "a.json"), str(tmp_path / "b.json"), "--fail-on", "latency:+5%"
    )
    assert code == 2
    assert "cannot gate on 'latency': no profile section in either report" in one_line(err)


def test_input_option_needs_a_spec(reports: Path) -> None:
    code, _, err = run("diff", "main.json", "head.json", "-i", "1,3,8,8")
    assert code == 2
    assert "-i/--input applies to model specs" in one_line(err)


def test_bad_model_spec_is_exit_2(reports: Path) -> None:
    code, _, err = run("diff", "main.json", "does/not/exist.py")
    assert code == 2
    assert "exist.py" in one_line(err)
