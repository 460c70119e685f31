"""Lint recall corpus: every model in ``models/`` linted through ``convscope lint`` and held
to its entry in ``cases.yaml`` (the file's header explains the fields).

Cases marked ``known_miss`` are strict xfails: they document mistakes the rules miss today,
and the test fails as soon as a rule starts catching one, so the marker gets removed.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from click.testing import CliRunner
from corpus import (
    FAMILIES,
    FIRST_MERGED,
    MANIFEST,
    MODELS,
    Case,
    lint,
    load_cases,
    load_manifest,
    problems,
    sha256,
)

from convscope.cli.app import main

if TYPE_CHECKING:
    from _pytest.mark.structures import ParameterSet

CASES = load_cases()


def _param(case: Case) -> ParameterSet:
    # raises=AssertionError: a known miss must fail by missing, not by crashing the linter.
    marks = (
        [pytest.mark.xfail(strict=True, raises=AssertionError, reason=case.known_miss)]
        if case.known_miss
        else []
    )
    return pytest.param(case, id=case.path.stem, marks=marks)


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_case(case: Case, tmp_path: Path) -> None:
    found = problems(case, lint(case, tmp_path))
    assert not found, f"{case.file} ({case.why}):\n  " + "\n  ".join(found)


# --------------------------------------------------------------------------- the manifest


def test_every_model_has_one_case() -> None:
    files = sorted(p.name for p in MODELS.glob("*.py"))
    assert sorted(c.file for c in CASES) == files


def test_model_files_are_pinned() -> None:
    """Every case file has the SHA-256 that ``models.sha256`` pins: an edit is a deliberate,
    visible act, never a side effect of making a rule pass."""
    pinned = load_manifest()
    how = (
        "corpus cases are never edited to fit a rule (tests/linting/corpus/README.md): restore "
        "it with `git checkout -- tests/linting/corpus/models/{name}` and add the new version "
        "as a NEW case (a new file name, its entry in cases.yaml, and its hash appended with "
        "`cd tests/linting/corpus/models && sha256sum NEW.py >> ../models.sha256`)"
    )
    for path in sorted(MODELS.glob("*.py")):
        assert path.name in pinned, (
            f"{path.name} is not in {MANIFEST.name}: append its hash "
            f"(`cd tests/linting/corpus/models && sha256sum {path.name} >> ../{MANIFEST.name}`)"
        )
        assert sha256(path) == pinned[path.name], f"{path.name} was edited; " + how.format(
            name=path.name
        )
    missing = sorted(set(pinned) - {p.name for p in MODELS.glob("*.py")})
    assert not missing, f"pinned in {MANIFEST.name} but deleted: {', '.join(missing)}; " + (
        "cases are never removed"
    )


def test_first_merged_set_is_whole() -> None:
    """The frozen set: 45 mistakes and 13 controls, each a model file still in the corpus."""
    first = load_cases(FIRST_MERGED)
    assert sum(not c.must_pass for c in first) == 45
    assert sum(c.must_pass for c in first) == 13
    assert {c.file for c in first} <= {c.file for c in CASES}


def test_changes_since_first_merge_say_why() -> None:
    """A first-merged case whose target or expectations moved carries ``changed``."""
    grown = {c.file: c for c in CASES}
    for then in load_cases(FIRST_MERGED):
        now = grown[then.file]
        fields = ("target", "must_fire", "must_not_fire", "must_pass", "weights", "named_layer")
        moved = [f for f in fields if getattr(then, f) != getattr(now, f)]
        assert not moved or now.changed, f"{now.file}: {', '.join(moved)} changed, no `changed`"


def test_readme_counts_match_the_corpus() -> None:
    """The project README gives the corpus's size once, as it is today."""
    readme = (MODELS.parents[3] / "README.md").read_text(encoding="utf-8")
    mistakes = sum(not c.must_pass for c in CASES)
    controls = len(CASES) - mistakes
    assert f"{mistakes} mistakes and {controls} controls" in " ".join(readme.split())


def test_corpus_size_and_coverage() -> None:
    mistakes = [c for c in CASES if not c.must_pass]
    assert len(mistakes) >= 30 and len(CASES) - len(mistakes) >= 10
    assert {c.family for c in mistakes} == set(FAMILIES)


def test_cases_are_well_formed() -> None:
    listing = CliRunner().invoke(main, ["rule"]).stdout
    codes = set(re.findall(r"^([A-Z]{2}\d{3})\s", listing, re.MULTILINE))
    for case in CASES:
        named = {*case.must_fire, *case.must_not_fire, *case.extend_select}
        assert named <= codes, f"{case.file}: unknown codes {named - codes}"
        # A control only promises silence; a mistake names the rules (of one family) it needs.
        assert case.must_pass != bool(case.must_fire), case.file
        assert len({c.rstrip("0123456789") for c in case.must_fire}) <= 1, case.file
        assert not set(case.must_fire) & set(case.must_not_fire), case.file
