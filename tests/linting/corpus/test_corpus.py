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
from corpus import FAMILIES, MODELS, Case, lint, load_cases, problems

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
