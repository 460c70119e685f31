"""``convscope lint --statistics``: how often each rule fired, most frequent first."""

from __future__ import annotations

import json
from collections.abc import Sequence

from convscope.linting.finding import Statistic


def to_text(stats: Sequence[Statistic]) -> str:
    """One line per rule: count, code, name and the highest severity among its findings."""
    if not stats:
        return "no findings\n"
    width = len(str(max(s.count for s in stats)))
    code_width = max(len(s.code) for s in stats)
    return "".join(
        f"{s.count:>{width}}  {s.code:<{code_width}}  {s.name} ({s.severity.value})\n"
        for s in stats
    )


def to_json(stats: Sequence[Statistic]) -> str:
    doc = [
        {"code": s.code, "name": s.name, "count": s.count, "severity": s.severity.value}
        for s in stats
    ]
    return json.dumps(doc, indent=2) + "\n"
