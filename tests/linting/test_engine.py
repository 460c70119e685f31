"""The lint engine: registry, selection, options, requirements, rule crashes, budgets."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import torch
from torch import nn

import convscope
from convscope.analysis.build import Analysis
from convscope.catalog import rule_doc
from convscope.linting.config import Budgets, Settings
from convscope.linting.engine import lint
from convscope.linting.finding import Finding, Severity
from convscope.linting.profiles import load_profile
from convscope.linting.registry import Registry, default_registry
from convscope.linting.rule import Option, Rule, RuleContext
from convscope.linting.rules.dw001_narrow_depthwise import NarrowDepthwise
from convscope.linting.rules.hw001_channel_alignment import ChannelAlignment
from convscope.linting.rules.qf004_quant_unfriendly_activation import QuantUnfriendlyActivation
from convscope.passes.keys import RECEPTIVE_FIELD
from convscope.passes.receptive.result import ReceptiveField
from convscope.passes.receptive.walk import receptive_field
from convscope.sections import WEIGHTS

ROOT = Path(__file__).resolve().parents[2]
CATALOG = {"AR001", "AR002", "AR003", "DW001", "DW002", "DW003", "HW001", "PF002", "QF003", "QF004"}


class Narrow(nn.Module):
    """A 16-channel depthwise conv (DW001), SiLU (QF004) and a 20-channel conv (HW001)."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 3, padding=1)
        self.dw = nn.Conv2d(4, 4, 3, padding=1, groups=4)  # narrower than any profile allows
        self.pw = nn.Conv2d(4, 20, 1)
        self.act = nn.SiLU()
        self.head = nn.Linear(20, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.act(self.pw(self.dw(self.stem(x))))
        return self.head(x.mean((2, 3)))


#: The tiny test model makes every layer a cost hotspot: leave PF002 out.
BASE = Settings(ignore=("PF002",))


@cache
def narrow() -> Analysis:
    return convscope.analyze(Narrow(), (1, 3, 16, 16), name="narrow")


def codes(result: Any) -> Counter[str]:
    return Counter(f.code for f in result.findings)


# --------------------------------------------------------------------------- registry


def test_default_registry_holds_the_catalog() -> None:
    reg = default_registry()
    assert set(reg) >= CATALOG
    assert reg is default_registry()  # built once
    for code, rule in reg.items():
        assert rule.code == code
        assert rule.default_severity in Severity


def test_registry_refuses_duplicate_codes_and_names() -> None:
    class Copy(NarrowDepthwise):
        code = "DW001"
        name = "another-name"

    class SameName(NarrowDepthwise):
        code = "DW901"
        name = "narrow-depthwise"

    with pytest.raises(ValueError, match="duplicate rule code DW001"):
        Registry([NarrowDepthwise, Copy])
    with pytest.raises(ValueError, match="duplicate rule name 'narrow-depthwise'"):
        Registry([NarrowDepthwise, SameName])


def test_registry_refuses_malformed_rules() -> None:
    class BadCode(NarrowDepthwise):
        code = "dw1"

    class BadName(NarrowDepthwise):
        code = "DW902"
        name = "Not_Kebab"

    class Reserved(NarrowDepthwise):
        code = "CS000"
        name = "reserved"

    with pytest.raises(ValueError, match="must look like"):
        Registry([BadCode])
    with pytest.raises(ValueError, match="kebab-case"):
        Registry([BadName])
    with pytest.raises(ValueError, match="reserved"):
        Registry([Reserved])


def test_registry_is_read_only() -> None:
    reg = default_registry()
    with pytest.raises(TypeError):
        reg["XX001"] = NarrowDepthwise()  # type: ignore[index]
    with pytest.raises(TypeError):
        reg._by_code["XX001"] = NarrowDepthwise()  # type: ignore[index]


def test_registry_lookup_and_close_matches() -> None:
    reg = default_registry()
    assert reg.lookup("dw001") is reg["DW001"]
    assert reg.lookup("narrow-depthwise") is reg["DW001"]
    assert reg.lookup("XX999") is None
    assert "DW001" in reg.close_matches("DW01")
    assert [r.code for r in reg.matching("DW00")] == ["DW001", "DW002", "DW003"]


def test_option_validation() -> None:
    opt = Option("min_channels", int, 32, minimum=1)
    assert opt.validate(8) == 8
    with pytest.raises(ValueError, match="expected int, got 'x'"):
        opt.validate("x")
    with pytest.raises(ValueError, match="expected int"):
        opt.validate(True)
    with pytest.raises(ValueError, match=">= 1"):
        opt.validate(0)
    floats = Option("share", float, 0.5, maximum=1.0)
    assert floats.validate(1) == 1.0
    lists = Option("acts", list, ["silu"], choices=("silu", "gelu"))
    assert lists.validate(["gelu"]) == ("gelu",)
    with pytest.raises(ValueError, match="expected one of silu, gelu"):
        lists.validate(["relu"])
    with pytest.raises(ValueError, match="snake_case"):
        Option("Bad-Name", int, 1)


# --------------------------------------------------------------------------- selection


def test_default_selection_uses_generic_profile() -> None:
    result = lint(narrow(), BASE)
    assert codes(result) == {"DW001": 1}  # deployment rules (HW001, QF003, QF004) are off
    assert result.target == "generic"
    for code in ("HW001", "QF003", "QF004", "AR003"):
        assert code not in result.rules_run
    edge = lint(narrow(), dataclasses.replace(BASE, target="edge-int8"))
    assert codes(edge)["QF004"] == 1 and "HW001" in edge.rules_run


def test_select_ignore_prefix_specificity() -> None:
    reg = default_registry()
    s = Settings(select=("DW", "QF"), ignore=("DW00",), target="edge-int8")
    active = {a.rule.code for a in s.resolve(reg).active}
    assert active & CATALOG == {"QF003", "QF004"}  # (QF rules of other modules may join)
    assert not any(code.startswith("DW") for code in active)
    s = Settings(select=("DW001",), ignore=("DW",))  # the more specific select wins
    assert {a.rule.code for a in s.resolve(reg).active} == {"DW001"}
    s = Settings(ignore=("ALL",), extend_select=("PF",))
    assert {a.rule.code for a in s.resolve(reg).active} == {"PF001", "PF002"}


def test_off_rules_need_their_exact_code() -> None:
    reg = default_registry()
    assert "AR003" not in {a.rule.code for a in Settings(select=("AR",)).resolve(reg).active}
    active = {a.rule.code: a for a in Settings(select=("AR003",)).resolve(reg).active}
    assert active["AR003"].severity is Severity.WARNING
    # HW001 is off in the generic profile: an exact select turns it on
    result = lint(narrow(), Settings(select=("HW001",), rules={"HW001": {"alignment": 8}}))
    assert codes(result) == {"HW001": 2}  # one finding per width: 4 (stem, dw, pw) and 20
    assert lint(narrow(), Settings(select=("HW",))).findings == ()
    assert codes(lint(narrow(), Settings(select=("HW",), target="gpu-fp16"))) == {"HW001": 2}


def test_severity_overrides() -> None:
    result = lint(
        narrow(),
        Settings(ignore=("PF",), severity={"DW001": Severity.ERROR, "QF004": Severity.OFF}),
    )
    assert codes(result) == {"DW001": 1}
    assert result.findings[0].severity is Severity.ERROR
    assert result.fails(Severity.ERROR)


def test_option_precedence() -> None:
    reg = default_registry()
    rule = reg["DW001"]
    generic = load_profile("generic", reg)
    assert Settings().options_for(rule, generic)["min_channels"] == 8
    custom = dataclasses.replace(generic, fields={"min-depthwise-channels": 16})
    assert Settings().options_for(rule, custom)["min_channels"] == 16
    custom = dataclasses.replace(custom, rules={"DW001": {"min_channels": 12}})
    assert Settings().options_for(rule, custom)["min_channels"] == 12
    user = Settings(rules={"DW001": {"min_channels": 4}})
    assert user.options_for(rule, custom)["min_channels"] == 4
    result = lint(
        narrow(),
        Settings(select=("DW001",), rules={"DW001": {"min_channels": 4}}),
    )
    assert not result.findings


def test_per_module_ignores() -> None:
    s = Settings(
        ignore=("PF", "HW"),
        per_module_ignores=(("d*", ("DW",)), ("act", ("ALL",))),
        target="edge-int8",
    )
    result = lint(narrow(), s)
    assert not result.findings
    assert result.ignored == 2  # DW001 on `dw`, QF004 on `act`


def test_findings_are_deterministic_and_complete() -> None:
    a = lint(narrow(), BASE).findings
    b = lint(narrow(), BASE).findings
    assert a == b
    f = a[0]
    assert f.code == "DW001" and f.layer == "dw" and f.model == "narrow"
    assert f.values["channels"] == 4 and f.values["min_channels"] == 8
    assert "4 channels" in f.message and "min_channels=8" in f.message
    assert f.location is None  # no live module given
    with pytest.raises(dataclasses.FrozenInstanceError):
        f.code = "X"  # type: ignore[misc]


def test_source_locations_from_live_module() -> None:
    model = Narrow()
    result = lint(
        convscope.analyze(model, (1, 3, 16, 16), name="narrow"),
        BASE,
        module=model,
        source_file=__file__,
    )
    loc = result.findings[0].location
    assert loc is not None and loc.file == Path(__file__).resolve()
    assert "self.dw = nn.Conv2d" in loc.file.read_text().splitlines()[loc.line - 1]


class SharedDepthwise(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 3, padding=1)
        self.dw = nn.Conv2d(4, 4, 3, padding=1, groups=4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dw(self.dw(self.stem(x)))


def test_shared_module_reported_once() -> None:
    a = convscope.analyze(SharedDepthwise(), (1, 3, 8, 8), name="shared")
    result = lint(a, Settings(select=("DW001",)))
    assert codes(result) == {"DW001": 1}


# --------------------------------------------------------------------------- crashes, needs


class Broken(Rule):
    """A rule that raises, to check the engine survives it."""

    code = "ZZ001"
    name = "broken-rule"
    default_severity = Severity.WARNING
    summary = "Always raises"

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        yield ctx.finding("stem", "first finding survives")
        raise RuntimeError("boom\nsecond line")


def test_broken_rule_becomes_internal_error() -> None:
    reg = Registry([Broken, NarrowDepthwise])
    result = lint(narrow(), Settings(), registry=reg)
    by_code = codes(result)
    assert by_code == {"CS000": 1, "ZZ001": 1, "DW001": 1}
    err = result.findings[0]
    assert err.code == "CS000" and err.name == "internal-error"
    assert err.severity is Severity.ERROR
    assert "ZZ001" in err.message and "broken-rule" in err.message
    assert "RuntimeError: boom" in err.message and "second line" not in err.message
    assert result.fails(Severity.ERROR)
    assert result.rules_run == ("DW001", "ZZ001")


class NeedsRF(Rule):
    code = "ZZ002"
    name = "needs-rf"
    default_severity = Severity.INFO
    summary = "Reads the receptive field"
    requires = frozenset({RECEPTIVE_FIELD})

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        yield ctx.finding("", f"rf={ctx.need(RECEPTIVE_FIELD).input_size[0]}")


def fake_rf(size: int) -> ReceptiveField:
    """The narrow model's receptive field with a marker input size."""
    return dataclasses.replace(receptive_field(narrow().graph), input_size=(size,))


class NeedsRF2(NeedsRF):
    code = "ZZ003"
    name = "needs-rf-too"


class NeedsWeights(Rule):
    code = "ZZ004"
    name = "needs-weights"
    default_severity = Severity.WARNING
    summary = "Reads weights"
    requires = frozenset({WEIGHTS})

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        yield ctx.finding("", "never without weights")


def test_requirements_computed_once_or_skipped() -> None:
    reg = Registry([NeedsRF, NeedsRF2, NeedsWeights])
    calls: list[str] = []

    def provider(a: Analysis) -> Any:
        calls.append(a.model)
        return fake_rf(427)

    result = lint(narrow(), Settings(), registry=reg, receptive_field=provider)
    assert calls == ["narrow"]
    assert [f.message for f in result.findings] == ["rf=427", "rf=427"]
    assert [(s.code, "weights" in s.reason) for s in result.skipped] == [("ZZ004", True)]

    # a provider may return an Analysis carrying the section
    def as_analysis(a: Analysis) -> Analysis:
        return a.with_section(RECEPTIVE_FIELD, fake_rf(1))

    result = lint(narrow(), Settings(), registry=reg, receptive_field=as_analysis)
    assert result.findings[0].message == "rf=1"

    # without a provider the rules are skipped with a note, not run on invented data
    result = lint(narrow(), Settings(), registry=reg)
    assert not result.findings
    assert {s.code for s in result.skipped} == {"ZZ002", "ZZ003", "ZZ004"}

    # an analysis that already has the section needs no provider
    with_rf = narrow().with_section(RECEPTIVE_FIELD, fake_rf(5))
    assert lint(with_rf, Settings(), registry=reg).findings[0].message == "rf=5"


def test_failing_provider_is_an_internal_error() -> None:
    def provider(a: Analysis) -> Any:
        raise ValueError("no RF for you")

    result = lint(narrow(), Settings(), registry=Registry([NeedsRF]), receptive_field=provider)
    assert codes(result) == {"CS000": 1}
    assert "no RF for you" in result.findings[0].message
    assert "ZZ002" in result.findings[0].message
    assert result.skipped[0].code == "ZZ002"


def test_provided_value_of_the_wrong_type_is_an_internal_error() -> None:
    result = lint(
        narrow(),
        Settings(),
        registry=Registry([NeedsRF]),
        receptive_field=lambda _a: SimpleNamespace(size=1),
    )
    assert codes(result) == {"CS000": 1}
    message = result.findings[0].message
    assert "computing receptive_field failed: TypeError" in message and "ZZ002" in message
    assert "SimpleNamespace" in message


def test_providers_by_the_name_of_a_built_in_section() -> None:
    """``providers={"weights": ...}`` (the documented string form) is the WEIGHTS key."""
    reg = Registry([NeedsWeights])
    by_name = lint(narrow(), Settings(), registry=reg, providers={"weights": lambda _a: {}})
    by_key = lint(narrow(), Settings(), registry=reg, providers={WEIGHTS: lambda _a: {}})
    assert [f.message for f in by_name.findings] == ["never without weights"]
    assert by_name.findings == by_key.findings
    with pytest.raises(ValueError, match="unknown section 'weight'"):
        lint(narrow(), Settings(), registry=reg, providers={"weight": lambda _a: {}})


def test_rule_requirements_are_section_keys() -> None:
    class ByName(NeedsRF):
        code = "ZZ005"
        name = "by-name"
        requires = frozenset({"receptive_field"})

    with pytest.raises(ValueError, match="requires holds 'receptive_field', not a SectionKey"):
        Registry([ByName])


def test_a_rule_reads_only_what_it_requires() -> None:
    class Sneaky(NeedsWeights):
        code = "ZZ006"
        name = "sneaky"

        def check(self, ctx: RuleContext) -> Iterator[Finding]:
            yield ctx.finding("", f"rf={ctx.need(RECEPTIVE_FIELD).input_size}")

    with_rf = narrow().with_section(RECEPTIVE_FIELD, fake_rf(5))
    reg = Registry([Sneaky])
    result = lint(with_rf, Settings(), registry=reg, providers={WEIGHTS: lambda _a: {}})
    assert codes(result) == {"CS000": 1}
    assert "LookupError: rule ZZ006 reads 'receptive_field' without requiring it" in (
        result.findings[0].message
    )


# --------------------------------------------------------------------------- budgets


def test_budgets() -> None:
    a = narrow()
    result = lint(a, Settings(select=("PF",), budgets=Budgets(params=10, macs=10**12)))
    params, macs = result.budgets
    assert params.metric == "params" and params.exceeded and params.actual == a.totals.params
    assert not macs.exceeded
    assert result.budget_exceeded and result.fails(Severity.ERROR)
    (bf,) = result.budget_findings
    assert bf.code == "BUDGET" and bf.severity is Severity.ERROR and "params" in bf.message
    # per-model budgets replace the global ones limit by limit
    result = lint(a, Settings(budgets=Budgets(params=10)), budgets=Budgets(params=10**9))
    assert not result.budget_exceeded


# --------------------------------------------------------------------------- hygiene


def test_lint_package_imports_no_torch_rich_or_click() -> None:
    code = (
        "import sys\n"
        "import convscope.linting\n"
        "from convscope.linting.registry import default_registry\n"
        "from convscope.linting.config import load_settings\n"
        "from convscope.linting.profiles import load_profile\n"
        "from convscope.targets.profiles import available_profiles\n"
        "reg = default_registry()\n"
        "[load_profile(p, reg) for p in available_profiles()]\n"
        "bad = [m for m in ('torch', 'rich', 'click') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT), "PATH": ""},
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr


def test_rules_dispatch_on_ir_not_class_names() -> None:
    for path in (ROOT / "convscope" / "lint" / "rules").glob("*.py"):
        text = path.read_text()
        assert "module_type" not in text, path
        assert "import torch" not in text and "import rich" not in text, path


def test_every_rule_option_has_a_default_and_the_readme_is_the_one_doc() -> None:
    # Each option's README row (type, default, profile field) is checked in test_catalog.
    assert "help" not in {f.name for f in dataclasses.fields(Option)}
    for rule in default_registry().values():
        for opt in rule.options:
            assert opt.default is not None, (rule.code, opt.name)
        # The README is the rule's one documentation source; the class only points at it.
        assert rule.__doc__ and "## What it does" not in rule.__doc__, rule.code
        readme = rule_doc(rule.code, rule.name).read_text(encoding="utf-8")
        for section in (
            "## What it does",
            "## Why is this bad",
            "## Example",
            "## Suggested fix",
            "## Options",
            "## References",
        ):
            assert section in readme, (rule.code, section)


def test_qf004_names_match_registry_choices() -> None:
    rule = QuantUnfriendlyActivation()
    (opt,) = rule.options
    assert opt.choices is not None and "relu6-after-depthwise" in opt.choices
    assert ChannelAlignment.option("alignment").profile_key == "channel-alignment"


def test_top_level_lint_is_the_library_function_after_the_package_is_imported() -> None:
    import convscope
    import convscope.linting.engine

    assert convscope.lint(narrow(), BASE) == lint(narrow(), BASE)
