"""Inline ``# convscope: ignore[...]`` comments and CS100 unused-suppression."""

from __future__ import annotations

from pathlib import Path

import convscope
from convscope.linting.config import Settings
from convscope.linting.engine import lint
from convscope.linting.finding import LintResult
from convscope.linting.suppress import parse
from convscope.model.load import load_model

DW001_BAD = Path(__file__).resolve().parents[1] / "fixtures/lint/narrow_dw.py"
#: The fixture's thresholds: stricter than the generic defaults, so both convs are flagged.
STRICT = {"DW001": {"min_channels": 32, "expansion_below": 64}}


def test_parse_forms() -> None:
    source = (
        "a = 1  # convscope: ignore[RF002]\n"
        "b = 2  # convscope: ignore[ DW001 , HW ]\n"
        "c = 3  # convscope: ignore\n"
        "d = '# convscope: ignore'  # a string is not a comment\n"
        "e = 4  #convscope:ignore[]\n"
        "f = 5  # convscope: ignored-words are not a suppression\n"
    )
    found = parse(source, Path("m.py"))
    assert {line: s.codes for line, s in found.items()} == {
        1: ("RF002",),
        2: ("DW001", "HW"),
        3: None,
        5: (),
    }
    assert found[2].covers("HW001") and not found[2].covers("DW002")
    assert found[3].covers("anything")


def lint_copy(tmp_path: Path, select: str, replace: dict[str, str]) -> LintResult:
    """Lint a copy of DW001's bad fixture with the given end-of-line comments."""
    text = DW001_BAD.read_text(encoding="utf-8")
    for old, new in replace.items():
        assert old in text
        text = text.replace(old, new)
    path = tmp_path / "net.py"
    path.write_text(text, encoding="utf-8")
    loaded = load_model(str(path))
    analysis = convscope.analyze(loaded.module, loaded.inputs, name=str(path))
    return lint(
        analysis,
        Settings(select=tuple(select.split(",")), rules=STRICT),
        module=loaded.module,
        source_file=loaded.source_file,
    )


def test_comment_on_the_layer_line_silences_its_finding(tmp_path: Path) -> None:
    result = lint_copy(
        tmp_path, "DW001,CS100", {"# DW001: 16 < 32 channels": "# convscope: ignore[DW001]"}
    )
    assert [f.layer for f in result.findings] == ["dw2"]
    assert result.noqa == 1
    bare = lint_copy(tmp_path, "DW,CS100", {"# DW001: 16 < 32 channels": "# convscope: ignore"})
    assert [f.layer for f in bare.findings] == ["dw2"] and bare.noqa == 1
    prefix = lint_copy(
        tmp_path, "DW,CS100", {"# DW001: 16 < 32 channels": "# convscope: ignore[DW]"}
    )
    assert [f.layer for f in prefix.findings] == ["dw2"]


def test_unused_suppressions_are_reported(tmp_path: Path) -> None:
    result = lint_copy(
        tmp_path,
        "DW,CS100",
        {
            "# DW001: 16 < 32 channels": "# convscope: ignore[DW001,DW002]",
            "# keeps the width: no expansion": "# convscope: ignore",
            "# DW001: 48 < 64, no expansion": "# convscope: ignore[DW01, QF001]",
        },
    )
    unused = [
        (f.layer, f.message, f.location and f.location.line)
        for f in result.findings
        if f.code == "CS100"
    ]
    assert unused == [
        ("dw1", "`# convscope: ignore[DW001,DW002]`: no DW002 finding on this line", 13),
        ("pw2", "`# convscope: ignore`: no finding on this line to silence", 15),
        ("dw2", "`# convscope: ignore[DW01, QF001]`: DW01 is not a rule code", 16),
    ]  # QF001 did not run (it needs weights): nothing is known about it
    assert sorted(f.code for f in result.findings if f.layer == "dw2") == ["CS100", "DW001"]
    assert result.noqa == 1


def test_unused_suppressions_are_not_reported_when_cs100_is_off(tmp_path: Path) -> None:
    result = lint_copy(
        tmp_path, "DW001", {"# keeps the width: no expansion": "# convscope: ignore"}
    )
    assert [f.code for f in result.findings] == ["DW001", "DW001"]
