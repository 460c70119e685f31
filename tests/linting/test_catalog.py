"""The rule catalog in ``rules/``: one folder per registered rule, documented, with fixtures.

For every rule folder, ``bad.py`` must produce exactly the findings its ``EXPECTED`` dict
names and ``good.py`` none, with only that rule enabled (and the fixture's ``TARGET``
profile, default generic).
"""

from __future__ import annotations

import re
import runpy
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import convscope
from convscope.catalog import rule_doc, rule_folder, rules_dir
from convscope.linting.config import Settings
from convscope.linting.engine import lint
from convscope.linting.registry import default_registry
from convscope.model.load import load_model
from convscope.passes.keys import CALIBRATION, QUANT, RECEPTIVE_FIELD
from convscope.sections import WEIGHTS, SectionKey

SECTIONS = ["What it does", "Why is this bad", "Example", "Suggested fix", "Options", "References"]
REG = default_registry()
FOLDERS = sorted(
    p
    for p in rules_dir().iterdir()
    if p.is_dir() and p.name != "profiles" and not p.name.startswith((".", "_"))
)


def test_catalog_location() -> None:
    assert rules_dir() == Path(convscope.__file__).resolve().parent.parent / "rules"


def test_every_rule_has_a_folder_and_every_folder_a_rule() -> None:
    names = {p.name for p in FOLDERS}
    expected = {f"{code}-{rule.name}" for code, rule in REG.items()}
    assert names == expected
    for code, rule in REG.items():
        folder = rule_folder(code, rule.name)
        for file in ("README.md", "bad.py", "good.py"):
            assert (folder / file).is_file(), folder / file


@pytest.mark.parametrize("code", list(REG))
def test_readme_sections(code: str) -> None:
    rule = REG[code]
    text = rule_doc(code, rule.name).read_text(encoding="utf-8")
    lines = text.splitlines()
    assert lines[0] == f"# {code} {rule.name}"
    headings = [line[3:].strip() for line in lines if line.startswith("## ")]
    assert headings == SECTIONS
    sections = dict(zip(headings, re.split(r"^## .*$", text, flags=re.MULTILINE)[1:], strict=True))
    for title, body in sections.items():
        assert body.strip(), f"{code}: empty section {title}"
    example = sections["Example"]
    assert "```" in example and f"{code} {rule.name}" in example, "real output in the example"
    _check_options_table(code, sections["Options"])
    assert rule.default_severity.value in text.split("## What it does")[0]


_README_TYPES = {int: "int", float: "float", bool: "bool", str: "string", list: "list of strings"}


def _readme_default(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "`[" + ", ".join(str(v) for v in value) + "]`"
    return str(value)


def _check_options_table(code: str, section: str) -> None:
    """The README's option table is the options' only documentation: exactly the rule's
    options, each with its type, its default and the profile field that can supply it."""
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]
        if len(cells) == 4 and cells[0].startswith("`"):
            rows[cells[0].strip("`")] = cells[1:]
    options = {opt.name: opt for opt in REG[code].options}
    assert set(rows) == set(options), (code, sorted(rows), sorted(options))
    for name, (kind, default, meaning) in rows.items():
        opt = options[name]
        assert kind.startswith(_README_TYPES[opt.kind]), (code, name, kind)
        assert default.startswith(_readme_default(opt.default)), (code, name, default)
        if opt.profile_key:
            assert f"profile field `{opt.profile_key}`" in default, (code, name, default)
        assert meaning, (code, name)
    if not options:
        assert section.strip() == "None.", code


def _lint_fixture(path: Path, code: str) -> tuple[Counter[str], dict[str, int]]:
    namespace = runpy.run_path(str(path))
    expected = namespace.get("EXPECTED")
    assert isinstance(expected, dict), f"{path} must define EXPECTED"
    assert "build_model" in namespace and "INPUT_SHAPE" in namespace
    needs = REG[code].requires
    # Rules that read weights or activations get the fixture's own weights (set in
    # build_model) and, when it declares CALIBRATION, calibration data.
    real = bool(needs & {WEIGHTS, QUANT, CALIBRATION})
    loaded = load_model(str(path), device="cpu" if real else "meta")
    analysis = convscope.analyze(loaded.module, loaded.inputs, name=str(path))
    providers: dict[SectionKey[Any], Any] = {}
    if needs & {WEIGHTS, QUANT}:  # the engine measures QUANT from the weights
        providers[WEIGHTS] = lambda _a: loaded.module
    if CALIBRATION in needs and "CALIBRATION" in namespace:
        from convscope.analysis.quant import with_quant

        providers[CALIBRATION] = lambda a: with_quant(a, loaded.module, namespace["CALIBRATION"])
    settings = Settings(select=(code,), target=namespace.get("TARGET", "generic"))
    if RECEPTIVE_FIELD in needs:  # what `convscope lint` provides
        from convscope.analysis.rf import with_receptive_field

        providers[RECEPTIVE_FIELD] = with_receptive_field
    result = lint(
        analysis,
        settings,
        module=loaded.module,
        source_file=loaded.source_file,
        providers=providers,
    )
    for f in result.findings:  # locations point into the fixture
        assert f.location is not None and f.location.file == path.resolve(), f
    assert not result.skipped, result.skipped
    return Counter(f.code for f in result.findings), expected


@pytest.mark.parametrize("code", list(REG))
def test_bad_fixture_fires_exactly(code: str) -> None:
    path = rule_folder(code, REG[code].name) / "bad.py"
    got, expected = _lint_fixture(path, code)
    assert expected and set(expected) == {code}
    assert dict(got) == expected


@pytest.mark.parametrize("code", list(REG))
def test_good_fixture_is_clean(code: str) -> None:
    path = rule_folder(code, REG[code].name) / "good.py"
    got, expected = _lint_fixture(path, code)
    assert expected == {}
    assert dict(got) == {}


@pytest.mark.parametrize("code", list(REG))
def test_readme_fixture_output_is_current(code: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The output quoted in the README for ``convscope lint rules/.../bad.py`` is what the
    command prints today (torchvision excerpts were checked by hand when written)."""
    import shlex

    from click.testing import CliRunner

    from convscope.cli.app import main

    monkeypatch.chdir(rules_dir().parent)
    text = rule_doc(code, REG[code].name).read_text(encoding="utf-8")
    blocks = [
        b
        for b in re.findall(r"```\n(\$ convscope .*?)```", text, re.S)
        if "/bad.py" in b.splitlines()[0]
    ]
    if not REG[code].requires:  # rules that need weights may quote a checkpoint run instead
        assert blocks, f"{code}: the README shows no `convscope lint .../bad.py` output"
    for block in blocks:
        command, *expected = block.splitlines()
        result = CliRunner().invoke(main, shlex.split(command[2:])[1:])
        printed = [line.rstrip() for line in result.stdout.splitlines()]
        for line in expected:
            assert line.rstrip() in printed, f"{code}: stale README line: {line}"
