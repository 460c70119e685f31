"""The notebook view of an analysis: the report in small, as HTML.

A summary (parameters, MACs, peak activation memory, output receptive field, ops without a
cost formula), the layer tree with left-aligned, indented names, and the totals. Deep models
are folded to the deepest level that keeps the table under :data:`MAX_ROWS` rows, with a
line saying how many rows were folded and how to see them all (``a.view(depth=None)``).
Dependency-free HTML; styles are inline or scoped, because notebook front ends right-align
table cells by default, which hides the tree's indentation.

:func:`analysis_html` and :func:`view_html` are what a notebook shows for an
:class:`~convscope.analysis.build.Analysis` and for ``a.view(depth)``: the package registers
them with IPython's display formatter (:mod:`convscope`).
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from convscope import fmt
from convscope.analysis.build import Analysis, AnalysisView, LayerRow
from convscope.analysis.rf import with_receptive_field
from convscope.passes.keys import RECEPTIVE_FIELD
from convscope.render.analysis import tree

MAX_ROWS = 60
AUTO = "auto"

_STYLE = (
    "<style>.cs{font:13px system-ui,sans-serif}"
    ".cs .cs-sum{display:grid;grid-template-columns:max-content auto;gap:1px 12px;"
    "margin:4px 0 8px}"
    ".cs table{border-collapse:collapse;font:inherit}"
    ".cs td,.cs th{padding:2px 8px;border-bottom:1px solid #ddd;text-align:left!important;"
    "white-space:nowrap}"
    ".cs td.n,.cs th.n{text-align:right!important;font-variant-numeric:tabular-nums}"
    ".cs tr.h td{color:#888}"
    ".cs tfoot td{font-weight:bold;border-top:2px solid #888}"
    ".cs .cs-note{color:#666;margin:4px 0}</style>"
)
_NUMERIC = ("Params", "MACs", "Act.", "Traffic", "FLOP/B")


def _display_count(a: Analysis, rows: Sequence[LayerRow]) -> int:
    """Table rows, counting the ancestor headers the tree adds."""
    shown: set[str] = {""}
    n = 0
    for r in rows:
        n += len(tree.missing_ancestors(r.path, shown)) + 1
        shown.add(r.path)
    return n


def auto_depth(a: Analysis, max_rows: int = MAX_ROWS) -> int | None:
    """The deepest fold that fits in ``max_rows`` (None: every row fits; 1 at the least)."""
    if _display_count(a, a.rows) <= max_rows:
        return None
    deepest = max((r.depth for r in a.rows), default=1)
    for depth in range(deepest - 1, 0, -1):
        if _display_count(a, a.folded(depth)) <= max_rows:
            return depth
    return 1


def _summary(a: Analysis) -> str:
    t = a.totals
    items = [
        ("Params", f"{t.params:,} ({fmt.count(t.params)})"),
        ("MACs", f"{fmt.count(t.macs)} ({fmt.count(t.flops)} FLOPs)"),
        (
            "Peak activations",
            f"{fmt.nbytes(t.peak_activation_bytes)} (weights {fmt.nbytes(t.param_bytes)})"
            + (f" at {a.dtype}" if a.dtype else ""),
        ),
    ]
    section = a.section(RECEPTIVE_FIELD)
    if section is not None:
        items.append(("Receptive field", section.summary_text()))
    shapes = ", ".join(fmt.shape(s) for s in a.input_shapes)
    items.append(("Inputs", f"{shapes} → {', '.join(fmt.shape(s) for s in a.output_shapes)}"))
    unknown = (
        "; ".join(f"{u.op} ×{u.count} in {', '.join(u.layers[:3])}" for u in a.unknown)
        + " (not counted)"
        if a.unknown
        else "none"
    )
    items.append(("Unknown ops", unknown))
    cells = "".join(f"<b>{escape(k)}</b><span>{escape(v)}</span>" for k, v in items)
    return f"<div class=cs-sum>{cells}</div>"


def _cells(kind: str, shape: str, numbers: Sequence[str]) -> str:
    """Type and Output cells (left), then the numeric cells (right)."""
    return f"<td>{kind}</td><td>{shape}</td>" + "".join(f"<td class=n>{v}</td>" for v in numbers)


def _name_cell(path: str) -> str:
    pad = 0.4 + 1.2 * tree.indent(path)
    return f'<td style="text-align:left;padding-left:{pad:.1f}em">{escape(tree.label(path))}</td>'


def render_table(a: Analysis, depth: int | str | None = AUTO) -> str:
    """The notebook view; ``depth``: fold rows deeper than N, None for every row, ``"auto"``
    for the deepest fold under :data:`MAX_ROWS` rows."""
    chosen = auto_depth(a) if depth == AUTO else depth
    if chosen is not None and not isinstance(chosen, int):
        raise TypeError(f"depth must be an int, None or 'auto', not {chosen!r}")
    rows = a.folded(chosen) if chosen is not None else a.rows
    head = "".join(
        f"<th class=n>{h}</th>" if h in _NUMERIC else f"<th>{h}</th>"
        for h in ("Layer", "Type", "Output", *_NUMERIC)
    )
    body = []
    shown: set[str] = {""}
    for r in rows:
        for header in tree.missing_ancestors(r.path, shown):
            module = a.graph.module.get(header)
            kind = escape(module.type_name) if module else ""
            body.append(f"<tr class=h>{_name_cell(header)}<td>{kind}</td>{'<td></td>' * 6}</tr>")
        shown.add(r.path)
        numbers = (
            fmt.count(r.params),
            fmt.count(r.macs),
            fmt.nbytes(r.activation_bytes),
            fmt.nbytes(r.traffic),
            fmt.ratio(r.intensity),
        )
        cells = _cells(escape(r.type_name), fmt.shape(r.output_shape), numbers)
        body.append(f"<tr>{_name_cell(r.path)}{cells}</tr>")
    t = a.totals
    totals = (
        fmt.count(t.params),
        fmt.count(t.macs),
        fmt.nbytes(t.activation_bytes),
        fmt.nbytes(t.traffic),
        fmt.ratio(t.intensity),
    )
    foot = f"<tr><td>Total</td>{_cells('', '', totals)}</tr>"
    note = ""
    if chosen is not None and len(rows) < len(a.rows):
        folded = len(a.rows) - len(rows)
        note = (
            f"<p class=cs-note>Folded below depth {chosen}: {folded} of {len(a.rows)} layer "
            f"rows are summed into their parents (totals unchanged); "
            f"<code>a.view(depth=None)</code> shows every row, "
            f"<code>a.view(depth={chosen + 1})</code> one level more.</p>"
        )
    return (
        f"{_STYLE}<div class=cs><b>convscope · {escape(a.model)}</b>{_summary(a)}"
        f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody>"
        f"<tfoot>{foot}</tfoot></table>{note}</div>"
    )


def render_page(a: Analysis) -> str:
    """A standalone page with every row."""
    return (
        f"<!doctype html><html><head><meta charset=utf-8><title>convscope · {escape(a.model)}"
        f"</title></head><body>{render_table(a, depth=None)}</body></html>\n"
    )


def analysis_html(a: Analysis, depth: int | str | None = AUTO) -> str:
    """What a notebook shows for ``a``: the view at ``depth``, with the output receptive
    field in the summary (computed here when ``a`` carries none)."""
    if a.section(RECEPTIVE_FIELD) is None:
        a = with_receptive_field(a)
    return render_table(a, depth)


def view_html(view: AnalysisView) -> str:
    """What a notebook shows for ``a.view(depth)``."""
    return analysis_html(view.analysis, view.depth)
