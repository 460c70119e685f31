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


def grouped(n: float) -> str:
    """A count with thousands separators, rounded to a whole number: ``2,320``."""
    return f"{n:,.0f}"


def nbytes(n: int) -> str:
    return "—" if n == 0 else human(n, "B", 1024)


def shape(s: Sequence[int] | None) -> str:
    return "—" if s is None else "×".join(str(d) for d in s)


def ratio(x: float) -> str:
    return "—" if x == 0 else f"{x:.1f}"


def percent(x: float) -> str:
    return f"{100 * x:.1f}%"


def signed_percent(x: float) -> str:
    """A change as a signed percentage: ``+28.2%``, ``-4.0%``."""
    return f"{100 * x:+.1f}%"


def ms(x: float | None) -> str:
    """A duration in milliseconds, the one way every command prints one: ``1063``, ``301``,
    ``12.3``, ``1.25``, ``0.052``; never in exponent form (``—`` when missing).

    Three significant digits from 1 ms up (whole milliseconds from 100), thousandths below;
    anything within half a microsecond of zero is ``<0.001``.
    """
    if x is None:
        return "—"
    if x == 0:
        return "0"
    sign = "-" if x < 0 else ""
    a = abs(x)
    if a >= 99.95:
        text = f"{a:.0f}"
    elif a >= 9.995:
        text = f"{a:.1f}"
    elif a >= 0.9995:
        text = f"{a:.2f}"
    elif a >= 0.0005:
        text = f"{a:.3f}"
    else:
        return "<0.001"
    return sign + text


def duration(x: float | None) -> str:
    """:func:`ms` with its unit: ``12.3 ms`` (``—`` when missing)."""
    return "—" if x is None else f"{ms(x)} ms"


def remainder(layers_ms: float, e2e_ms: float) -> str:
    """What the per-layer times leave of the end-to-end time, in words.

    A positive remainder is time no layer holds (Python glue, noise); a negative one means
    the instrumented layers add up to more than an uninstrumented run took, which is the
    timing hooks' own overhead, said so with its size instead of as a negative figure.
    """
    rest = e2e_ms - layers_ms
    share = f" ({percent(abs(rest) / e2e_ms)} of end to end)" if e2e_ms else ""
    if rest >= 0:
        return f"unattributed {duration(rest)}{share}"
    return f"over by {duration(-rest)}{share}: the timing hooks' own overhead"


def counted(n: int, noun: str) -> str:
    """``1 error``, ``0 errors``, ``2 warnings``; ``info`` has no plural (``6 info``)."""
    return f"{n} {noun}{'' if n == 1 or noun == 'info' else 's'}"
