"""``benchmarks/RESULTS.md`` is shared by every benchmark: each one owns the section that
starts with its own ``## title`` line and replaces only that."""

from __future__ import annotations

import sys
from pathlib import Path

from convscope._io import write_atomic

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def write_section(section: str, path: Path = RESULTS) -> None:
    """Replace the section of ``path`` titled like ``section``'s first line (or append it),
    keeping the others in place."""
    title = section.splitlines()[0].strip()
    text = path.read_text() if path.exists() else "# Benchmark results\n"
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip() == title), None)
    if start is None:
        new = text.rstrip("\n") + "\n\n" + section.rstrip("\n") + "\n"
    else:
        end = next(
            (i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines)
        )
        before = "\n".join(lines[:start]).rstrip("\n")
        after = "\n".join(lines[end:])
        new = (before + "\n\n" if before else "") + section.rstrip("\n") + "\n"
        if after:
            new += "\n" + after.rstrip("\n") + "\n"
    write_atomic(path, new)


def emit(section: str, output: Path | None) -> None:
    """Write ``section`` into ``output`` (see :func:`write_section`), or print it."""
    if output is None:
        print(section)
        return
    write_section(section, output)
    print(f"wrote {output}", file=sys.stderr)
