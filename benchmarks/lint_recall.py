"""Recall of ``convscope lint`` on the mistake corpus in ``tests/linting/corpus``, on fixed sets.

Two sets, each with its own figure: the corpus **as first merged** (``first_merged.yaml``:
45 mistakes and 13 controls, frozen, run with their targets and expectations of then) and
the corpus **as grown** (``cases.yaml``: every case today). Recall on a set only compares
with recall on the same set: cases are appended, never edited (the corpus README).

Every case is linted the way ``tests/linting/corpus/test_corpus.py`` lints it (the CLI, JSON
output). A mistake is *caught* when each rule of its ``must_fire`` reports it (naming a
layer where the case asks for one); a control is *clean* when it has no warning or error.
The tables go into this benchmark's section of ``RESULTS.md`` and are printed.

``python benchmarks/lint_recall.py [--output benchmarks/RESULTS.md]``
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "linting" / "corpus"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import (
    CASES,
    FAMILIES,
    FIRST_MERGED,
    Case,
    Report,
    false_alarms,
    lint,
    load_cases,
    misses,
)
from results_file import RESULTS, write_section

from convscope import __version__

SECTION = "## Lint recall on the mistake corpus"
# (title, manifest, whether its known_miss markers describe today's rules)
SETS = (
    ("as first merged", FIRST_MERGED, False),
    ("as grown", CASES, True),
)

Outcome = tuple[Case, list[str], list[str]]


def _pct(num: int, den: int) -> str:
    return f"{100 * num / den:.0f}%" if den else "–"


def recall(outcomes: Sequence[Outcome]) -> tuple[int, int, int, int]:
    """(mistakes caught, mistakes, controls clean, controls)."""
    mistakes = [o for o in outcomes if not o[0].must_pass]
    controls = [o for o in outcomes if o[0].must_pass]
    caught = sum(not o[1] for o in mistakes)
    clean = sum(not o[2] for o in controls)
    return caught, len(mistakes), clean, len(controls)


def render_set(title: str, manifest: Path, outcomes: Sequence[Outcome], markers: bool) -> str:
    """One set's subsection: recall per family, controls, and every miss or false alarm."""
    caught, n_mistakes, clean, n_controls = recall(outcomes)
    mistakes = [o for o in outcomes if not o[0].must_pass]
    lines = [
        f"### Corpus {title} (`{manifest.name}`): {caught} of {n_mistakes} mistakes caught, "
        f"{clean} of {n_controls} controls clean",
        "",
        "| family | mistakes | caught | recall |",
        "| --- | ---: | ---: | ---: |",
    ]
    for family in FAMILIES:
        rows = [o for o in mistakes if o[0].family == family]
        hit = sum(not o[1] for o in rows)
        lines.append(f"| {family} | {len(rows)} | {hit} | {_pct(hit, len(rows))} |")
    lines += [
        f"| **all** | **{n_mistakes}** | **{caught}** | **{_pct(caught, n_mistakes)}** |",
        "",
    ]
    missed = [o for o in mistakes if o[1]]
    if missed:
        lines += ["Missed mistakes:", ""]
        for c, m, _ in missed:
            where = "" if c.target == "generic" else f" on `{c.target}`"
            policy = f" Known miss: {c.known_miss}" if markers and c.known_miss else ""
            lines.append(f"- `{c.file}`{where} ({c.why}): {'; '.join(m)}.{policy}")
        lines.append("")
    noisy = [o for o in outcomes if o[2]]
    if noisy:
        lines += ["False alarms (forbidden findings, on controls or `must_not_fire`):", ""]
        lines += [f"- `{c.file}`: {a}" for c, _, alarms in noisy for a in alarms]
        lines.append("")
    if markers:
        # Outcomes that disagree with the manifest's known_miss markers (the test fails on these).
        stale = [c.file for c, m, a in outcomes if bool(c.known_miss) != bool(m or a)]
        if stale:
            lines += [f"Outcome differs from `known_miss` in cases.yaml: {', '.join(stale)}", ""]
    return "\n".join(lines)


def render(results: Sequence[tuple[str, Path, list[Outcome], bool]], seconds: float) -> str:
    figures = "; ".join(
        "{t}: {0} of {1} caught, {2} of {3} controls clean".format(*recall(o), t=t)
        for t, _, o, _ in results
    )
    lines = [
        SECTION,
        "",
        f"`python benchmarks/lint_recall.py` on {dt.date.today().isoformat()}, convscope "
        f"{__version__} ({seconds:.1f} s). **{figures}.**",
        "",
        "Two fixed sets of `tests/linting/corpus`, each with its own figure: the corpus as "
        "first merged (frozen: the same model files, targets and expectations as when it "
        "was first merged) and the corpus as grown (every case today, with the targets "
        "`cases.yaml` gives now). A mistake is caught when every rule in its `must_fire` "
        "reports it; a control is clean without warnings or errors. Compare a figure only "
        "with the same set's figure from another run.",
        "",
    ]
    for title, manifest, outcomes, markers in results:
        lines += [render_set(title, manifest, outcomes, markers), ""]
    return "\n".join(lines)


def run_set(
    manifest: Path, workdir: Path, cache: dict[tuple[object, ...], Report]
) -> list[Outcome]:
    """Lint every case of ``manifest``; a case linted the same way for another set is reused."""
    outcomes = []
    for case in load_cases(manifest):
        key = (case.file, case.target, case.weights, case.extend_select)
        if key not in cache:
            cache[key] = lint(case, workdir)
        report = cache[key]
        outcomes.append((case, misses(case, report), false_alarms(case, report)))
    return outcomes


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--output",
        type=Path,
        default=RESULTS,
        help="markdown file whose section is replaced (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    start = time.perf_counter()
    cache: dict[tuple[object, ...], Report] = {}
    with tempfile.TemporaryDirectory() as tmp:
        results = [
            (title, manifest, run_set(manifest, Path(tmp), cache), markers)
            for title, manifest, markers in SETS
        ]
    section = render(results, time.perf_counter() - start)
    write_section(section, args.output)
    print(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
