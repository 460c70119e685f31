"""Typed section keys: one key per section, typed reads, immutable writes, checked values."""

from __future__ import annotations

import dataclasses
import importlib
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from torch import nn

import convscope
from convscope.analysis.build import Analysis
from convscope.analysis.rf import with_receptive_field
from convscope.analysis.run import with_extra
from convscope.analysis.schema import to_dict
from convscope.analysis.sections import ALL, as_key
from convscope.checks.keys import CROSSCHECK, ERF, RF_VERIFY
from convscope.passes.keys import QUANT, RECEPTIVE_FIELD
from convscope.passes.receptive.result import ReceptiveField
from convscope.profiling.keys import PROFILE
from convscope.sections import SectionKey, index

PACKAGE = Path(__file__).resolve().parents[2] / "convscope"


def small() -> Analysis:
    net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 4, 3, stride=2))
    return convscope.analyze(net, (1, 3, 16, 16), name="small")


class Custom:
    """A section of a user's own, with a JSON form."""

    def summary_dict(self) -> dict[str, Any]:
        return {"answer": 42}

    def layer_dict(self, path: str) -> dict[str, Any] | None:
        return {"seen": True} if path == "0" else None


def test_section_is_none_until_set_and_typed_after() -> None:
    a = small()
    assert a.section(RECEPTIVE_FIELD) is None
    with pytest.raises(KeyError, match="the analysis of small has no 'receptive_field' section"):
        a.need(RECEPTIVE_FIELD)
    b = with_receptive_field(a)
    rf = b.section(RECEPTIVE_FIELD)
    assert isinstance(rf, ReceptiveField)
    assert b.need(RECEPTIVE_FIELD) is rf
    assert b.section(QUANT) is None


def test_with_section_returns_a_new_analysis_and_leaves_the_original() -> None:
    a = small()
    rf = with_receptive_field(a).need(RECEPTIVE_FIELD)
    b = a.with_section(RECEPTIVE_FIELD, rf)
    assert b is not a and b.section(RECEPTIVE_FIELD) is rf
    assert a.section(RECEPTIVE_FIELD) is None and dict(a.extras) == {}
    assert b.graph is a.graph and b.rows == a.rows
    other = dataclasses.replace(rf, input_size=(99, 99))
    c = b.with_section(RECEPTIVE_FIELD, other)  # replaces, still without touching b
    assert c.need(RECEPTIVE_FIELD) is other and b.need(RECEPTIVE_FIELD) is rf
    assert list(c.extras) == [RECEPTIVE_FIELD]


def test_a_value_of_the_wrong_type_is_refused() -> None:
    a = small()
    message = (
        "section 'receptive_field' holds a "
        "convscope.passes.receptive.result.ReceptiveField, got str"
    )
    with pytest.raises(TypeError, match=re.escape(message)):
        a.with_section(RECEPTIVE_FIELD, "43x43")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"section 'erf' holds a .*ERFResult, got dict"):
        with_extra(a, ERF, {})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="got int"):
        dataclasses.replace(a, extras={QUANT: 3})
    assert a.section(RECEPTIVE_FIELD) is None


def test_built_in_names_are_accepted_where_sections_come_in() -> None:
    """``extras={"receptive_field": rf}`` and ``with_extra(a, "erf", ...)``, as before the
    keys, reach the same key; an unknown name is refused, not stored unread."""
    a = small()
    rf = with_receptive_field(a).need(RECEPTIVE_FIELD)
    b = dataclasses.replace(a, extras={"receptive_field": rf})
    assert list(b.extras) == [RECEPTIVE_FIELD] and b.need(RECEPTIVE_FIELD) is rf
    assert with_extra(a, "receptive_field", rf).need(RECEPTIVE_FIELD) is rf  # type: ignore[arg-type]
    assert as_key("quant") is QUANT and as_key(QUANT) is QUANT
    with pytest.raises(ValueError, match="unknown section 'receptive-field': the sections are"):
        dataclasses.replace(a, extras={"receptive-field": rf})
    with pytest.raises(TypeError, match="a section key is a SectionKey, got int"):
        as_key(3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"holds a .*ReceptiveField, got str"):
        dataclasses.replace(a, extras={"receptive_field": "43x43"})


def test_every_name_is_used_once() -> None:
    assert len({k.name for k in ALL}) == len(ALL)
    assert index(ALL) == {k.name: k for k in ALL}
    assert index([ERF, ERF]) == {"erf": ERF}  # the same key twice is one key
    with pytest.raises(ValueError, match="two sections are named 'x'"):
        index([SectionKey("x", int), SectionKey("x", str)])
    # a key of your own may not take a built-in name: the JSON field would be ambiguous
    a = small()
    rf = with_receptive_field(a).need(RECEPTIVE_FIELD)
    with pytest.raises(ValueError, match="two sections are named 'receptive_field'"):
        a.with_section(SectionKey("receptive_field", ReceptiveField), rf)


def test_a_key_of_your_own_and_its_json() -> None:
    custom: SectionKey[Custom] = SectionKey("custom", Custom)
    a = with_receptive_field(small()).with_section(custom, Custom())
    assert isinstance(a.section(custom), Custom)
    doc = to_dict(a)
    assert doc["custom"] == {"answer": 42}
    assert "receptive_field" in doc  # the JSON field is the key's name
    layers = {row["path"]: row for row in doc["layers"]}
    assert layers["0"]["custom"] == {"seen": True} and "custom" not in layers["2"]
    assert "rf" in layers["0"] and "receptive_field" not in layers["0"]
    assert list(doc)[-2:] == ["custom", "receptive_field"]  # sections in name order


def test_key_definitions() -> None:
    with pytest.raises(ValueError, match="a section name is an identifier"):
        SectionKey("receptive field", int)
    with pytest.raises(ValueError, match="must be a class or 'module:qualname'"):
        SectionKey("x", "convscope.passes.receptive.result.ReceptiveField")
    with pytest.raises(TypeError, match="is not a class"):
        SectionKey("x", "convscope.analysis.sections:ALL").resolve()
    assert repr(RECEPTIVE_FIELD) == "SectionKey('receptive_field')"


#: The modules that declare keys: the package that produces each section.
KEY_MODULES = (
    "convscope.sections",
    "convscope.passes.keys",
    "convscope.targets.keys",
    "convscope.profiling.keys",
    "convscope.checks.keys",
)


def test_each_key_resolves_to_the_class_it_is_typed_with() -> None:
    """The lazy ``module:qualname`` and the static ``SectionKey[Class]`` agree, and every key
    is named after its section; the keys known by name are those of the packages below
    analysis/."""
    declared: list[SectionKey[Any]] = []
    for name in KEY_MODULES:
        module = importlib.import_module(name)
        constants = {v: n for n, v in vars(module).items() if isinstance(v, SectionKey)}
        for key, constant in constants.items():
            annotation = module.__annotations__[constant]
            assert annotation == f"SectionKey[{key.resolve().__name__}]", key
            assert constant == key.name.upper()
        declared += constants
    assert len(declared) == len(index(declared)) == 10  # every name once
    assert set(ALL) == {k for k in declared if k not in (PROFILE, RF_VERIFY, ERF, CROSSCHECK)}


@pytest.mark.parametrize("name", ["convscope.analysis.sections", *KEY_MODULES])
def test_the_keys_import_neither_torch_nor_the_passes(name: str) -> None:
    code = (
        f"import sys; import {name}; "
        "print(*(m for m in sys.modules if m.split('.')[0] == 'torch' "
        "or m.startswith(('convscope.passes.', 'convscope.checks.', 'convscope.profiling.'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    allowed = {"convscope.passes.keys", "convscope.checks.keys", "convscope.profiling.keys"}
    assert set(out.split()) <= allowed, out


#: A section named by a string literal: ``extras["x"]``, ``extras.get("x")``,
#: ``"x" in ...extras``, ``requires = frozenset({"x"})``, ``with_extra(a, "x", ...)``,
#: ``providers["x"]``.
_STRING_KEYED = re.compile(
    r"""extras\s*(\[|\.get\(|\.setdefault\()\s*["']"""
    r"""|["']\w+["']\s+(not\s+)?in\s+[\w.]*extras\b"""
    r"""|requires\s*=\s*frozenset\(\{\s*["']"""
    r"""|with_extra\(\s*[\w.]+\s*,\s*["']"""
    r"""|providers\s*(\[|\.get\(|\.setdefault\()\s*["']"""
    r"""|providers\s*=\s*\{\s*["']"""
)


def test_the_string_finder_finds_a_planted_use() -> None:
    planted = [
        'rf = a.extras["receptive_field"]',
        "q = ctx.extras.get('quant')",
        'if "profile" in analysis.extras:',
        'requires = frozenset({"roofline"})',
        'api.with_extra(\n    result, "erf", x)',
        'providers["weights"] = f',
        'lint(a, providers={"weights": f})',
    ]
    assert all(_STRING_KEYED.search(p) for p in planted)
    assert not _STRING_KEYED.search("rf = a.section(RECEPTIVE_FIELD)")


def test_no_section_is_keyed_by_a_string_in_the_package() -> None:
    found = [
        f"{path.relative_to(PACKAGE.parent)}:{text.count(chr(10), 0, m.start()) + 1}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for text in [path.read_text(encoding="utf-8")]
        for m in _STRING_KEYED.finditer(text)
    ]
    assert found == []
