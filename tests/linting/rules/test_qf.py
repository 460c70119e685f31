"""QF001 / QF002 / QF005 on their catalog fixtures, with the weights (and calibration) the
rules need, plus how they behave without them."""

from __future__ import annotations

import runpy
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import convscope
from convscope.linting.catalog import rule_folder
from convscope.linting.config import Settings
from convscope.linting.engine import lint
from convscope.linting.registry import default_registry
from convscope.model.load import load_model
from convscope.passes.quant.measure import quant_report, with_quant

REG = default_registry()
CODES = ("QF001", "QF002", "QF005")


def _run(
    code: str, which: str, *, weights: bool = True, options: dict[str, Any] | None = None
) -> tuple[Counter[str], dict[str, int], Any]:
    path = rule_folder(code, REG[code].name) / f"{which}.py"
    namespace = runpy.run_path(str(path))
    loaded = load_model(str(path), device="cpu" if weights else "meta")
    analysis = convscope.analyze(loaded.module, loaded.inputs, name=str(path))
    providers: dict[str, Any] = {}
    if weights:
        providers["weights"] = lambda _a: loaded.module
        calibration = namespace.get("CALIBRATION")
        if calibration is not None:
            providers["calibration"] = lambda a: (
                quant_report(loaded.module, analysis=a, calibration=calibration).activations
            )
    settings = Settings(select=(code,), rules={code: options} if options else {})
    result = lint(
        analysis,
        settings,
        module=loaded.module,
        source_file=loaded.source_file,
        providers=providers,
    )
    for f in result.findings:
        assert f.location is not None and f.location.file == Path(path).resolve(), f
    return Counter(f.code for f in result.findings), namespace["EXPECTED"], result


@pytest.mark.parametrize("code", CODES)
@pytest.mark.parametrize("which", ["bad", "good"])
def test_fixtures_with_weights(code: str, which: str) -> None:
    got, expected, result = _run(code, which)
    assert not result.skipped
    assert dict(got) == expected
    assert (which == "bad") == bool(expected)


@pytest.mark.parametrize("code", CODES)
def test_without_weights_the_rule_is_skipped_with_a_reason(code: str) -> None:
    got, _, result = _run(code, "bad", weights=False)
    assert not got
    assert [s.code for s in result.skipped] == [code]
    assert result.skipped[0].reason


def test_qf005_is_off_unless_selected_by_code() -> None:
    assert REG["QF005"].default_severity.value == "off"
    resolved = Settings(select=("QF",)).resolve(REG)
    assert "QF005" not in {a.rule.code for a in resolved.active}
    assert {"QF001", "QF002"} <= {a.rule.code for a in resolved.active}


def test_options_move_the_thresholds() -> None:
    got, _, _ = _run("QF001", "bad", options={"max_spread": 1000.0})
    assert not got
    got, _, _ = _run(
        "QF002", "bad", options={"max_fold_ratio": 1000.0, "flag_dead_channels": False}
    )
    assert not got
    got, _, _ = _run("QF005", "bad", options={"max_ratio": 50.0})
    assert not got


def test_messages_carry_measured_values_and_fixes() -> None:
    _, _, result = _run("QF001", "bad")
    (f,) = result.findings
    assert f.layer == "dw" and "spread" in f.message and "per-channel" in f.message
    assert f.suggestion and "cross-layer equalization" in f.suggestion
    assert isinstance(f.values["spread"], float) and f.values["spread"] > 10
    _, _, result = _run("QF002", "bad")
    layers = {f.layer: f for f in result.findings}
    assert set(layers) == {"expand_bn", "dw_bn"}
    assert "6 constant channels" in layers["dw_bn"].message
    assert "remove the 6" in (layers["dw_bn"].suggestion or "")
    _, _, result = _run("QF005", "bad")
    (f,) = result.findings
    assert f.layer == "mix" and "random calibration data" in f.message


def test_rules_read_a_quant_section_already_in_the_analysis() -> None:
    path = rule_folder("QF001", REG["QF001"].name) / "bad.py"
    loaded = load_model(str(path), device="cpu")
    analysis = with_quant(convscope.analyze(loaded.module, loaded.inputs), loaded.module)
    result = lint(
        analysis, Settings(select=("QF001",)), providers={"weights": lambda _a: {}}
    )  # never consulted: the section wins
    assert [f.code for f in result.findings] == ["QF001"]


@pytest.mark.parametrize("code", ["QF001", "QF002"])
def test_readme_checkpoint_run_is_current(
    code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README quotes `convscope lint bad.py --weights bad.pt`: rerun it for real."""
    import re
    import shlex

    import torch
    from click.testing import CliRunner

    from convscope.cli.app import main
    from convscope.linting.catalog import rule_doc, rules_dir

    folder = rule_folder(code, REG[code].name)
    model = runpy.run_path(str(folder / "bad.py"))["build_model"]()
    torch.save(model.state_dict(), tmp_path / "bad.pt")
    text = rule_doc(code, REG[code].name).read_text(encoding="utf-8")
    (block,) = re.findall(r"^(\$ convscope lint .*?)```", text, re.S | re.M)
    command, *expected = block.splitlines()
    args = shlex.split(command[2:])[1:]
    args[args.index("--weights") + 1] = str(tmp_path / "bad.pt")
    monkeypatch.chdir(rules_dir().parent)
    result = CliRunner().invoke(main, args)
    printed = [line.rstrip() for line in result.stdout.splitlines()]
    for line in expected:
        assert line.rstrip() in printed, f"{code}: stale README line: {line}"
