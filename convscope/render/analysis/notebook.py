"""A dependency-free HTML table of an analysis (``--format html`` and notebooks)."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from convscope.render import fmt

if TYPE_CHECKING:  # the analysis calls this renderer for its notebook view
    from convscope.analysis.build import Analysis

_STYLE = (
    "<style>.cs{border-collapse:collapse;font:13px system-ui,sans-serif}"
    ".cs td,.cs th{padding:2px 8px;border-bottom:1px solid #ddd}"
    ".cs td.n{text-align:right;font-variant-numeric:tabular-nums}"
    ".cs tfoot td{font-weight:bold;border-top:2px solid #888}</style>"
)


def render_table(a: Analysis) -> str:
    head = "".join(
        f"<th>{h}</th>"
        for h in ("Layer", "Type", "Output", "Params", "MACs", "Act.", "Traffic", "FLOP/B")
    )
    body = []
    for r in a.rows:
        indent = "&nbsp;" * 2 * max(r.depth - 1, 0)
        body.append(
            f"<tr><td>{indent}{escape(r.name)}</td><td>{escape(r.type_name)}</td>"
            f"<td>{fmt.shape(r.output_shape)}</td><td class=n>{fmt.count(r.params)}</td>"
            f"<td class=n>{fmt.count(r.macs)}</td><td class=n>{fmt.nbytes(r.activation_bytes)}</td>"
            f"<td class=n>{fmt.nbytes(r.traffic)}</td>"
            f"<td class=n>{fmt.ratio(r.intensity)}</td></tr>"
        )
    t = a.totals
    foot = (
        f"<tr><td>Total</td><td></td><td></td><td class=n>{fmt.count(t.params)}</td>"
        f"<td class=n>{fmt.count(t.macs)}</td><td class=n>{fmt.nbytes(t.activation_bytes)}</td>"
        f"<td class=n>{fmt.nbytes(t.traffic)}</td><td class=n>{fmt.ratio(t.intensity)}</td></tr>"
    )
    return (
        f"{_STYLE}<table class=cs><caption>convscope · {escape(a.model)}</caption>"
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody>"
        f"<tfoot>{foot}</tfoot></table>"
    )


def render_page(a: Analysis) -> str:
    return (
        f"<!doctype html><html><head><meta charset=utf-8><title>convscope · {escape(a.model)}"
        f"</title></head><body>{render_table(a)}</body></html>\n"
    )
