"""``convscope lint`` in the terminal: findings grouped by model and layer, coloured by
severity, with budgets, skipped rules and a summary line; also the ``convscope rule`` table
on a terminal."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from convscope.linting.finding import Finding, LintResult, Severity, summary_line
from convscope.linting.registry import Registry
from convscope.render.hanging import Hanging
from convscope.validate import format_size

STYLES = {
    Severity.ERROR: "bold red",
    Severity.WARNING: "yellow",
    Severity.INFO: "cyan",
    Severity.OFF: "dim",
}


# Columns: a layer heading at 2, its findings at 4, a finding's wrapped lines at 6, its fix
# and command at 8 (wrapped under their text at 13), so the grouping survives a narrow terminal.
_FINDING, _FINDING_HANG, _FIX, _FIX_HANG = 4, 6, 8, 13


def _finding_lines(f: Finding) -> list[RenderableType]:
    head = Text(" " * _FINDING)
    head.append(f"{f.severity.value:<7}", style=STYLES[f.severity])
    head.append(" ")
    head.append(f.code, style="bold")
    head.append(f" {f.name}  ", style="dim")
    head.append(f.message)
    lines: list[RenderableType] = [Hanging(head, _FINDING_HANG)]
    for label, text in (("fix", f.suggestion), ("run", f.rewrite)):
        if text:
            lines.append(Hanging(Text(f"{' ' * _FIX}{label}: {text}", style="green"), _FIX_HANG))
    return lines


def _groups(findings: Sequence[Finding]) -> list[tuple[str, list[Finding]]]:
    """Findings by heading: model-level findings (about the whole network, whatever layer
    they are measured at) in a group of their own, the others by layer. The most severe
    group comes first, and within a group the most severe finding, so what fails the gate
    is read before information; equal severities keep the engine's order."""
    groups: dict[str, list[Finding]] = {}
    for f in findings:
        groups.setdefault(_MODEL if f.scope == "model" else f.layer, []).append(f)

    def worst(item: tuple[str, list[Finding]]) -> tuple[int, int]:
        key, members = item
        return (-max(f.severity.rank for f in members), key != _MODEL)

    ordered = sorted(groups.items(), key=worst)
    return [(key, sorted(members, key=lambda f: -f.severity.rank)) for key, members in ordered]


_MODEL = "\x00model"  # cannot clash with a module path


def _heading(key: str, findings: Sequence[Finding], cwd: Path | None) -> Text:
    line = Text("  ")
    if key == _MODEL:
        line.append("whole model", style="bold")
        at = sorted({f.layer_display for f in findings})
        loc = next((f.location for f in findings if f.location), None)
        where = f"  {loc.display(cwd)}" if loc is not None and len(at) == 1 else ""
        line.append(f"  (measured at {', '.join(at)}{where})", style="dim")
        return line
    line.append(findings[0].layer_display, style="bold")
    loc = next((f.location for f in findings if f.location), None)
    if loc is not None:
        line.append(f"  {loc.display(cwd)}", style="dim")
    return line


def _budget_lines(result: LintResult) -> list[Text]:
    out = []
    for b in result.budgets:
        binary = b.metric.endswith("bytes")
        if b.metric == "latency":  # predicted ms, not a count
            used = f"{b.actual:.4g} ms of {b.limit:.4g} ms predicted"
        else:
            used = f"{format_size(int(b.actual), binary)} of {format_size(int(b.limit), binary)}"
        line = Text(f"  budget {b.metric}: {used} ({100 * b.share:.1f}%) ")
        line.append("EXCEEDED" if b.exceeded else "ok", style="bold red" if b.exceeded else "green")
        out.append(line)
    return out


def render(results: Sequence[LintResult], cwd: Path | None = None) -> Group:
    """A rich renderable of every model's findings and the overall summary line."""
    parts: list[RenderableType] = []
    for result in results:
        parts.append(Text(f"{result.model}  (target {result.target})", style="bold underline"))
        for key, findings in _groups(result.findings):
            parts.append(_heading(key, findings, cwd))
            for f in findings:
                parts.extend(_finding_lines(f))
        if not result.findings:
            parts.append(Text("  no findings", style="green"))
        else:
            per_code: dict[str, int] = {}
            for f in result.findings:
                per_code[f.code] = per_code.get(f.code, 0) + 1
            by_rule = ", ".join(f"{code} ×{n}" for code, n in sorted(per_code.items()))
            parts.append(Hanging(Text(f"  by rule: {by_rule}", style="dim"), 4))
        parts.extend(_budget_lines(result))
        reasons: dict[str, list[str]] = {}
        for s in result.skipped:
            reasons.setdefault(s.reason, []).append(f"{s.code} {s.name}")
        for reason, rules in reasons.items():
            parts.append(Hanging(Text(f"  skipped {', '.join(rules)}: {reason}", style="dim"), 4))
        if result.ignored:
            parts.append(
                Text(f"  {result.ignored} finding(s) silenced by per-module-ignores", style="dim")
            )
        if result.noqa:
            parts.append(
                Text(f"  {result.noqa} finding(s) silenced by `# convscope: ignore`", style="dim")
            )
        if result.stale_baseline:
            n = len(result.stale_baseline)
            parts.append(
                Text(
                    f"  {n} stale baseline entr{'ies' if n != 1 else 'y'} (no longer found; "
                    "rewrite the baseline with --write-baseline):",
                    style="yellow",
                )
            )
            for layer, code in result.stale_baseline:
                parts.append(Text(f"    {code} {layer or '(model)'}", style="yellow"))
    parts.append(Text(summary_line(results), style="bold"))
    return Group(*parts)


def to_text(results: Sequence[LintResult], width: int = 120, cwd: Path | None = None) -> str:
    """Plain text without colour (``-o FILE`` or a pipe); long lines are not wrapped."""
    return _export(render(results, cwd), width, soft_wrap=True)


def rules_table(registry: Registry) -> Table:
    t = Table(header_style="bold", pad_edge=False, box=None)
    t.add_column("Code", style="bold", no_wrap=True)
    t.add_column("Name", no_wrap=True)
    t.add_column("Default", no_wrap=True)
    t.add_column("Summary")
    for code, rule in registry.items():
        sev = rule.default_severity
        t.add_row(code, rule.name, Text(sev.value, style=STYLES[sev]), rule.summary)
    return t


def _export(renderable: RenderableType, width: int, soft_wrap: bool = False) -> str:
    console = Console(
        width=width, record=True, color_system=None, force_terminal=False, file=io.StringIO()
    )
    console.print(renderable, soft_wrap=soft_wrap)
    return "".join(line.rstrip() + "\n" for line in console.export_text().splitlines())


def print_rich(renderable: RenderableType) -> None:
    """Print to the terminal in colour."""
    Console().print(renderable)
