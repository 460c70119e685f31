"""``convscope lint --format markdown``: a compact pull-request comment.

A verdict heading, a counts-by-severity table, exceeded budgets, then the findings grouped
by rule (one table per rule: layer, source location, message). Tables are cut to keep the
comment under GitHub's 65,536-character limit (see :mod:`convscope.render.markdown_limit`);
a cut table ends with a line naming how many findings it leaves out.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from convscope.catalog import rule_ref
from convscope.linting.finding import Finding, LintResult, Location, Severity, summary_counts
from convscope.render.markdown_limit import BUDGET, cap, fit_rows

_WHERE = "`--format json` has every finding"


def _esc(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render(results: Sequence[LintResult], fail_on: Severity, cwd: Path | None = None) -> str:
    """The Markdown document (ends with a newline)."""
    c = summary_counts(results)
    failed = any(r.fails(fail_on) for r in results)
    mark = "❌" if failed else "✅"
    models = ", ".join(f"`{r.model}`" for r in results)
    noun = "finding" if c["findings"] == 1 else "findings"
    lines = [
        f"### {mark} convscope lint: {c['findings']} {noun}",
        "",
        f"**{'fails' if failed else 'passes'}** the gate (--fail-on {fail_on.value}) · "
        f"{len(results)} model{'s' * (len(results) != 1)}: {models}",
        "",
        "| severity | findings |",
        "| --- | ---: |",
        f"| error | {c['errors']} |",
        f"| warning | {c['warnings']} |",
        f"| info | {c['info']} |",
    ]
    notes = []
    if c["suppressed"]:
        notes.append(f"{c['suppressed']} suppressed by the baseline")
    if c["noqa"]:
        notes.append(f"{c['noqa']} silenced by `# convscope: ignore`")
    if c["stale_baseline"]:
        notes.append(f"{c['stale_baseline']} stale baseline entries (rewrite the baseline)")
    if notes:
        lines += ["", "; ".join(notes) + "."]
    for r in results:
        for b in r.budgets:
            if b.exceeded:
                lines += [
                    "",
                    f"**Budget exceeded** (`{r.model}`): {b.metric} {b.shown(b.actual)} > "
                    f"{b.shown(b.limit)}",
                ]
    several = len(results) > 1
    groups: dict[str, list[tuple[LintResult, Finding]]] = {}
    for r in results:
        for f in r.findings:
            groups.setdefault(f.code, []).append((r, f))
    remaining = BUDGET - sum(len(line) + 1 for line in lines) - 200
    for i, (code, items) in enumerate(sorted(groups.items())):
        name = items[0][1].name
        head = [
            "",
            f"#### {rule_ref(code, name)} {name} · {len(items)}",
            "",
            ("| model " if several else "") + "| severity | layer | location | message |",
            ("| --- " if several else "") + "| --- | --- | --- | --- |",
        ]
        rows = [_row(r, f, several, cwd) for r, f in items]
        share = (remaining - sum(len(h) + 1 for h in head)) // (len(groups) - i)
        fitted = fit_rows(rows, max(share, 0), "findings", _WHERE)
        lines += head + fitted
        remaining -= sum(len(x) + 1 for x in head + fitted)
    if not groups:
        lines += ["", "No findings."]
    else:
        lines += ["", "`convscope rule CODE` explains a rule: what it checks, why, the fix."]
    return cap("\n".join(lines) + "\n")


def _where(loc: Location, cwd: Path | None) -> str:
    """``models/net.py:12``; installed packages from their package folder down."""
    if loc.third_party:
        parts = loc.file.parts
        start = max(i for i, p in enumerate(parts) if p in ("site-packages", "dist-packages"))
        return f"{'/'.join(parts[start + 1 :])}:{loc.line}"
    return loc.display(cwd)


def _row(r: LintResult, f: Finding, several: bool, cwd: Path | None) -> str:
    loc = f"`{_where(f.location, cwd)}`" if f.location else "—"
    model = f"| `{_esc(r.model)}` " if several else ""
    return f"{model}| {f.severity.value} | `{_esc(f.layer_display)}` | {loc} | {_esc(f.message)} |"
