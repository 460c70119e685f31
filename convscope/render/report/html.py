"""``convscope report --format html``: one self-contained page that works offline.

The page is rendered from the report document of :meth:`convscope.report.build.Report.to_dict`
(the same dict ``--format json`` prints), so every number in the HTML is a number of the
JSON. jinja2 templates live in ``convscope/render/report/templates/``; plotly.js is taken from
the installed ``plotly`` package and embedded inline exactly once; the table sorting and
filtering script is ours (a few lines of vanilla JS, see ``templates/report.js``).

Sections appear only when their data exists: summary cards, charts, the per-layer table,
lint findings with the rule documentation, the rewrite plan, profile results.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping, Sequence
from functools import cache
from importlib import resources
from typing import Any

import jinja2
from markupsafe import Markup

from convscope import fmt
from convscope.errors import ConvscopeError

__all__ = ["figures", "markdown_to_html", "plotly_js", "render"]

SEVERITIES = ("error", "warning", "info")

#: plotly.js config of every chart. The page is offline: no plotly logo link and no
#: "send to cloud" button (``showSendToCloud`` and the ``sendChartToCloud`` button of the
#: bundled plotly.js 4; ``showEditInChartStudio`` is not a config key of that version).
PLOTLY_CONFIG: Mapping[str, Any] = {
    "displaylogo": False,
    "responsive": True,
    "showSendToCloud": False,
    "modeBarButtonsToRemove": ["sendChartToCloud", "lasso2d", "select2d"],
}
MIXING_CLASSES = ("spatial", "channel", "both", "other")


@cache
def plotly_js() -> str:
    """The minified plotly.js bundled with the ``plotly`` Python package."""
    try:
        source = resources.files("plotly") / "package_data" / "plotly.min.js"
        return source.read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError) as exc:
        raise ConvscopeError(
            "the HTML report needs the 'plotly' package (pip install plotly), "
            f"which is missing or incomplete: {exc}"
        ) from exc


@cache
def _environment() -> Any:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("convscope.render.report", "templates"),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters.update(
        num=lambda n: fmt.count(int(n or 0)),
        nbytes=lambda n: fmt.nbytes(int(n or 0)),
        shape=lambda s: fmt.shape(s),
        ratio=lambda x: fmt.ratio(float(x or 0.0)),
        percent=lambda x: fmt.percent(float(x or 0.0)),
        grouped=fmt.grouped,
        ms=fmt.ms,
        human=fmt.human,
        counted=fmt.counted,
        remainder=lambda layers: fmt.remainder(layers["layers_sum_ms"], layers["e2e_median_ms"]),
        rfsize=_rf_text,
        layer_profile=_layer_profile,
        shortfile=_short_file,
        numel=_numel,
    )
    return env


_LAYER_PROFILE_KEYS = ("median_ms", "p10_ms", "p90_ms", "achieved", "over_roof")


def _layer_profile(p: Mapping[str, Any] | None) -> dict[str, Any]:
    """A layer's ``profile`` object with every key the table reads (None when absent: a
    layer with a roofline bound but no measured time, or none at all)."""
    return {**dict.fromkeys(_LAYER_PROFILE_KEYS), **(p or {})}


def _numel(shape: Sequence[int] | None) -> int | str:
    """Elements of a shape, the sort key of the shape columns ('' when unknown)."""
    if not shape:
        return ""
    n = 1
    for d in shape:
        n *= int(d)
    return n


def _rf_text(rf: Mapping[str, Any] | None) -> str:
    if not rf:
        return "—"
    return "×".join(f"{v:g}" for v in rf["size"])


def _script_json(value: Any) -> str:
    """JSON safe inside a ``<script>`` element (no ``</script>``, no ``<!--``)."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render(doc: Mapping[str, Any], *, rule_docs: Mapping[str, str] | None = None) -> str:
    """The HTML page of a report document (``rule_docs``: rule code → README Markdown)."""

    layers = list(doc["layers"])
    lint = doc.get("lint")
    findings = list(lint["findings"]) if lint else []
    per_layer: dict[str, list[str]] = {}
    for f in findings:
        per_layer.setdefault(f["layer"], []).append(f["code"])
    docs = {code: Markup(markdown_to_html(text)) for code, text in (rule_docs or {}).items()}
    figs = figures(doc)
    profile = doc.get("profile")
    context = {
        "doc": doc,
        "t": doc["totals"],
        "layers": layers,
        "lint": lint,
        "findings": findings,
        "per_layer": per_layer,
        "rule_docs": docs,
        "rf": doc.get("receptive_field"),
        "erf": doc.get("erf"),
        "rewrite": doc.get("rewrite"),
        "profile": profile,
        "profiled": any(
            "profile" in r and r["profile"].get("median_ms") is not None for r in layers
        ),
        "roofed": any("profile" in r and "achieved" in r["profile"] for r in layers),
        "latency": doc.get("latency"),
        "predicted": bool(doc.get("latency")),
        "has_rf": any("rf" in r for r in layers),
        "has_conv": any("conv" in r for r in layers),
        "csv_name": _csv_name(str(doc.get("model", "report"))),
        "figures": figs,
        "figures_json": Markup(_script_json(figs)),
        "plotly_config_json": Markup(_script_json(PLOTLY_CONFIG)),
        "plotly_js": Markup(plotly_js()),
        "style": Markup(_environment().get_template("report.css").render()),
        "script": Markup(_environment().get_template("report.js").render()),
        "severities": SEVERITIES,
        "mixing_classes": MIXING_CLASSES,
        "io": _io_text(doc),
    }
    return _environment().get_template("report.html.j2").render(**context)


def _csv_name(model: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", model.rsplit("/", 1)[-1]).strip("_.") or "report"
    return f"{stem.removesuffix('.py')}-layers.csv"


def _short_file(path: str) -> str:
    """A finding's file as the lint table shows it: repository-relative paths stay, an
    absolute path (site-packages) becomes its last two parts; the full path is the cell's
    title."""
    if not path.startswith("/") and ":" not in path[:3]:
        return path
    parts = path.replace("\\", "/").rstrip("/").split("/")
    return "…/" + "/".join(parts[-2:]) if len(parts) > 2 else path


def _io_text(doc: Mapping[str, Any]) -> str:
    ins = ", ".join(fmt.shape(s) for s in doc["inputs"])
    outs = ", ".join(fmt.shape(s) for s in doc["outputs"])
    return f"{ins} → {outs}"


# --------------------------------------------------------------------------- charts


def _label(r: Mapping[str, Any]) -> str:
    return f"{r['path'] or '(root)'} ({r['type']})"


def figures(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The plotly figures of the page, each ``{"id", "title", "data", "layout"}``; only the
    ones whose data exists (roofline when profiled, ERF when computed)."""
    layers = _in_execution_order(doc)
    out: list[dict[str, Any]] = []
    if layers:
        out.append(_cost_figure(layers))
    rf_fig = _rf_figure(layers, doc)
    if rf_fig is not None:
        out.append(rf_fig)
    out.append(_mixing_figure(doc))
    roof = _roofline_figure(layers, doc.get("profile"))
    if roof is not None:
        out.append(roof)
    erf = doc.get("erf")
    if erf:
        out.append(_erf_figure(erf))
    return out


def _in_execution_order(doc: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The layers in the order they ran (``execution_order``), else in table order."""
    layers = list(doc["layers"])
    order = doc.get("execution_order")
    if not order:
        return layers
    by_path = {r["path"]: r for r in layers}
    ordered = [by_path[p] for p in order if p in by_path]
    seen = set(order)
    return ordered + [r for r in layers if r["path"] not in seen]


def _base_layout(title: str, **extra: Any) -> dict[str, Any]:
    layout: dict[str, Any] = {
        "title": {"text": title, "x": 0.01, "font": {"size": 15}},
        "margin": {"l": 60, "r": 20, "t": 40, "b": 40},
        "hovermode": "closest",
        "legend": {"orientation": "h", "y": -0.15},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "#fafafa",
        "font": {"family": "system-ui, sans-serif", "size": 12},
    }
    layout.update(extra)
    return layout


def _cost_figure(layers: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    x = list(range(len(layers)))
    names = [_label(r) for r in layers]
    metrics: list[tuple[str, list[Any], str, str]] = [
        ("MACs", [r["macs"] for r in layers], "#4c78a8", "%{y:,}"),
        ("params", [r["params"] for r in layers], "#f58518", "%{y:,}"),
        (
            "traffic (bytes)",
            [r["bytes_read"] + r["bytes_written"] for r in layers],
            "#54a24b",
            "%{y:,}",
        ),
    ]
    latency = [(r.get("profile") or {}).get("median_ms") for r in layers]
    if any(v is not None for v in latency):
        metrics.append(("median self ms", latency, "#b279a2", "%{y:.3f} ms"))
    data = []
    gap = 0.06
    n = len(metrics)
    height = (1.0 - (n - 1) * gap) / n
    layout = _base_layout(
        "MACs, parameters, memory traffic" + (" and latency" if n == 4 else "") + " per layer",
        height=560 if n == 3 else 700,
        showlegend=False,
        bargap=0.1,
    )
    for i, (label, values, color, number) in enumerate(metrics):
        axis = "" if i == 0 else str(i + 1)
        data.append(
            {
                "type": "bar",
                "name": label,
                "x": x,
                "y": values,
                "hovertext": names,
                "marker": {"color": color},
                "xaxis": "x",
                "yaxis": f"y{axis}",
                "hovertemplate": f"%{{hovertext}}<br>{label}: {number}<extra></extra>",
            }
        )
        top = 1.0 - i * (height + gap)
        layout[f"yaxis{axis}"] = {
            "domain": [max(0.0, top - height), top],
            "title": {"text": label},
            "rangemode": "tozero",
        }
    layout["xaxis"] = {"title": {"text": "layer (execution order)"}, "anchor": f"y{n}"}
    return {"id": "fig-cost", "title": "Cost per layer", "data": data, "layout": layout}


def _rf_figure(
    layers: Sequence[Mapping[str, Any]], doc: Mapping[str, Any]
) -> dict[str, Any] | None:
    timeline = doc.get("rf_timeline")
    if timeline:
        # One point per call: a shared module (U-Net's pool) shows each call's own RF.
        types = {r["path"]: r["type"] for r in layers}
        points = [
            (
                f"{e['path'] or '(root)'} ({types.get(e['path'], '?')})"
                + (f" · call {e['call'] + 1}/{e['calls']}" if e["calls"] > 1 else ""),
                max(e["size"]),
                max(e["min_size"]),
            )
            for e in timeline
        ]
    else:
        points = [
            (_label(r), max(r["rf"]["size"]), max(r["rf"]["min_size"]))
            for r in layers
            if r.get("rf")
        ]
    if not points:
        return None
    x = list(range(len(points)))
    names = [p[0] for p in points]
    size = [p[1] for p in points]
    smallest = [p[2] for p in points]
    data: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": "RF (largest path)",
            "x": x,
            "y": size,
            "text": names,
            "line": {"shape": "hv", "color": "#4c78a8"},
            "hovertemplate": "%{text}<br>RF %{y:,.6~g} px<extra></extra>",
        },
        {
            "type": "scatter",
            "mode": "lines",
            "name": "RF (smallest path)",
            "x": x,
            "y": smallest,
            "text": names,
            "line": {"shape": "hv", "dash": "dot", "color": "#72b7b2"},
            "hovertemplate": "%{text}<br>smallest RF %{y:,.6~g} px<extra></extra>",
        },
    ]
    summary = doc.get("receptive_field") or {}
    side = max(summary.get("input_size") or [0]) or None
    if side:
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": f"input size ({side} px)",
                "x": [x[0], x[-1]],
                "y": [side, side],
                "line": {"dash": "dash", "color": "#e45756"},
                "hovertemplate": f"input size {side} px<extra></extra>",
            }
        )
    layout = _base_layout(
        "Receptive field growth with depth (one point per call)",
        height=380,
        xaxis={"title": {"text": "layer (execution order)"}},
        yaxis={"title": {"text": "receptive field (px, largest axis)"}, "rangemode": "tozero"},
    )
    return {"id": "fig-rf", "title": "Receptive field", "data": data, "layout": layout}


def _mixing_figure(doc: Mapping[str, Any]) -> dict[str, Any]:
    mixing = doc["mixing"]
    data = []
    for which, color in (("params", "#f58518"), ("macs", "#4c78a8")):
        table = mixing[which]
        total = sum(table.values()) or 1
        data.append(
            {
                "type": "bar",
                "name": "MACs" if which == "macs" else "params",
                "x": list(MIXING_CLASSES),
                "y": [round(100.0 * table.get(c, 0) / total, 3) for c in MIXING_CLASSES],
                "customdata": [table.get(c, 0) for c in MIXING_CLASSES],
                "marker": {"color": color},
                "hovertemplate": "%{x}: %{y:.1f}% (%{customdata:,})<extra>%{fullData.name}</extra>",
            }
        )
    layout = _base_layout(
        "Spatial vs channel mixing (share of the total)",
        height=320,
        barmode="group",
        yaxis={"title": {"text": "% of total"}, "range": [0, 100]},
    )
    return {"id": "fig-mixing", "title": "Mixing", "data": data, "layout": layout}


def _roofline_figure(
    layers: Sequence[Mapping[str, Any]], profile: Mapping[str, Any] | None
) -> dict[str, Any] | None:
    if not profile:
        return None
    points = []
    for r in layers:
        p = r.get("profile") or {}
        ms = p.get("median_ms")
        work = 2 * r["macs"] + r["other_flops"]
        if ms and ms > 0 and work > 0 and r["intensity"] > 0:
            points.append((r["intensity"], work / (ms / 1e3), _label(r), ms))
    if not points:
        return None
    data: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "mode": "markers",
            "name": "layers (measured)",
            "x": [p[0] for p in points],
            "y": [p[1] for p in points],
            "text": [p[2] for p in points],
            "customdata": [p[3] for p in points],
            "marker": {"size": 8, "color": "#4c78a8", "opacity": 0.8},
            "hovertemplate": "%{text}<br>%{x:.2f} FLOP/B<br>%{y:.3s}FLOP/s<br>"
            "median %{customdata:.3f} ms<extra></extra>",
        }
    ]
    roof = profile.get("roofline")
    if roof and roof.get("peak_flops") and roof.get("bandwidth"):
        lo = min(p[0] for p in points) / 2
        hi = max(max(p[0] for p in points) * 2, roof["ridge_point"] * 4)
        xs = [lo, roof["ridge_point"], hi]
        ys = [min(roof["peak_flops"], roof["bandwidth"] * v) for v in xs]
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": f"roofline ({roof['target']})",
                "x": xs,
                "y": ys,
                "line": {"color": "#e45756"},
                "hovertemplate": "roofline %{y:.3s}FLOP/s at %{x:.2f} FLOP/B<extra></extra>",
            }
        )
    layout = _base_layout(
        "Roofline: achieved FLOP/s vs arithmetic intensity",
        height=420,
        xaxis={"type": "log", "title": {"text": "arithmetic intensity (FLOP/byte)"}},
        yaxis={"type": "log", "title": {"text": "achieved FLOP/s"}},
    )
    return {"id": "fig-roofline", "title": "Roofline", "data": data, "layout": layout}


def _erf_figure(erf: Mapping[str, Any]) -> dict[str, Any]:
    stride = int(erf.get("map_stride") or 1)
    z = erf["map"]
    rows = len(z)
    cols = len(z[0]) if z else 0
    data = [
        {
            "type": "heatmap",
            "z": z,
            "x": [c * stride for c in range(cols)],
            "y": [r * stride for r in range(rows)],
            "colorscale": "Viridis",
            "name": erf["layer"] or "(root)",
            "hovertemplate": f"{erf['layer'] or '(root)'}<br>input (%{{y}}, %{{x}})"
            "<br>|grad| %{z:.3f}<extra></extra>",
        }
    ]
    sides = ", ".join(f"{float(k):.0%} within {v}×{v}" for k, v in erf["sides"].items())
    layout = _base_layout(
        f"Effective receptive field of {erf['layer'] or '(root)'} ({sides} px)",
        height=460,
        xaxis={"title": {"text": "input x (px)"}, "constrain": "domain"},
        yaxis={"title": {"text": "input y (px)"}, "autorange": "reversed", "scaleanchor": "x"},
    )
    return {"id": "fig-erf", "title": "Effective receptive field", "data": data, "layout": layout}


# --------------------------------------------------------------------------- rule docs

_INLINE_CODE = re.compile(r"`([^`]+)`")
_BOLD = re.compile(r"\*\*([^*]+)\*\*")
_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")


def _inline(text: str) -> str:
    out = html.escape(text, quote=False)
    out = _INLINE_CODE.sub(lambda m: f"<code>{m.group(1)}</code>", out)
    out = _BOLD.sub(r"<strong>\1</strong>", out)
    # Links become plain text with the address in parentheses: the page stays offline.
    return _LINK.sub(lambda m: f"{m.group(1)} ({m.group(2)})", out)


_SEPARATOR_ROW = re.compile(r"^\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?$")


def _cells(line: str) -> list[str]:
    inner = line.strip().removeprefix("|").removesuffix("|")
    return [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", inner)]


def _table(lines: list[str]) -> str:
    head, *body = lines
    body = [row for row in body if not _SEPARATOR_ROW.match(row.strip())]
    th = "".join(f"<th>{_inline(c)}</th>" for c in _cells(head))
    rows = "".join(
        "<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in _cells(r)) + "</tr>" for r in body
    )
    return f"<table class=doc-table><thead><tr>{th}</tr></thead><tbody>{rows}</tbody></table>"


def markdown_to_html(text: str) -> str:
    """The small Markdown subset of the rule READMEs (headings, paragraphs, lists, tables,
    fenced code, inline code, bold) as HTML. Anything else shows as text; nothing is
    fetched."""
    out: list[str] = []
    para: list[str] = []
    items: list[str] = []
    rows: list[str] = []
    code: list[str] | None = None

    def flush() -> None:
        if rows:
            out.append(_table(rows))
            rows.clear()
        if para:
            out.append(f"<p>{_inline(' '.join(para))}</p>")
            para.clear()
        if items:
            out.append("<ul>" + "".join(f"<li>{_inline(i)}</li>" for i in items) + "</ul>")
            items.clear()

    for line in text.splitlines():
        if code is not None:
            if line.strip().startswith("```"):
                out.append(f"<pre><code>{html.escape(chr(10).join(code))}</code></pre>")
                code = None
            else:
                code.append(line)
            continue
        stripped = line.strip()
        if stripped.startswith("|"):
            if not rows:
                flush()
            rows.append(stripped)
            continue
        if rows:
            flush()
        if stripped.startswith("```"):
            flush()
            code = []
        elif stripped.startswith("#"):
            flush()
            level = min(len(stripped) - len(stripped.lstrip("#")) + 2, 6)
            out.append(f"<h{level}>{_inline(stripped.lstrip('#').strip())}</h{level}>")
        elif stripped.startswith(("- ", "* ")):
            if para:
                flush()
            items.append(stripped[2:])
        elif not stripped:
            flush()
        elif items and line.startswith((" ", "\t")):
            items[-1] += " " + stripped
        else:
            if items:
                flush()
            para.append(stripped)
    if code is not None:
        out.append(f"<pre><code>{html.escape(chr(10).join(code))}</code></pre>")
    flush()
    return "\n".join(out)
