"""Typed section keys: one key per section, typed reads, immutable writes, checked values."""

from __future__ import annotations

import subprocess
import sys

import pytest

from convscope.analysis import sections
from convscope.analysis.sections import ALL, ERF, QUANT, RECEPTIVE_FIELD, SectionKey, as_key, index
from convscope.passes.receptive.structure import ReceptiveField


def test_every_name_is_used_once() -> None:
    assert len({k.name for k in ALL}) == len(ALL)
    assert index(ALL) == {k.name: k for k in ALL}
    assert index([ERF, ERF]) == {"erf": ERF}  # the same key twice is one key
    with pytest.raises(ValueError, match="two sections are named 'x'"):
        index([SectionKey("x", int), SectionKey("x", str)])
    with pytest.raises(ValueError, match="two sections are named 'receptive_field'"):
        sections.checked({SectionKey("receptive_field", ReceptiveField): None})


def test_names_of_built_in_keys() -> None:
    assert as_key("quant") is QUANT and as_key(QUANT) is QUANT
    with pytest.raises(ValueError, match="unknown section 'receptive-field': the sections are"):
        as_key("receptive-field")
    with pytest.raises(TypeError, match="a section key is a SectionKey, got int"):
        as_key(3)  # type: ignore[arg-type]


def test_key_definitions() -> None:
    with pytest.raises(ValueError, match="a section name is an identifier"):
        SectionKey("receptive field", int)
    with pytest.raises(ValueError, match="must be a class or 'module:qualname'"):
        SectionKey("x", "convscope.passes.receptive.structure.ReceptiveField")
    with pytest.raises(TypeError, match="is not a class"):
        SectionKey("x", "convscope.analysis.sections:ALL").resolve()
    assert repr(RECEPTIVE_FIELD) == "SectionKey('receptive_field')"


def test_each_key_resolves_to_the_class_it_is_typed_with() -> None:
    """The lazy ``module:qualname`` and the static ``SectionKey[Class]`` agree."""
    constants = {v: n for n, v in vars(sections).items() if isinstance(v, SectionKey)}
    assert set(constants) == set(ALL)
    for key in ALL:
        annotation = sections.__annotations__[constants[key]]
        assert annotation == f"SectionKey[{key.resolve().__name__}]", key
        assert constants[key] == key.name.upper()


def test_the_keys_import_neither_torch_nor_the_passes() -> None:
    code = (
        "import sys; import convscope.analysis.sections; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'convscope')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "['convscope', 'convscope.analysis', 'convscope.analysis.sections']"
