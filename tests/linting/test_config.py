"""Configuration files and target profiles: parsing, validation messages, discovery."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from convscope.catalog import profiles_dir, rules_dir
from convscope.linting.config import Settings, find_config, load_settings, resolve_spec
from convscope.linting.finding import Severity
from convscope.linting.profiles import load_profile
from convscope.linting.registry import default_registry
from convscope.targets.profiles import available_profiles
from convscope.validate import ConfigError, format_size, parse_size

REG = default_registry()


def write(tmp: Path, name: str, text: str) -> Path:
    path = tmp / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def in_tmp(tmp_path: Path) -> Iterator[Path]:
    """Run the test with ``tmp_path`` as the working directory."""
    old = Path.cwd()
    os.chdir(tmp_path)
    try:
        yield tmp_path
    finally:
        os.chdir(old)


def load_error(tmp: Path, text: str, name: str = "convscope.yaml") -> str:
    path = write(tmp, name, text)
    with pytest.raises(ConfigError) as info:
        load_settings(REG, path)
    return str(info.value)


@pytest.mark.parametrize(
    "value, expected",
    [
        (25_000_000, 25_000_000),
        ("25M", 25_000_000),
        ("4.1G", 4_100_000_000),
        ("64MiB", 64 * 1024**2),
        ("64 MiB", 64 * 1024**2),
        ("1.5e9", 1_500_000_000),
        ("512K", 512_000),
        ("2KiB", 2048),
        ("10", 10),
        ("1_000", 1000),
        (1e6, 1_000_000),
    ],
)
def test_parse_size(value: object, expected: int) -> None:
    assert parse_size(value) == expected


@pytest.mark.parametrize("value", ["", "M", "25X", "-5", "1.2.3", True, [1], "5 i"])
def test_parse_size_rejects(value: object) -> None:
    with pytest.raises(ValueError, match="expected"):
        parse_size(value)


def test_format_size() -> None:
    assert format_size(25_000_000) == "25M"
    assert format_size(64 * 1024**2, binary=True) == "64MiB"


def test_full_config(in_tmp: Path) -> None:
    (in_tmp / "models").mkdir()
    path = write(
        in_tmp,
        "convscope.yaml",
        """
models:
  - spec: models/net.py
    input: "1,3,64,64"
  - spec: models/net.py:Other
    input: [[1, 3, 32, 32], [1, 8]]
    budgets: {params: 1M}
  - torchvision:resnet18
target: edge-int8
select: [DW, QF]
extend-select: [AR003]
ignore: [QF004]
per-module-ignores:
  "features.0.*": [DW001]
severity: {DW003: warning}
rules:
  DW001: {min_channels: 16}
  QF004: {activations: [silu, relu6-after-depthwise]}
budgets: {params: 25M, macs: 4.1G, peak_activation_bytes: 64MiB}
fail-on: error
""",
    )
    s = load_settings(REG, path)
    assert s.path == path and s.target == "edge-int8"
    assert s.select == ("DW", "QF") and s.extend_select == ("AR003",) and s.ignore == ("QF004",)
    assert s.per_module_ignores == (("features.0.*", ("DW001",)),)
    assert s.severity == {"DW003": Severity.WARNING}
    assert s.rules["QF004"]["activations"] == ("silu", "relu6-after-depthwise")
    assert (s.budgets.params, s.budgets.macs, s.budgets.peak_activation_bytes) == (
        25_000_000,
        4_100_000_000,
        64 * 1024**2,
    )
    assert s.fail_on is Severity.ERROR
    m0, m1, m2 = s.models
    assert m0.inputs == ((1, 3, 64, 64),) and m0.load_spec == "models/net.py"
    assert m1.inputs == ((1, 3, 32, 32), (1, 8)) and m1.load_spec == "models/net.py:Other"
    assert m1.budgets is not None and m1.budgets.params == 1_000_000
    assert m2.spec == m2.load_spec == "torchvision:resnet18"
    active = {a.rule.code: a for a in s.resolve(REG).active}
    assert {c for c in active if c[:2] in ("DW", "AR") or c in ("QF003", "QF004")} == {
        "DW001",
        "DW002",
        "DW003",
        "QF003",
        "AR003",
    }
    assert active["DW001"].options["min_channels"] == 16
    assert active["DW003"].severity is Severity.WARNING
    shown = yaml.safe_load(s.to_yaml(REG))
    assert shown["target"]["name"] == "edge-int8" and shown["target"]["channel-alignment"] == 32
    assert shown["rules"]["QF004"]["enabled"] is False
    assert shown["rules"]["DW001"]["options"]["min_channels"] == 16


@pytest.mark.parametrize(
    "text, expected",
    [
        ("selct: [DW]\n", "convscope.yaml: selct: unknown key (did you mean 'select'?)"),
        (
            "per_module_ignores: {}\n",
            "convscope.yaml: per_module_ignores: unknown key (did you mean 'per-module-ignores'?)",
        ),
        ("select: [XX9]\n", "convscope.yaml: select[0]: unknown rule code 'XX9'"),
        ("ignore: [dw001]\n", "convscope.yaml: ignore[0]: rule codes are upper case"),
        (
            "rules: {DW009: {}}\n",
            "convscope.yaml: rules.DW009: unknown rule code 'DW009' (did you mean",
        ),
        (
            "rules: {DW001: {min_channels: x}}\n",
            "convscope.yaml: rules.DW001.min_channels: expected int, got 'x'",
        ),
        (
            "rules: {DW001: {min_channel: 3}}\n",
            "convscope.yaml: rules.DW001.min_channel: unknown option for DW001 narrow-depthwise",
        ),
        (
            "rules: {QF004: {activations: [swish]}}\n",
            "convscope.yaml: rules.QF004.activations: expected one of",
        ),
        (
            "severity: {DW001: loud}\n",
            "convscope.yaml: severity.DW001: expected one of off, info, warning, error, got 'loud'",
        ),
        (
            "per-module-ignores: {'features.[0': [DW001]}\n",
            "convscope.yaml: per-module-ignores.features.[0: bad glob 'features.[0': unclosed '['",
        ),
        (
            "per-module-ignores: {'features/0': [DW001]}\n",
            "convscope.yaml: per-module-ignores.features/0: bad glob",
        ),
        (
            "per-module-ignores: {'a.*': [ZZ]}\n",
            "convscope.yaml: per-module-ignores.a.*[0]: unknown rule code 'ZZ'",
        ),
        ("budgets: {params: lots}\n", "convscope.yaml: budgets.params: expected a size"),
        ("budgets: {time: 5}\n", "convscope.yaml: budgets.time: unknown key"),
        (
            "target: tpu\n",
            "convscope.yaml: target: unknown target 'tpu'; available targets: "
            "edge-int8, generic, gpu-fp16",
        ),
        ("fail-on: off\n", "convscope.yaml: fail-on: expected info, warning or error"),
        (
            "models: [{spec: m.py, input: '1,x'}]\n",
            "convscope.yaml: models[0].input[0]: expected a shape",
        ),
        ("models: [{spec: m.py, inputs: [1]}]\n", "convscope.yaml: models[0].inputs: unknown key"),
        (
            "models: [{spec: m.py, ignore: [RF9]}]\n",
            "convscope.yaml: models[0].ignore[0]: unknown rule code 'RF9'",
        ),
        ("models: [{spec: m.py, ignore: 3}]\n", "convscope.yaml: models[0].ignore: expected"),
        (
            "models: [{spec: m.py, per-module-ignores: {'fc[': [HW001]}}]\n",
            "convscope.yaml: models[0].per-module-ignores.fc[:",
        ),
        (
            "models: [{spec: m.py, per-module-ignores: {fc: [XX001]}}]\n",
            "convscope.yaml: models[0].per-module-ignores.fc[0]:",
        ),
        ("select: [DW\n", "convscope.yaml: malformed YAML"),
        ("- just\n- a list\n", "convscope.yaml: expected a mapping, got a list"),
        ("CS000: 1\n", "convscope.yaml: CS000: unknown key"),
        ("severity: {CS000: error}\n", "convscope.yaml: severity.CS000: CS000 is not a rule"),
    ],
)
def test_config_errors_name_file_and_key(in_tmp: Path, text: str, expected: str) -> None:
    assert load_error(in_tmp, text).startswith(expected)


def test_malformed_yaml_reports_position(in_tmp: Path) -> None:
    message = load_error(in_tmp, "select: [DW]\nrules:\n  DW001: {min_channels: 3\n")
    assert "line" in message and "column" in message


def test_pyproject_table(in_tmp: Path) -> None:
    write(
        in_tmp,
        "pyproject.toml",
        '[project]\nname = "x"\n\n[tool.convscope]\n'
        'select = ["DW"]\ntarget = "gpu-fp16"\n\n'
        "[tool.convscope.rules.DW001]\nmin_channels = 8\n",
    )
    (in_tmp / "sub").mkdir()
    found = find_config(in_tmp / "sub")
    assert found == (in_tmp / "pyproject.toml").resolve()
    s = load_settings(REG, cwd=in_tmp / "sub")
    assert s.select == ("DW",) and s.target == "gpu-fp16"
    assert s.rules["DW001"]["min_channels"] == 8
    write(in_tmp, "pyproject.toml", '[tool.convscope]\nselect = ["XX"]\n')
    with pytest.raises(
        ConfigError,
        match=r"pyproject.toml: tool.convscope.select\[0\]: "
        r"unknown rule code 'XX'",
    ):
        load_settings(REG)


def test_discovery_prefers_convscope_yaml_and_walks_up(in_tmp: Path) -> None:
    assert find_config(in_tmp) is None or not str(find_config(in_tmp)).startswith(str(in_tmp))
    write(in_tmp, "pyproject.toml", "[tool.convscope]\n")
    write(in_tmp, ".convscope.yaml", "select: [QF]\n")
    deep = in_tmp / "a" / "b"
    deep.mkdir(parents=True)
    assert find_config(deep) == (in_tmp / ".convscope.yaml").resolve()
    write(in_tmp, "convscope.yaml", "select: [DW]\n")
    assert find_config(deep) == (in_tmp / "convscope.yaml").resolve()
    assert load_settings(REG, cwd=deep).select == ("DW",)
    assert load_settings(REG, discover=False) == Settings()


def test_missing_explicit_config(in_tmp: Path) -> None:
    with pytest.raises(ConfigError, match=r"config file not found: nope\.yaml"):
        load_settings(REG, "nope.yaml")


def test_per_model_ignores_add_to_the_top_level(in_tmp: Path) -> None:
    write(
        in_tmp,
        "convscope.yaml",
        "ignore: [DW003]\nper-module-ignores: {'stem': [HW]}\nmodels:\n"
        "  - spec: a.py\n    ignore: [RF005]\n    per-module-ignores: {'fc': [HW001]}\n"
        "  - b.py\n",
    )
    s = load_settings(REG)
    a, b = s.models
    assert a.ignore == ("RF005",) and a.per_module_ignores == (("fc", ("HW001",)),)
    for_a = s.for_model(a)
    assert for_a.ignore == ("DW003", "RF005")
    assert for_a.module_ignored("fc", "HW001") and for_a.module_ignored("stem", "HW001")
    assert "RF005" in for_a.resolve(REG).inactive and "RF005" not in s.resolve(REG).inactive
    assert s.for_model(b) is s
    shown = s.to_dict(REG)["models"][0]
    assert shown["ignore"] == ["RF005"] and shown["per-module-ignores"] == {"fc": ["HW001"]}


def test_model_specs_resolve_relative_to_the_config(in_tmp: Path) -> None:
    cfg = in_tmp / "conf"
    assert resolve_spec("net.py", cfg, in_tmp) == "conf/net.py"
    assert resolve_spec("net.py:Model", cfg, in_tmp) == "conf/net.py:Model"
    assert resolve_spec("../m/x.pt2", cfg, in_tmp) == "m/x.pt2"
    assert resolve_spec("torchvision:resnet50", cfg, in_tmp) == "torchvision:resnet50"
    assert resolve_spec("pkg.mod:Net", cfg, in_tmp) == "pkg.mod:Net"
    assert resolve_spec("/abs/net.py", cfg, in_tmp) == "/abs/net.py"


def test_cli_overrides(in_tmp: Path) -> None:
    s = Settings(select=("DW",), extend_select=("AR003",), ignore=("DW002",))
    t = s.with_overrides(REG, select="QF, HW001", ignore="QF004", target="gpu-fp16", fail_on="info")
    assert t.select == ("QF", "HW001") and t.extend_select == () and t.ignore == ("QF004",)
    assert t.target == "gpu-fp16" and t.fail_on is Severity.INFO
    with pytest.raises(ConfigError, match="--select: unknown rule code 'QX'"):
        s.with_overrides(REG, select="QX")
    with pytest.raises(ConfigError, match="unknown target 'npu'; available targets"):
        s.with_overrides(REG, target="npu")


# --------------------------------------------------------------------------- profiles


def test_shipped_profiles_load_and_say_what_they_set() -> None:
    assert available_profiles() == ["edge-int8", "generic", "gpu-fp16"]
    assert rules_dir().name in ("rules", "_rules") and profiles_dir().is_dir()
    generic = load_profile("generic")
    assert generic.severity["HW001"] is Severity.OFF and not generic.int8
    gpu = load_profile("gpu-fp16")
    assert gpu.fields["channel-alignment"] == 8
    assert gpu.roofline.peak_flops == 65e12 and gpu.roofline.bandwidth == 320e9
    assert gpu.roofline.ridge_point == pytest.approx(203.125)
    assert gpu.fields["unfriendly-activations"] == ()
    edge = load_profile("edge-int8")
    assert edge.int8 and edge.fields["channel-alignment"] == 32
    assert "relu6-after-depthwise" in edge.fields["unfriendly-activations"]
    assert edge.roofline.peak_flops is None and edge.roofline.ridge_point is None
    for name in available_profiles():
        text = (profiles_dir() / f"{name}.yaml").read_text()
        assert "description:" in text and "#" in text  # sources are cited in comments


@pytest.mark.parametrize(
    "text, expected",
    [
        ("channel-alignment: eight\n", "channel-alignment: expected int, got 'eight'"),
        ("unfriendly-activations: [swish]\n", "unfriendly-activations: expected one of"),
        ("roofline: {peak-flops: -1}\n", "roofline.peak-flops: expected a positive number"),
        ("roofline: {peakflops: 1}\n", "roofline.peakflops: unknown key"),
        ("severity: {HW009: warning}\n", "severity.HW009: unknown rule code"),
        ("rules: {HW001: {alignment: 0}}\n", "rules.HW001.alignment: expected a value >= 1"),
        ("descripton: x\n", "descripton: unknown key (did you mean 'description'?)"),
    ],
)
def test_custom_profile_validation(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, "npu.yaml", text)
    with pytest.raises(ConfigError) as info:
        load_profile(str(path))
    assert str(info.value) == f"profile {path}: {expected}" or str(info.value).startswith(
        f"profile {path}: {expected}"
    )


def test_custom_profile_as_target(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "npu.yaml",
        "description: my NPU\nchannel-alignment: 16\nseverity: {HW001: error}\n",
    )
    s = Settings(target=str(path))
    active = {a.rule.code: a for a in s.resolve(REG).active}
    assert active["HW001"].severity is Severity.ERROR
    assert active["HW001"].options["alignment"] == 16


def test_unquoted_off_is_a_severity(in_tmp: Path) -> None:
    """YAML 1.1 reads `off` as false; `severity: {X: off}` must still mean off."""
    path = write(in_tmp, "convscope.yaml", "severity: {DW001: off, QF004: error}\n")
    s = load_settings(REG, path)
    assert s.severity == {"DW001": Severity.OFF, "QF004": Severity.ERROR}
    assert "DW001" not in {a.rule.code for a in s.resolve(REG).active}
