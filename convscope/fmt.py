"""Number formatting shared by every renderer and every lint message, so all outputs show the
same figures (a bottom-level module: rules and renderers alike import it)."""

from __future__ import annotations

from collections.abc import Sequence

_PREFIXES = ("", "K", "M", "G", "T", "P")


def human(n: float, unit: str = "", base: int = 1000) -> str:
    """Three significant digits and a prefix: ``73856 → '73.9K'``, ``2048 B → '2 KiB'``,
    ``41.9e9 FLOP/s → '41.9 GFLOP/s'``.

    The prefix steps up once the value would round to 1000 or more, so the number shown is
    always below 1000 and never in exponent form (``1000 KiB`` prints as ``0.977 MiB``).
    With a unit there is a space before it; bare counts stay compact (``25.6M``).
    ``base=1024`` gives binary prefixes (KiB, MiB, ...).
    """
    sign = "-" if n < 0 else ""
    value = float(abs(n))
    mag = 0
    while value >= 999.5 and mag < len(_PREFIXES) - 1:
        value /= base
        mag += 1
    if value >= 999.5:  # beyond the last prefix: plain digits, still no exponent
        text = f"{value:.0f}"
    elif mag == 0 and value == int(value):
        text = str(int(value))
    elif value >= 1:
        text = f"{value:.3g}"
    else:  # %g switches to exponent form below 1e-4
        text = f"{value:.3f}".rstrip("0").rstrip(".") or "0"
    prefix = _PREFIXES[mag] + ("i" if base == 1024 and mag else "")
    if unit:
        return f"{sign}{text} {prefix}{unit}"
    return f"{sign}{text}{prefix}"


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


def ms(x: float | None) -> str:
    """Milliseconds at a precision that suits the size: ``0.042``, ``3.27``, ``41.5``, ``812``."""
    if x is None:
        return "—"
    if abs(x) >= 100:
        return f"{x:.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    if abs(x) >= 1:
        return f"{x:.2f}"
    return f"{x:.3f}"
