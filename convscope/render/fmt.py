"""Number formatting shared by every renderer, so all outputs show the same figures."""

from __future__ import annotations

from collections.abc import Sequence

from convscope.formulas import human


def count(n: int) -> str:
    return "—" if n == 0 else human(n)


def nbytes(n: int) -> str:
    return "—" if n == 0 else human(n, "B", 1024)


def shape(s: Sequence[int] | None) -> str:
    return "—" if s is None else "×".join(str(d) for d in s)


def ratio(x: float) -> str:
    return "—" if x == 0 else f"{x:.1f}"


def percent(x: float) -> str:
    return f"{100 * x:.1f}%"
