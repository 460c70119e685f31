"""The cross-check as a plain-text reconciliation table (no rich), appended after the
analyze output."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from convscope.checks.crosscheck import CrossCheck


def _num(n: int | None) -> str:
    return "n/a" if n is None else f"{n:,}"


def _signed(n: int | None) -> str:
    if n is None:
        return "n/a"
    return "0" if n == 0 else f"{n:+,}"


def render(cc: CrossCheck) -> str:
    """A plain-text reconciliation table (no rich), appended after the analyze output.

    Columns: convscope MACs, FlopCounterMode FLOPs and its difference from 2×MACs, fvcore
    "flops" and its difference from MACs (fvcore counts one flop per MAC), and the note.
    """
    header = (
        "module",
        "convscope MACs",
        "FlopCounterMode",
        "FCM − 2×MACs",
        "fvcore",
        "fvcore − MACs",
        "note",
    )
    body = [
        (
            r.module or "(root)",
            _num(r.convscope_macs),
            _num(r.flopcounter_flops),
            _signed(r.flopcounter_diff),
            _num(r.fvcore_flops),
            _signed(r.fvcore_diff),
            r.note or "agree",
        )
        for r in cc.rows
    ]
    t = cc.totals
    macs = t["convscope_macs"] or 0
    fv = t["fvcore_flops"]
    fc = t["flopcounter_flops"] or 0
    body.append(
        (
            "TOTAL",
            _num(macs),
            _num(fc),
            _signed(fc - 2 * macs),
            _num(fv),
            _signed(None if fv is None else fv - macs),
            "",
        )
    )
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header) - 1)]

    def line(cells: Sequence[str]) -> str:
        left = cells[0].ljust(widths[0])
        mid = "  ".join(c.rjust(w) for c, w in zip(cells[1:-1], widths[1:], strict=True))
        return f"{left}  {mid}  {cells[-1]}".rstrip()

    lines = [
        f"Cross-check: {cc.model} — convscope MACs vs torch FlopCounterMode (FLOPs = "
        "2×MACs) vs fvcore (one flop per MAC, plus norms/pools)",
        "",
        line(header),
        line(["-" * w for w in widths] + ["-" * 4]),
    ]
    lines += [line(row) for row in body[:-1]]
    lines.append(line(["-" * w for w in widths] + [""]))
    lines.append(line(body[-1]))
    lines += ["", "Explanations:"]
    lines += [f"  - {e}" for e in cc.explanations]
    return "\n".join(lines) + "\n"
