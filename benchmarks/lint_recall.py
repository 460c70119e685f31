"""Recall of ``convscope lint`` on the mistake corpus in ``tests/linting/corpus``.

Every case is linted the way ``tests/linting/corpus/test_corpus.py`` lints it (the CLI, JSON
output). A mistake is *caught* when each rule of its ``must_fire`` reports it (naming a
layer where the case asks for one); a control is *clean* when it has no warning or error.
The table goes into this benchmark's section of ``RESULTS.md`` and is printed.

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

from corpus import FAMILIES, Case, false_alarms, lint, load_cases, misses
from results_file import RESULTS, write_section

from convscope import __version__

SECTION = "## Lint recall on the mistake corpus"


def _pct(num: int, den: int) -> str:
    return f"{100 * num / den:.0f}%" if den else "–"


def render(outcomes: Sequence[tuple[Case, list[str], list[str]]], seconds: float) -> str:
    """The markdown section: recall per family, controls, and every miss or false alarm."""
    mistakes = [o for o in outcomes if not o[0].must_pass]
    controls = [o for o in outcomes if o[0].must_pass]
    lines = [
        SECTION,
        "",
        f"`python benchmarks/lint_recall.py` on {dt.date.today().isoformat()}, convscope "
        f"{__version__}: {len(mistakes)} mistake models and {len(controls)} good-design "
        f"controls from `tests/linting/corpus` ({seconds:.1f} s). A mistake is caught when every "
        "rule in its `must_fire` reports it; a control is clean without warnings or errors.",
        "",
        "| family | mistakes | caught | recall |",
        "| --- | ---: | ---: | ---: |",
    ]
    for family in FAMILIES:
        rows = [o for o in mistakes if o[0].family == family]
        caught = sum(not o[1] for o in rows)
        lines.append(f"| {family} | {len(rows)} | {caught} | {_pct(caught, len(rows))} |")
    caught = sum(not o[1] for o in mistakes)
    clean = sum(not o[2] for o in controls)
    lines += [
        f"| **all** | **{len(mistakes)}** | **{caught}** | **{_pct(caught, len(mistakes))}** |",
        "",
        f"Controls clean: {clean} of {len(controls)}.",
        "",
    ]
    missed = [o for o in mistakes if o[1]]
    if missed:
        lines += ["Missed mistakes:", ""]
        lines += [f"- `{c.file}` ({c.why}): {'; '.join(m)}" for c, m, _ in missed]
        lines.append("")
    noisy = [o for o in outcomes if o[2]]
    if noisy:
        lines += ["False alarms (forbidden findings, on controls or `must_not_fire`):", ""]
        lines += [f"- `{c.file}`: {a}" for c, _, alarms in noisy for a in alarms]
        lines.append("")
    # Outcomes that disagree with the manifest's known_miss markers (the test fails on these).
    stale = [c.file for c, m, a in outcomes if bool(c.known_miss) != bool(m or a)]
    if stale:
        lines += [f"Outcome differs from `known_miss` in cases.yaml: {', '.join(stale)}", ""]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--output",
        type=Path,
        default=RESULTS,
        help="markdown file whose section is replaced (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    outcomes = []
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for case in load_cases():
            report = lint(case, Path(tmp))
            outcomes.append((case, misses(case, report), false_alarms(case, report)))
    section = render(outcomes, time.perf_counter() - start)
    write_section(section, args.output)
    print(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
