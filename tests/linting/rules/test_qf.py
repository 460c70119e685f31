"""QF001 / QF002 / QF005 on their catalog fixtures, with the weights (and calibration) the
rules need, plus how they behave without them."""

from __future__ import annotations

import runpy
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import torch

import convscope
from convscope.analysis.quant import quant_report, with_quant
from convscope.catalog import rule_folder
from convscope.linting.config import Settings
from convscope.linting.engine import lint
from convscope.linting.registry import default_registry
from convscope.model.load import load_model
from convscope.passes.keys import CALIBRATION, QUANT
from convscope.sections import WEIGHTS, SectionKey

REG = default_registry()
CODES = ("QF001", "QF002", "QF005")


def _run(
    code: str,
    which: str,
    *,
    weights: bool = True,
    options: dict[str, Any] | None = None,
    target: str = "generic",
) -> tuple[Counter[str], dict[str, int], Any]:
    path = rule_folder(code, REG[code].name) / f"{which}.py"
    namespace = runpy.run_path(str(path))
    loaded = load_model(str(path), device="cpu" if weights else "meta")
    analysis = convscope.analyze(loaded.module, loaded.inputs, name=str(path))
    providers: dict[SectionKey[Any], Any] = {}
    if weights:
        providers[WEIGHTS] = lambda _a: loaded.module
        calibration = namespace.get("CALIBRATION")
        if calibration is not None:
            providers[CALIBRATION] = lambda a: (
                quant_report(loaded.module, analysis=a, calibration=calibration).activations
            )
    settings = Settings(select=(code,), rules={code: options} if options else {}, target=target)
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
    # 58 of 96 depthwise channels (60%) are below 4 bits in QF001's bad fixture.
    got, _, _ = _run("QF001", "bad", options={"max_starved_share": 0.7})
    assert not got
    got, _, _ = _run("QF001", "bad", options={"min_bits": 1.0})
    assert got == Counter({"QF001": 1})  # 19 channels (20%) are at 0 bits
    got, _, _ = _run(
        "QF002", "bad", options={"max_starved_share": 1.0, "flag_dead_channels": False}
    )
    assert not got
    got, _, _ = _run("QF005", "bad", options={"max_ratio": 50.0})
    assert not got


def test_messages_carry_measured_values_and_fixes() -> None:
    _, _, result = _run("QF001", "bad")
    (f,) = result.findings
    assert f.layer == "dw"
    assert "58 of 96 output channels (60%) keep fewer than 4 of 8 bits" in f.message
    assert "19 (20%) round to 0 bits" in f.message and "lower-median channel" in f.message
    assert f.values["starved_channels"] == 58 and f.values["zero_bit_channels"] == 19
    assert f.values["starved_share"] == pytest.approx(58 / 96, abs=1e-3)
    assert f.suggestion and "cross-layer equalization" in f.suggestion
    assert "below 4 bits" in f.suggestion  # the share left after CLE
    assert isinstance(f.values["spread"], float) and f.values["spread"] > 10
    _, _, result = _run("QF002", "bad")
    layers = {f.layer: f for f in result.findings}
    assert set(layers) == {"expand_bn", "dw_bn"}
    dw = layers["dw_bn"]
    assert (
        "6 constant channels" in dw.message and "6 of them set the per-tensor range" in dw.message
    )
    assert "from 0 to 90 of 96" in dw.message
    assert "zero the folded weights of the 6 constant channels" in (dw.suggestion or "")
    assert "keep their folded bias" in (dw.suggestion or "")
    assert "from 0 to 58 of 96" in layers["expand_bn"].message
    _, _, result = _run("QF005", "bad")
    (f,) = result.findings
    assert f.layer == "mix" and "random calibration data" in f.message


def test_a_per_channel_target_keeps_only_what_per_channel_scales_cannot_fix() -> None:
    got, _, _ = _run("QF001", "bad", options={"weights": "per-channel"})
    assert not got  # output-channel starvation only: per-channel scales fix it
    _, _, result = _run("QF002", "bad", target="gpu-fp16")  # profile: weights per-channel
    assert [(f.layer, f.severity.value) for f in result.findings] == [("dw_bn", "info")]
    assert result.findings[0].values["weights"] == "per-channel"


def _starved_inputs_net() -> Any:
    """conv 8→16 → ReLU → 1×1 conv 16→16 whose weights reading input channels 0–3 are
    500× smaller: starved input channels that per-channel scales cannot rescue."""
    from torch import nn

    g = torch.Generator().manual_seed(0)
    net = nn.Sequential(nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 16, 1))
    with torch.no_grad():
        for m in net:
            if isinstance(m, nn.Conv2d):
                m.weight.copy_(torch.rand(m.weight.shape, generator=g) * 2 - 1)
        net[2].weight[:, :4] /= 500.0
    return net.eval()


@pytest.mark.parametrize("weights", ["per-tensor", "per-channel"])
def test_input_channel_starvation_is_flagged_on_every_target(weights: str) -> None:
    net = _starved_inputs_net()
    analysis = convscope.analyze(net, torch.zeros(1, 8, 8, 8))
    settings = Settings(select=("QF001",), rules={"QF001": {"weights": weights}})
    result = lint(analysis, settings, providers={WEIGHTS: lambda _a: net})
    (f,) = result.findings
    assert f.layer == "2" and f.values["input_starved_channels"] == 4
    assert "4 of 16 input channels (25%)" in f.message
    assert "per-channel quantization cannot fix" in f.message
    assert f.values["starved_channels"] == 0
    assert "cross-layer equalization of `0` → `2`" in (f.suggestion or "")


def test_half_the_channels_starved_is_flagged_where_max_over_median_was_blind() -> None:
    """58 of 128 depthwise channels (45%) 500× smaller: the max/median spread stays below 2
    (the median is a large channel), the starved share says 45%."""
    from torch import nn

    g = torch.Generator().manual_seed(1)
    net = nn.Sequential(nn.Conv2d(128, 128, 3, padding=1, groups=128), nn.BatchNorm2d(128))
    with torch.no_grad():
        net[0].weight.copy_(0.5 + torch.rand(net[0].weight.shape, generator=g))
        net[0].weight[:58] /= 500.0
    net.eval()
    analysis = convscope.analyze(net, torch.zeros(1, 128, 4, 4))
    result = lint(
        analysis, Settings(select=("QF001", "QF002")), providers={WEIGHTS: lambda _a: net}
    )
    (f,) = result.findings  # QF002: the BatchNorm is neutral, folding changes nothing
    assert f.code == "QF001" and f.values["starved_channels"] == 58
    assert float(f.values["spread"]) < 2  # what a max/median test compares


def test_analyze_table_and_lint_report_the_same_numbers() -> None:
    from convscope.render.quant.text import to_text

    path = rule_folder("QF001", REG["QF001"].name) / "bad.py"
    loaded = load_model(str(path), device="cpu")
    analysis = with_quant(convscope.analyze(loaded.module, loaded.inputs), loaded.module)
    report = analysis.need(QUANT)
    (f,) = lint(analysis, Settings(select=("QF001",))).findings
    lq = report.layer("dw")
    assert f.values["starved_channels"] == len(lq.starved(4.0)) == 58
    assert f.values["zero_bit_channels"] == len(lq.zero_bit_channels)
    assert f.values["lower_median_bits"] == pytest.approx(lq.lower_median_bits, abs=1e-3)
    row = next(line for line in to_text(report).splitlines() if line.startswith("│dw "))
    assert "58 (60%)" in row and "19 (20%)" in row and f"{lq.lower_median_bits:.1f}" in row


def test_rules_read_a_quant_section_already_in_the_analysis() -> None:
    path = rule_folder("QF001", REG["QF001"].name) / "bad.py"
    loaded = load_model(str(path), device="cpu")
    analysis = with_quant(convscope.analyze(loaded.module, loaded.inputs), loaded.module)
    result = lint(
        analysis, Settings(select=("QF001",)), providers={WEIGHTS: lambda _a: {}}
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

    from convscope.catalog import rule_doc, rules_dir
    from convscope.cli.app import main

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


def test_the_weights_profile_key_is_validated(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from convscope.cli.app import main
    from convscope.linting.profiles import load_profile
    from convscope.validate import ConfigError

    assert load_profile("edge-int8").fields["weights"] == "per-tensor"
    assert load_profile("generic").fields["weights"] == "per-tensor"
    assert load_profile("gpu-fp16").fields["weights"] == "per-channel"
    bad = tmp_path / "npu.yaml"
    bad.write_text("int8: true\nweights: per-row\n")
    with pytest.raises(ConfigError, match="weights"):
        load_profile(str(bad))
    model = rule_folder("QF001", REG["QF001"].name) / "good.py"
    result = CliRunner().invoke(main, ["lint", str(model), "--target", str(bad)])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ") and "weights" in result.stderr
    assert "Traceback" not in result.output
