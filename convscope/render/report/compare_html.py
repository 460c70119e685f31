"""``convscope report BASE --compare HEAD``: the side-by-side review page, self-contained
and offline.

Rendered from the comparison document of
:meth:`convscope.report.compare.Comparison.to_dict` (what ``--format json`` prints), with
the report page's style, script and chart mechanism (:mod:`convscope.render.report.html`:
the same sorting, filtering, CSV export and chart boxes that keep their height on resize),
and numbers formatted as ``convscope diff`` formats them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from markupsafe import Markup

from convscope.render.diff.markdown import delta, percent, value
from convscope.render.report.html import (
    PLOTLY_CONFIG,
    SEVERITIES,
    _base_layout,
    _environment,
    _script_json,
    plotly_js,
)

__all__ = ["figures", "render"]

BASE_COLOR = "#4c78a8"
HEAD_COLOR = "#f58518"

#: The per-layer number columns: (heading, document key, unit).
LAYER_COLUMNS: tuple[tuple[str, str, Any], ...] = (
    ("Params", "params", "count"),
    ("MACs", "macs", "count"),
    ("Traffic", "traffic_bytes", "bytes"),
)

#: Summary rows: the document's primary totals, in this order, with the page's names.
TOTAL_NAMES: Mapping[str, str] = {
    "params": "Parameters",
    "macs": "MACs",
    "flops": "FLOPs",
    "traffic_bytes": "Memory traffic",
    "peak_activation_bytes": "Peak activation memory",
    "rf": "Output receptive field (px)",
}


def _shape(s: Sequence[int] | None) -> str:
    return "—" if s is None else "×".join(str(d) for d in s)


def _shapes(shapes: Sequence[Sequence[int]]) -> str:
    return ", ".join(_shape(s) for s in shapes) or "—"


def _pair(f: Mapping[str, Any], text: Any = str) -> str:
    """``base → head`` when the sides differ, else the one value (``—`` when missing)."""
    b, h = f["base"], f["head"]
    if b == h or h is None:
        return "—" if b is None else text(b)
    if b is None:
        return text(h)
    return f"{text(b)} → {text(h)}"


def _cost_class(d: float | None) -> str:
    """Layer deltas are costs: more is worse."""
    if not d:
        return ""
    return "worse" if d > 0 else "better"


def _latency_text(stats: Mapping[str, float]) -> str:
    return f"{stats['median_ms']:#.3g} ms (p10–p90 {stats['p10_ms']:#.3g}–{stats['p90_ms']:#.3g})"


def _side_text(side: Mapping[str, Any]) -> str:
    name = side["label"] if side["label"] == side["model"] else f"{side['label']} ({side['model']})"
    io = f"{_shapes(side['inputs'])} → {_shapes(side['outputs'])}"
    extra = f" · traced on {side['trace_mode']}" if side.get("trace_mode") else ""
    if side.get("dtype"):
        extra += f" · bytes priced as {side['dtype']}"
    return f"{name} · input → output {io}{extra}"


def render(doc: Mapping[str, Any]) -> str:
    """The HTML page of a comparison document."""

    figs = figures(doc)
    rows = list(doc["layers"]["rows"])
    env = _environment()
    totals = [t for t in doc["totals"] if t["name"] in TOTAL_NAMES]
    totals.sort(key=lambda t: list(TOTAL_NAMES).index(t["name"]))
    context = {
        "doc": doc,
        "base": doc["base"],
        "head": doc["head"],
        "totals": [t for t in totals if t["base"] is not None or t["head"] is not None],
        "total_names": TOTAL_NAMES,
        "latency": doc.get("latency"),
        "lint": doc.get("lint"),
        "rows": rows,
        "counts": doc["layers"]["counts"],
        "changed_count": sum(1 for r in rows if r["status"] != "same"),
        "columns": LAYER_COLUMNS,
        "figures": figs,
        "figures_json": Markup(_script_json(figs)),
        "plotly_config_json": Markup(_script_json(PLOTLY_CONFIG)),
        "plotly_js": Markup(plotly_js()),
        "style": Markup(
            env.get_template("report.css").render() + env.get_template("compare.css").render()
        ),
        "script": Markup(env.get_template("report.js").render()),
        "severities": SEVERITIES,
        "value": value,
        "delta": delta,
        "percent": lambda pct, d: percent(None if pct is None else pct / 100, d),
        "pair": _pair,
        "shape": _shape,
        "cost_class": _cost_class,
        "latency_text": _latency_text,
        "side_text": _side_text,
    }
    return env.get_template("compare.html.j2").render(**context)


# --------------------------------------------------------------------------- charts


def figures(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The page's plotly figures (``{"id", "title", "data", "layout"}``): per-layer and
    cumulative MACs of both sides over the aligned layers; none when no layer has MACs."""
    rows = [
        r for r in doc["layers"]["rows"] if (r["macs"]["base"] or 0) or (r["macs"]["head"] or 0)
    ]
    if not rows:
        return []
    # Layer paths on a category axis: plotly thins the tick labels of a long model itself.
    x = [r["path"] or "(root)" for r in rows]
    names = [
        f"{p} ({r['type']['head'] or r['type']['base']})" for p, r in zip(x, rows, strict=True)
    ]
    data: list[dict[str, Any]] = []
    layout = _base_layout(
        "MACs per layer and cumulative, base vs head (layers matched by path)",
        height=560,
        barmode="group",
        bargap=0.15,
        legend={"orientation": "h", "y": 1.06, "x": 1, "xanchor": "right"},
    )
    for side, color, label in (("base", BASE_COLOR, "base"), ("head", HEAD_COLOR, "head")):
        macs = [r["macs"][side] for r in rows]  # None: the layer is not on this side
        running, total = [], 0
        for m in macs:
            total += m or 0
            running.append(total)
        data.append(
            {
                "type": "bar",
                "name": label,  # the header's base / head tags name the sides in full
                "legendgroup": side,
                "x": x,
                "y": macs,
                "hovertext": names,
                "marker": {"color": color},
                "xaxis": "x",
                "yaxis": "y",
                "hovertemplate": f"%{{hovertext}}<br>{label} MACs: %{{y:,}}<extra></extra>",
            }
        )
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": f"{label} cumulative",
                "legendgroup": side,
                "showlegend": False,
                "x": x,
                "y": running,
                "hovertext": names,
                "line": {"shape": "hv", "color": color},
                "xaxis": "x",
                "yaxis": "y2",
                "hovertemplate": f"%{{hovertext}}<br>{label} MACs so far: %{{y:,}}<extra></extra>",
            }
        )
    layout["yaxis"] = {"domain": [0.55, 1.0], "title": {"text": "MACs"}, "rangemode": "tozero"}
    layout["yaxis2"] = {
        "domain": [0.0, 0.45],
        "title": {"text": "cumulative MACs"},
        "rangemode": "tozero",
    }
    layout["xaxis"] = {
        "type": "category",
        "title": {"text": "layer (aligned order; layers without MACs left out)"},
        "anchor": "y2",
        "automargin": True,  # room for slanted layer names, within the box's fixed height
    }
    return [{"id": "fig-macs", "title": "MACs per layer", "data": data, "layout": layout}]
