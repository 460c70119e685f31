"""``convscope lint`` / ``rule`` / ``config`` as a user runs them: exit codes, formats,
configuration errors, baselines, budgets and torchvision models."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from convscope.cli.app import main

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "rules"
DW001_BAD = RULES / "DW001-narrow-depthwise" / "bad.py"
DW001_GOOD = RULES / "DW001-narrow-depthwise" / "good.py"
QF004_BAD = RULES / "QF004-quant-unfriendly-activation" / "bad.py"


NARROW = Path(__file__).resolve().parents[1] / "fixtures" / "lint" / "narrow_dw.py"
STRICT_CONFIG = "rules: {DW001: {min_channels: 32, expansion_below: 64}}\n"


@pytest.fixture
def narrow_work(tmp_path: Path) -> Iterator[Path]:
    """Like ``work``, with a fixture and config whose DW001 flags ``dw1`` and ``dw2``."""
    old = Path.cwd()
    shutil.copy(NARROW, tmp_path / "bad.py")
    shutil.copy(DW001_GOOD, tmp_path / "good.py")
    (tmp_path / "convscope.yaml").write_text(STRICT_CONFIG)
    os.chdir(tmp_path)
    try:
        yield tmp_path
    finally:
        os.chdir(old)


@pytest.fixture
def work(tmp_path: Path) -> Iterator[Path]:
    """A working directory with copies of two fixture models."""
    old = Path.cwd()
    shutil.copy(DW001_BAD, tmp_path / "bad.py")
    shutil.copy(DW001_GOOD, tmp_path / "good.py")
    os.chdir(tmp_path)
    try:
        yield tmp_path
    finally:
        os.chdir(old)


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def json_findings(result: Result) -> Counter[str]:
    doc = json.loads(result.stdout)
    return Counter(f["code"] for m in doc["models"] for f in m["findings"])


# --------------------------------------------------------------------------- exit codes


def test_exit_codes(work: Path) -> None:
    bad = run("lint", "bad.py", "--select", "DW001", "--target", "edge-int8")
    assert bad.exit_code == 1, bad.output
    assert "bad.py:27" in bad.stdout and "DW001 narrow-depthwise" in bad.stdout
    assert bad.stdout.rstrip().endswith("2 findings (0 errors, 2 warnings, 0 info)")
    assert run("lint", "good.py", "--select", "DW001", "--target", "edge-int8").exit_code == 0
    assert (
        run("lint", "bad.py", "--select", "DW001", "--target", "edge-int8", "--exit-zero").exit_code
        == 0
    )
    assert (
        run(
            "lint", "bad.py", "--select", "DW001", "--target", "edge-int8", "--fail-on", "error"
        ).exit_code
        == 0
    )
    # info findings are shown but do not fail by default
    info = run("lint", str(QF004_BAD), "--select", "QF004", "--target", "edge-int8")
    assert info.exit_code == 0 and "2 findings (0 errors, 0 warnings, 2 info)" in info.stdout
    assert (
        run(
            "lint",
            str(QF004_BAD),
            "--select",
            "QF004",
            "--target",
            "edge-int8",
            "--fail-on",
            "info",
        ).exit_code
        == 1
    )


@pytest.mark.parametrize("fmt", ["json", "sarif", "github", "junit", "text"])
def test_formats_write_files(work: Path, fmt: str) -> None:
    out = work / f"out.{fmt}"
    result = run(
        "lint",
        "bad.py",
        "--select",
        "DW001",
        "--target",
        "edge-int8",
        "--format",
        fmt,
        "-o",
        str(out),
    )
    assert result.exit_code == 1
    assert result.stdout == "" and f"wrote {out}" in result.stderr
    text = out.read_text()
    if fmt in ("json", "sarif"):
        json.loads(text)
    if fmt == "sarif":
        results = json.loads(text)["runs"][0]["results"]
        assert [
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results
        ] == ["bad.py", "bad.py"]
    if fmt == "github":
        assert text.startswith("::warning file=bad.py,line=27,title=DW001 narrow-depthwise::")
    if fmt == "junit":
        assert '<testsuite name="bad.py"' in text


# --------------------------------------------------------------------------- config


def test_lint_without_models_uses_the_config(work: Path) -> None:
    (work / "convscope.yaml").write_text(
        textwrap.dedent("""
        models:
          - spec: bad.py
          - spec: good.py
            input: [1, 3, 16, 16]
        select: [DW001]
        target: edge-int8
        per-module-ignores: {"blocks.1.*": [DW]}
        budgets: {params: 1K}
    """)
    )
    result = run("lint", "--format", "json")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert [m["model"] for m in doc["models"]] == ["bad.py", "good.py"]
    assert [f["layer"] for f in doc["models"][0]["findings"]] == ["blocks.0.0"]
    assert doc["models"][0]["ignored"] == 1
    assert doc["models"][1]["budgets"][0]["exceeded"] is True
    assert doc["summary"]["budgets_exceeded"] == 2
    # budgets alone fail the run
    (work / "convscope.yaml").write_text("models: [good.py]\nbudgets: {macs: 1}\n")
    budget = run("lint")
    assert budget.exit_code == 1 and "budget macs" in budget.stdout and "EXCEEDED" in budget.stdout
    # a config in a parent directory, with specs relative to it
    (work / "sub").mkdir()
    (work / "convscope.yaml").write_text("models: [bad.py]\nselect: [DW001]\ntarget: edge-int8\n")
    os.chdir(work / "sub")
    result = run("lint", "--format", "json")
    assert json.loads(result.stdout)["models"][0]["model"] == "bad.py"
    assert result.exit_code == 1


def test_no_models_anywhere(work: Path) -> None:
    (work / "empty.yaml").write_text("")
    result = CliRunner().invoke(main, ["lint", "--config", "empty.yaml"])
    assert result.exit_code == 2
    assert "no MODEL given and no `models` listed" in result.stderr
    # ...and says how to give one: on the command line or under `models:`, with an example
    assert "convscope lint model.py" in result.stderr and "examples/convscope.yaml" in result.stderr
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize(
    "text, expected",
    [
        ("selct: [DW]\n", "convscope.yaml: selct: unknown key (did you mean 'select'?)"),
        ("select: [XX001]\n", "convscope.yaml: select[0]: unknown rule code 'XX001'"),
        (
            "rules: {DW001: {min_channels: x}}\n",
            "convscope.yaml: rules.DW001.min_channels: expected int, got 'x'",
        ),
        (
            "per-module-ignores: {'a.[b': [DW001]}\n",
            "convscope.yaml: per-module-ignores.a.[b: bad glob 'a.[b': unclosed '['",
        ),
        ("select: [DW\n", "convscope.yaml: malformed YAML: expected ',' or ']'"),
        ("target: tpu\n", "convscope.yaml: target: unknown target 'tpu'"),
    ],
)
def test_config_errors_exit_2(work: Path, text: str, expected: str) -> None:
    (work / "convscope.yaml").write_text(text)
    result = CliRunner().invoke(main, ["lint", "bad.py"])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {expected}"), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--select", "DW001,ZZ"], "--select: unknown rule code 'ZZ'"),
        (["--ignore", "dw001"], "--ignore: rule codes are upper case"),
        (
            ["--target", "npu"],
            "unknown target 'npu'; available targets: edge-int8, generic, gpu-fp16",
        ),
        (["--baseline", "missing.json"], "baseline missing.json: file not found"),
        (["--config", "nope.yaml"], "config file not found: nope.yaml"),
    ],
)
def test_cli_option_errors_exit_2(work: Path, args: list[str], expected: str) -> None:
    result = CliRunner().invoke(main, ["lint", "bad.py", *args])
    assert result.exit_code == 2
    assert expected in result.stderr


def test_malformed_baseline_exit_2(work: Path) -> None:
    (work / "base.json").write_text('{"version": 2, "findings": [{"model": 1}]}')
    result = CliRunner().invoke(main, ["lint", "bad.py", "--baseline", "base.json"])
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "error: baseline base.json: findings[0].model: expected a string"
    )


def test_pyproject_config_error_names_the_table(work: Path) -> None:
    (work / "pyproject.toml").write_text('[tool.convscope]\nseverity = {DW001 = "loud"}\n')
    result = CliRunner().invoke(main, ["lint", "bad.py"])
    assert result.exit_code == 2
    assert "pyproject.toml: tool.convscope.severity.DW001: expected one of" in result.stderr


# --------------------------------------------------------------------------- baselines


def test_write_baseline_then_only_new_findings_fail(work: Path) -> None:
    wrote = run(
        "lint",
        "bad.py",
        "--select",
        "DW001",
        "--target",
        "edge-int8",
        "--write-baseline",
        "base.json",
    )
    assert wrote.exit_code == 0
    assert "wrote 2 entries to baseline base.json" in wrote.stderr
    doc = json.loads((work / "base.json").read_text())
    assert {f["layer"] for f in doc["findings"]} == {"blocks.0.0", "blocks.1.0"}
    again = run(
        "lint", "bad.py", "--select", "DW001", "--target", "edge-int8", "--baseline", "base.json"
    )
    assert again.exit_code == 0
    assert "0 findings (0 errors, 0 warnings, 0 info); 2 suppressed by the baseline" in again.stdout
    # a new finding (another rule) still fails
    more = run(
        "lint",
        "bad.py",
        "--select",
        "DW001,PF002",
        "--target",
        "edge-int8",
        "--baseline",
        "base.json",
        "--fail-on",
        "info",
        "--format",
        "json",
    )
    assert more.exit_code == 1
    summary = json.loads(more.stdout)["summary"]
    assert summary["suppressed"] == 2 and summary["info"] >= 1


def test_baseline_keys_on_the_resolved_model_not_the_spelling(narrow_work: Path) -> None:
    work = narrow_work
    (work / ".git").mkdir()  # the repository root: model paths are relative to it
    (work / "sub").mkdir()
    assert (
        run("lint", "./bad.py", "--select", "DW001", "--write-baseline", "base.json").exit_code == 0
    )
    assert json.loads((work / "base.json").read_text())["findings"][0]["model"] == "bad.py"
    assert run("lint", "bad.py", "--select", "DW001", "--baseline", "base.json").exit_code == 0
    os.chdir(work / "sub")
    again = run("lint", "../bad.py", "--select", "DW001", "--baseline", "../base.json")
    assert again.exit_code == 0 and "2 suppressed by the baseline" in again.stdout


def test_write_baseline_is_deterministic(narrow_work: Path) -> None:
    work = narrow_work
    for name in ("one.json", "two.json"):
        run("lint", "bad.py", "--select", "DW001,RF001", "--write-baseline", name)
    text = (work / "one.json").read_text()
    assert text == (work / "two.json").read_text()
    doc = json.loads(text)
    assert [(f["layer"], f["code"]) for f in doc["findings"]] == [
        ("", "RF001"),  # model-level: keyed on the model, not the layer it is shown at
        ("dw1", "DW001"),
        ("dw2", "DW001"),
    ]
    assert [f.get("value") for f in doc["findings"]][1:] == [16.0, 48.0]


def test_stale_and_worse_baseline_entries(narrow_work: Path) -> None:
    work = narrow_work
    run("lint", "bad.py", "--select", "DW001", "--write-baseline", "base.json")
    text = (work / "bad.py").read_text()
    text = text.replace("nn.Conv2d(48, 48, 3, padding=1, groups=48)", "nn.Identity()")
    text = text.replace("nn.Conv2d(3, 16, 3, padding=1)", "nn.Conv2d(3, 8, 3, padding=1)")
    text = text.replace(
        "nn.Conv2d(16, 16, 3, padding=1, groups=16)", "nn.Conv2d(8, 8, 3, 1, 1, groups=8)"
    )
    (work / "bad.py").write_text(text.replace("nn.Conv2d(16, 48, 1)", "nn.Conv2d(8, 48, 1)"))
    out = run("lint", "bad.py", "--select", "DW001", "--baseline", "base.json")
    assert out.exit_code == 1  # dw1 got narrower: 16 → 8 channels
    assert "(worse than the baseline: 16 → 8)" in out.stdout
    assert "1 stale baseline entry (no longer found" in out.stdout and "DW001 dw2" in out.stdout
    doc = json.loads(
        run(
            "lint", "bad.py", "--select", "DW001", "--baseline", "base.json", "--format", "json"
        ).stdout
    )
    assert doc["models"][0]["stale_baseline"] == [{"layer": "dw2", "code": "DW001"}]
    assert doc["summary"]["stale_baseline"] == 1
    # stale entries alone do not fail unless asked to
    run("lint", "bad.py", "--select", "DW001", "--write-baseline", "base.json")
    (work / "bad.py").write_text((work / "good.py").read_text())
    fixed = ["lint", "bad.py", "--select", "DW001", "--baseline", "base.json"]
    assert run(*fixed).exit_code == 0
    assert run(*fixed, "--fail-on-stale").exit_code == 1


def test_version_1_baseline_asks_to_regenerate(work: Path) -> None:
    (work / "base.json").write_text('{"version": 1, "findings": []}')
    result = CliRunner().invoke(main, ["lint", "bad.py", "--baseline", "base.json"])
    assert result.exit_code == 2
    assert "regenerate it with `convscope lint --write-baseline base.json`" in result.stderr


@pytest.mark.usefixtures("narrow_work")
def test_statistics() -> None:
    text = run("lint", "bad.py", "--select", "DW001,RF001", "--statistics")
    assert text.exit_code == 1
    assert (
        text.stdout
        == "2  DW001  narrow-depthwise (warning)\n1  RF001  rf-under-coverage (warning)\n"
    )
    doc = json.loads(
        run("lint", "bad.py", "--select", "DW001", "--statistics", "--format", "json").stdout
    )
    assert doc == [{"code": "DW001", "name": "narrow-depthwise", "count": 2, "severity": "warning"}]
    bad = CliRunner().invoke(main, ["lint", "bad.py", "--statistics", "--format", "sarif"])
    assert bad.exit_code == 2 and "--statistics prints text or JSON" in bad.stderr


@pytest.mark.usefixtures("narrow_work")
def test_markdown_format() -> None:
    result = run("lint", "bad.py", "good.py", "--select", "DW001", "--format", "markdown")
    assert result.exit_code == 1
    text = result.stdout
    assert text.startswith("### ❌ convscope lint: 2 findings\n")
    assert "**fails** the gate (--fail-on warning)" in text
    assert "| warning | 2 |" in text
    assert "narrow-depthwise · 2" in text
    assert "| `bad.py` | warning | `dw1` | `bad.py:13` |" in text


def test_per_model_ignore_in_config(narrow_work: Path) -> None:
    work = narrow_work
    (work / "convscope.yaml").write_text(
        STRICT_CONFIG
        + "select: [DW001, RF001]\nmodels:\n  - {spec: bad.py, ignore: [RF001]}\n  - good.py\n"
    )
    doc = json.loads(run("lint", "--format", "json").stdout)
    bad, good = doc["models"]
    assert {f["code"] for f in bad["findings"]} == {"DW001"}
    assert "RF001" not in bad["rules_run"] and "RF001" in good["rules_run"]


# --------------------------------------------------------------------------- rule, config


def test_rule_command() -> None:
    listing = run("rule")
    assert listing.exit_code == 0
    assert "DW001  narrow-depthwise" in listing.stdout and "AR003" in listing.stdout
    doc = run("rule", "DW001")
    assert doc.exit_code == 0 and doc.stdout.startswith("# DW001 narrow-depthwise\n")
    assert "## References" in doc.stdout
    assert run("rule", "separable-candidate").stdout.startswith("# DW003 separable-candidate")
    unknown = CliRunner().invoke(main, ["rule", "DW01"])
    assert unknown.exit_code == 2
    assert "unknown rule code 'DW01' (did you mean DW001" in unknown.stderr


def test_config_show(work: Path) -> None:
    (work / "convscope.yaml").write_text("select: [DW]\nrules: {DW001: {min_channels: 8}}\n")
    shown = run("config", "--show", "--target", "edge-int8")
    assert shown.exit_code == 0
    doc = yaml.safe_load(shown.stdout)
    assert doc["config"] == "convscope.yaml" and doc["target"]["name"] == "edge-int8"
    assert doc["rules"]["DW001"] == {
        "name": "narrow-depthwise",
        "severity": "warning",
        "enabled": True,
        "options": {"min_channels": 8, "expansion_below": 0},
    }
    assert doc["rules"]["QF004"]["enabled"] is False
    targets = run("config", "--targets")
    assert targets.stdout.splitlines()[0].startswith("edge-int8: ")


def test_rule_and_help_do_not_import_torch() -> None:
    code = textwrap.dedent("""
        import sys
        from convscope.cli.app import main
        for args in (["--help"], ["rule"], ["rule", "DW001"], ["rule", "RF002"],
                     ["config", "--show"]):
            try:
                main(args, standalone_mode=False)
            except SystemExit:
                pass
            except Exception as exc:
                print("raised", type(exc).__name__, exc, file=sys.stderr)
        print("TORCH" if "torch" in sys.modules else "NO-TORCH")
    """)
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.stdout.strip().splitlines()[-1] == "NO-TORCH", proc.stderr


# --------------------------------------------------------------------------- torchvision


def test_torchvision_mobilenet_v2_edge_int8() -> None:
    result = run("lint", "torchvision:mobilenet_v2", "--target", "edge-int8", "--format", "json")
    assert result.exit_code == 1
    counts = json_findings(result)
    # one HW001 finding per misaligned width (16, 24, 144), one QF004 per activation site
    assert counts == {"HW001": 3, "QF004": 1}
    doc = json.loads(result.stdout)["models"][0]
    by_code: dict[str, list[dict[str, object]]] = {}
    for f in doc["findings"]:
        by_code.setdefault(str(f["code"]), []).append(f)
    [relu6] = by_code["QF004"]  # the ReLU6 after each depthwise conv + BN: one site, 17 calls
    assert relu6["layer"] == "features.1.conv.0.2" and relu6["values"]["calls"] == 17  # type: ignore[index]
    assert {f["values"]["alignment"] for f in by_code["HW001"]} == {32}  # type: ignore[index]
    assert all(f["location"] is not None for f in doc["findings"])


def test_torchvision_resnet50_generic_is_clean() -> None:
    # apart from RF005 on the three 1×1 stride-2 shortcut convs (tests/linting/rules/test_rf.py)
    result = run("lint", "torchvision:resnet50", "--ignore", "RF005")
    assert result.exit_code == 0
    assert "0 findings (0 errors, 0 warnings, 0 info)" in result.stdout


# --------------------------------------------------------------------------- CI locations

CI_CONFIG = """\
models:
  - spec: models/my net#1%.py
    budgets:
      params: 10
  - torchvision:resnet18
budgets:
  macs: 1G
select: [DW001, DW003]
target: edge-int8
"""


def test_ci_formats_use_repository_paths_from_a_subdirectory(tmp_path: Path) -> None:
    """Linting from models/ of a repository: paths stay relative to the root; budgets and
    the package model are anchored to the config lines that name them."""
    (tmp_path / ".git").mkdir()
    (tmp_path / "models").mkdir()
    shutil.copy(DW001_BAD, tmp_path / "models" / "my net#1%.py")
    (tmp_path / "convscope.yaml").write_text(CI_CONFIG)
    old = Path.cwd()
    os.chdir(tmp_path / "models")
    try:
        out = {fmt: run("lint", "--format", fmt) for fmt in ("sarif", "github", "junit")}
    finally:
        os.chdir(old)
    assert {r.exit_code for r in out.values()} == {1}, {k: r.output for k, r in out.items()}
    doc = json.loads(out["sarif"].stdout)
    run_ = doc["runs"][0]
    assert run_["originalUriBaseIds"]["%SRCROOT%"]["uri"] == tmp_path.resolve().as_uri() + "/"
    where = {}
    for r in run_["results"]:
        phys = r["locations"][0]["physicalLocation"]
        assert phys["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        key = (r["ruleId"], r["properties"]["model"], r["properties"]["values"].get("metric"))
        where.setdefault(key, set()).add(
            (phys["artifactLocation"]["uri"], phys["region"]["startLine"])
        )
    model = "models/my net#1%.py"
    assert where[("DW001", model, None)] == {("models/my%20net%231%25.py", 27)}
    assert where[("DW003", "torchvision:resnet18", None)] == {("convscope.yaml", 5)}
    assert where[("BUDGET", model, "params")] == {("convscope.yaml", 4)}
    assert where[("BUDGET", "torchvision:resnet18", "macs")] == {("convscope.yaml", 7)}
    # annotations: unchanged format, file relative to the root ('%' escaped)
    assert "::warning file=models/my net#1%25.py,line=27," in out["github"].stdout
    assert "models/my net#1%.py:27" in out["junit"].stdout
