"""Baselines: normalized model identity, model-level anchors, worse values, stale entries,
deterministic files, old and malformed files refused."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from convscope.linting import baseline
from convscope.linting.finding import Finding, LintResult, Location, Severity
from convscope.validate import ConfigError


def finding(
    layer: str,
    code: str = "DW001",
    *,
    value: float | None = None,
    worse_if: str = "higher",
    scope: str = "layer",
    message: str | None = None,
) -> Finding:
    return Finding(
        code,
        "some-rule",
        Severity.WARNING,
        layer,
        message or f"message {layer}",
        value=value,
        worse_if=worse_if,
        scope=scope,
    )


def result(*findings: Finding, identity: str = "models/net.py") -> LintResult:
    return LintResult(model="./" + identity, findings=findings, identity=identity)


def roundtrip(tmp_path: Path, *results: LintResult) -> baseline.Baseline:
    path = tmp_path / "baseline.json"
    path.write_text(baseline.render(results))
    return baseline.load(path)


# ---------------------------------------------------------------------- identity


def test_file_specs_normalize_to_the_root(tmp_path: Path) -> None:
    (tmp_path / "models").mkdir()
    root = tmp_path
    cwd = tmp_path / "models"
    same = {
        baseline.model_identity("./models/net.py", root, cwd=tmp_path),
        baseline.model_identity("models/net.py", root, cwd=tmp_path),
        baseline.model_identity("net.py", root, cwd=cwd),
        baseline.model_identity("../models/./net.py", root, cwd=cwd),
    }
    assert same == {"models/net.py"}
    assert baseline.model_identity("./models/net.py:Net", root, cwd=tmp_path) == (
        "models/net.py:Net"
    )
    outside = baseline.model_identity("../other.py", root, cwd=tmp_path)
    assert outside == (tmp_path.parent / "other.py").as_posix()


def test_zoo_and_module_specs_keep_their_name(tmp_path: Path) -> None:
    assert baseline.model_identity("torchvision:ResNet18", tmp_path) == "torchvision:resnet18"
    assert baseline.model_identity(" timm:resnet50 ", tmp_path) == "timm:resnet50"
    assert baseline.model_identity("pkg.models:Net", tmp_path) == "pkg.models:Net"


def test_root_is_config_folder_then_git_root_then_cwd(tmp_path: Path) -> None:
    sub = tmp_path / "repo" / "src"
    sub.mkdir(parents=True)
    (sub / "convscope.yaml").write_text("")
    assert baseline.find_root(sub / "convscope.yaml") == sub.resolve()
    (tmp_path / "repo" / ".git").mkdir()
    assert baseline.find_root(cwd=sub) == (tmp_path / "repo").resolve()


# ---------------------------------------------------------------------- matching


def test_roundtrip_suppresses_accepted_findings(tmp_path: Path) -> None:
    crash = finding("", "CS000")
    unused = finding("a", "CS100")
    accepted = roundtrip(tmp_path, result(finding("a"), finding("b"), crash, unused))
    assert sorted(accepted.entries) == [
        ("models/net.py", "a", "DW001"),
        ("models/net.py", "b", "DW001"),
    ]  # internal errors and unused suppressions are never baselined
    new = baseline.apply(result(finding("a", message="reworded"), finding("c"), crash), accepted)
    assert [f.layer for f in new.findings] == ["c", ""]
    assert new.suppressed == 1
    assert new.stale_baseline == (("b", "DW001"),)  # b no longer fires
    assert baseline.apply(result(finding("a", "DW002")), accepted).suppressed == 0


def test_spec_spelling_does_not_matter_identity_does(tmp_path: Path) -> None:
    accepted = roundtrip(tmp_path, result(finding("a")))
    typed_differently = LintResult(
        model="models/net.py", findings=(finding("a"),), identity="models/net.py"
    )
    assert baseline.apply(typed_differently, accepted).findings == ()
    other_model = result(finding("a"), identity="models/other.py")
    kept = baseline.apply(other_model, accepted)
    assert len(kept.findings) == 1
    assert kept.stale_baseline == ()  # entries of models not linted are not stale


def test_model_level_findings_survive_appended_layers(tmp_path: Path) -> None:
    rf = dict(value=0.25, worse_if="lower", scope="model")
    accepted = roundtrip(tmp_path, result(finding("features.5", "RF001", **rf)))
    assert list(accepted.entries) == [("models/net.py", "", "RF001")]
    appended = baseline.apply(result(finding("head.0", "RF001", **rf)), accepted)
    assert appended.findings == () and appended.suppressed == 1


def test_worse_values_are_reported_again(tmp_path: Path) -> None:
    cov = dict(worse_if="lower", scope="model")
    accepted = roundtrip(tmp_path, result(finding("x", "RF001", value=0.5, **cov)))
    assert accepted.entries[("models/net.py", "", "RF001")].value == 0.5
    better = baseline.apply(result(finding("x", "RF001", value=0.75, **cov)), accepted)
    assert better.findings == ()
    worse = baseline.apply(result(finding("x", "RF001", value=0.25, **cov)), accepted)
    (f,) = worse.findings
    assert f.message.endswith("(worse than the baseline: 0.5 → 0.25)")
    # higher-is-worse rules (RF005 skipped fraction, QF001 spread) compare the other way
    skip = roundtrip(tmp_path, result(finding("conv", "RF005", value=0.5)))
    assert baseline.apply(result(finding("conv", "RF005", value=0.75)), skip).findings != ()
    assert baseline.apply(result(finding("conv", "RF005", value=0.5)), skip).findings == ()


def test_more_findings_on_one_anchor_than_accepted_are_new(tmp_path: Path) -> None:
    two = result(finding("bn", "QF003", message="one"), finding("bn", "QF003", message="two"))
    accepted = roundtrip(tmp_path, two)
    assert accepted.entries[("models/net.py", "bn", "QF003")].count == 2
    three = result(*two.findings, finding("bn", "QF003", message="three"))
    assert len(baseline.apply(three, accepted).findings) == 1


def test_written_file_is_deterministic(tmp_path: Path) -> None:
    fs = [finding("b", value=3), finding("a", value=8), finding("a", "AR001")]
    located = [dataclasses.replace(f, location=Location(tmp_path / "m.py", 3)) for f in fs]
    first = baseline.render([result(*fs)])
    assert first == baseline.render([result(*reversed(located))])
    doc = json.loads(first)
    assert doc == {
        "version": 2,
        "findings": [
            {"model": "models/net.py", "layer": "a", "code": "AR001"},
            {"model": "models/net.py", "layer": "a", "code": "DW001", "value": 8.0},
            {"model": "models/net.py", "layer": "b", "code": "DW001", "value": 3.0},
        ],
    }


# ---------------------------------------------------------------------- malformed files


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "{not json",
            "malformed JSON: Expecting property name enclosed in double quotes at line 1, column 2",
        ),
        ("[]", "expected a JSON object with 'version' and 'findings'"),
        ('{"version": 3, "findings": []}', "version: expected 2, got 3"),
        ('{"version": 2}', "findings: expected a list"),
        ('{"version": 2, "findings": [3]}', "findings[0]: expected an object"),
        (
            '{"version": 2, "findings": [{"model": "m", "layer": "a"}]}',
            "findings[0].code: expected a string",
        ),
        (
            '{"version": 2, "findings": [{"model": "m", "layer": "a", "code": "X", "v": 1}]}',
            "findings[0]: unknown key 'v'",
        ),
        (
            '{"version": 2, "findings": [{"model": "m", "layer": "a", "code": "X", '
            '"value": "big"}]}',
            "findings[0].value: expected a number",
        ),
        (
            '{"version": 2, "findings": [{"model": "m", "layer": "a", "code": "X", "count": 0}]}',
            "findings[0].count: expected a positive integer",
        ),
        ('{"version": 2, "findings": [], "extra": 1}', "unknown key 'extra'"),
    ],
)
def test_malformed_baseline(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "b.json"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        baseline.load(path)
    assert str(info.value) == f"baseline {path}: {expected}"


def test_version_1_files_ask_to_be_regenerated(tmp_path: Path) -> None:
    path = tmp_path / "old.json"
    path.write_text('{"version": 1, "findings": []}')
    with pytest.raises(ConfigError, match=r"regenerate it with `convscope lint --write-baseline"):
        baseline.load(path)


def test_duplicate_entries_refused(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    item = {"model": "m", "layer": "a", "code": "X"}
    path.write_text(json.dumps({"version": 2, "findings": [item, item]}))
    with pytest.raises(ConfigError, match=r"findings\[1\]: duplicate entry"):
        baseline.load(path)


def test_missing_baseline(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        baseline.load(tmp_path / "none.json")
