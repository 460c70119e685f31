"""Keep Markdown outputs postable as one GitHub comment.

GitHub rejects issue and pull-request comments longer than 65,536 characters. Renderers
aim for :data:`BUDGET` (leaving room for text a CI bot wraps around the output) by
truncating their long tables with :func:`fit_rows`, which ends a cut table with one line
that says how many rows were left out and where to find them; :func:`cap` is the last
resort for whatever is still too long.
"""

from __future__ import annotations

from collections.abc import Sequence

#: GitHub's limit on the length of one comment body, in characters.
GITHUB_COMMENT_LIMIT = 65_536
#: What a whole Markdown output may use.
BUDGET = 60_000


def fit_rows(rows: Sequence[str], budget: int, noun: str, where: str) -> list[str]:
    """As many of ``rows`` (one table line each) as fit in ``budget`` characters (newlines
    counted); when some do not fit, a blank line (which ends the table) and
    ``… N more <noun> not shown (<where>)``."""
    if sum(len(r) + 1 for r in rows) <= budget:
        return list(rows)
    room = budget - len(more_line(len(rows), noun, where)) - 2
    kept: list[str] = []
    used = 0
    for row in rows:
        if used + len(row) + 1 > room:
            break
        kept.append(row)
        used += len(row) + 1
    return [*kept, "", more_line(len(rows) - len(kept), noun, where)]


def more_line(n: int, noun: str, where: str) -> str:
    return f"… {n:,} more {noun} not shown ({where})"


def cap(text: str, limit: int = BUDGET) -> str:
    """``text`` cut at a line boundary to at most ``limit`` characters, with a closing note."""
    if len(text) <= limit:
        return text
    note = "\n\n… output truncated to fit a GitHub comment (the JSON output has everything)\n"
    head = text[: limit - len(note)]
    head = head[: head.rfind("\n")] if "\n" in head else head
    if head.count("<details>") > head.count("</details>"):
        head += "\n\n</details>"
    return head + note
