"""``convscope rule``: the rule list and a rule's documentation.

Piped, both are plain text (the README's Markdown as written, the list one rule a line) and
this module imports nothing beyond the standard library, so ``convscope rule`` starts without
rich or torch. On a terminal the Markdown is drawn for the terminal's width and the list is
a table.
"""

from __future__ import annotations

from convscope.linting.registry import Registry

_COLUMNS = ("Code", "Name", "Default", "Summary")


def rules_text(registry: Registry) -> str:
    """One rule a line, in aligned columns; summaries are never wrapped (a pipe has no width)."""
    rows = [_COLUMNS] + [
        (code, rule.name, rule.default_severity.value, rule.summary)
        for code, rule in registry.items()
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_COLUMNS) - 1)]
    lines = []
    for row in rows:
        cells = [cell.ljust(w) for cell, w in zip(row, widths, strict=False)]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    return "\n".join(lines) + "\n"


def print_markdown(text: str) -> None:
    """Draw ``text`` (Markdown) on the terminal at its width: paragraphs reflowed, headings,
    lists and code blocks styled."""
    # rich loads only here, when there is a terminal to draw on: `convscope rule` piped (and
    # `--raw`) stays as fast to start as `--help`
    from rich.console import Console
    from rich.markdown import Markdown

    Console().print(Markdown(text, code_theme="ansi_dark"))
