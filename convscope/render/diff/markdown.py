"""``convscope diff --format markdown``: a PR comment.

A totals table (base, head, Δ, Δ% and ✅/❌ for every gated metric), the verdict, then the
per-layer changes folded in ``<details>``. The plain cell formatters here are shared with
:mod:`convscope.render.diff.text`, so both formats show the same figures.
"""

from __future__ import annotations

from collections.abc import Sequence

from convscope.diff.gate import GateResult
from convscope.diff.metrics import LATENCY, PREDICTED_LATENCY, Number, Unit
from convscope.diff.result import Diff, FieldDelta, LatencyStats, LayerDelta, MetricDelta
from convscope.fmt import duration, human, ms
from convscope.render.markdown_limit import BUDGET, cap, fit_rows, more_line

MAX_LAYERS = 200  # rows shown in the per-layer table; the rest are counted

# ------------------------------------------------------------------------------ cells


def value(x: Number | None, unit: Unit) -> str:
    """A metric value: ``11.7M``, ``1.5 MiB``, ``435``, ``12.3 ms``; ``—`` when missing."""
    if x is None:
        return "—"
    if x == 0:
        return "0"
    if unit == "bytes":
        return human(x, "B", 1024)
    if unit == "px":
        return f"{x:g}"
    if unit == "ms":
        return duration(x)
    return human(x)


def delta(d: Number | None, unit: Unit) -> str:
    """A signed difference: ``+1.2M``, ``-64 KiB``, ``0``."""
    if d is None:
        return "—"
    if d == 0:
        return "0"
    sign = "+" if d > 0 else "-"
    return sign + value(abs(d), unit)


def percent(rel: float | None, d: Number | None) -> str:
    """A relative change: ``+4.4%``, ``-0.03%``; ``new`` when base was 0."""
    if d is None:
        return "—"
    if rel is None:
        return "0%" if d == 0 else "new"
    p = 100 * rel
    if p == 0:
        return "0%"
    if abs(p) < 0.1:
        return f"{p:+.1g}%"
    return f"{p:+.1f}%"


def latency_cell(s: LatencyStats) -> str:
    """``12.3 ms (p10–p90 11.9–12.8)``."""
    return f"{duration(s.median_ms)} (p10–p90 {ms(s.p10_ms)}–{ms(s.p90_ms)})"


def gate_text(results: Sequence[GateResult], passed: str, failed: str) -> str:
    """``✅ ≤ +5%`` / ``❌ > +5%`` for a metric's thresholds; empty when not gated."""
    parts = []
    for r in results:
        mark = failed if r.exceeded else passed
        note = f" ({_VERDICTS.get(r.verdict, r.verdict)})" if r.verdict else ""
        parts.append(f"{mark} {r.threshold.compare_text(r.exceeded)}{note}")
    return ", ".join(parts)


_VERDICTS = {"unchanged": "within noise"}


def gated(results: Sequence[GateResult], metric: str) -> list[GateResult]:
    return [r for r in results if r.metric == metric]


def shown_totals(diff: Diff, results: Sequence[GateResult]) -> list[MetricDelta]:
    """Primary metrics present on either side, plus any other metric that is gated."""
    names = {r.metric for r in results}
    return [
        t
        for t in diff.totals
        if (t.metric.primary and (t.base is not None or t.head is not None)) or t.name in names
    ]


def verdict(results: Sequence[GateResult]) -> str:
    """One sentence: how many thresholds were exceeded, and which."""
    if not results:
        return "no thresholds given (--fail-on)"
    bad = [r for r in results if r.exceeded]
    n = len(results)
    if not bad:
        return f"all {n} threshold{'s' if n != 1 else ''} met"
    listed = "; ".join(f"{r.metric}: {r.detail}" for r in bad)
    return f"{len(bad)} of {n} threshold{'s' if n != 1 else ''} exceeded ({listed})"


def layer_name(path: str) -> str:
    return path or "(model)"


_FIELD_UNITS: dict[str, Unit] = {
    "params": "count",
    "macs": "count",
    "flops": "count",
    "activation_bytes": "bytes",
    "traffic_bytes": "bytes",
}


def field_cell(f: FieldDelta) -> str:
    """``36.9K → 73.7K (+36.9K)`` when changed, else the value; one side for added/removed."""
    if f.name == "type":
        return (
            _plain(f.base)
            if not f.changed or f.head is None
            else (_plain(f.head) if f.base is None else f"{f.base} → {f.head}")
        )
    if f.name == "output_shape":
        return _arrow(_shape(f.base), _shape(f.head), f)
    unit = _FIELD_UNITS[f.name]
    b = f.base if isinstance(f.base, int | float) else None
    h = f.head if isinstance(f.head, int | float) else None
    if not f.changed:
        return value(b, unit)
    if f.base is None:
        return value(h, unit)
    if f.head is None:
        return value(b, unit)
    return f"{value(b, unit)} → {value(h, unit)} ({delta(f.delta, unit)})"


def _arrow(b: str, h: str, f: FieldDelta) -> str:
    if not f.changed or f.head is None:
        return b
    if f.base is None:
        return h
    return f"{b} → {h}"


def _shape(v: object) -> str:
    return "×".join(str(d) for d in v) if isinstance(v, tuple) else "—"


def _plain(v: object) -> str:
    return "—" if v is None else str(v)


LAYER_COLUMNS: tuple[tuple[str, str], ...] = (
    ("Params", "params"),
    ("MACs", "macs"),
    ("Traffic", "traffic_bytes"),
    ("Output", "output_shape"),
)


def change_cell(layer: LayerDelta) -> str:
    """``added`` / ``removed`` / ``changed``, naming changed fields that have no column."""
    if layer.status != "changed":
        return layer.status
    shown = {"type", *(key for _, key in LAYER_COLUMNS)}
    if any(f.name in shown for f in layer.changed_fields):
        return "changed"
    return f"changed ({', '.join(f.name for f in layer.changed_fields)})"


def layer_row(layer: LayerDelta) -> list[str]:
    """Cells after Layer / Change: the type, then :data:`LAYER_COLUMNS`."""
    return [field_cell(layer.field("type"))] + [
        field_cell(layer.field(key)) for _, key in LAYER_COLUMNS
    ]


def side_line(diff: Diff) -> str:
    def one(label: str, model: str, inputs: tuple[tuple[int, ...], ...]) -> str:
        shapes = ", ".join("×".join(str(d) for d in s) for s in inputs)
        name = label if label == model else f"{label} ({model})"
        return f"{name}, input {shapes}" if shapes else name

    return (
        f"base {one(diff.base.label, diff.base.model, diff.base.inputs)} → "
        f"head {one(diff.head.label, diff.head.model, diff.head.inputs)}"
    )


def layer_summary(diff: Diff) -> str:
    return (
        f"{diff.count('changed')} changed, {diff.count('added')} added, "
        f"{diff.count('removed')} removed, {diff.unchanged_layers} unchanged"
    )


# ------------------------------------------------------------------------------ markdown


def _esc(text: str) -> str:
    return text.replace("|", "\\|")


def _code(text: str) -> str:
    return f"`{text}`" if "`" not in text else _esc(text)


def render(diff: Diff, results: Sequence[GateResult] = (), *, max_layers: int = MAX_LAYERS) -> str:
    """The Markdown document (ends with a newline)."""
    failed = any(r.exceeded for r in results)
    mark = "❌" if failed else "✅"
    lines = [
        f"### {mark} convscope diff: {_code(diff.base.label)} → {_code(diff.head.label)}",
        "",
        _esc(side_line(diff)),
        "",
        "| Metric | Base | Head | Δ | Δ% | Gate |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for t in shown_totals(diff, results):
        unit = t.metric.unit
        lines.append(
            f"| {t.name} | {value(t.base, unit)} | {value(t.head, unit)} "
            f"| {delta(t.delta, unit)} | {percent(t.relative, t.delta)} "
            f"| {gate_text(gated(results, t.name), '✅', '❌')} |"
        )
    lat = diff.latency
    if lat is not None:
        lines.append(
            f"| latency (batch {lat.batch_size}) | {latency_cell(lat.base)} "
            f"| {latency_cell(lat.head)} | {delta(lat.delta_ms, 'ms')} "
            f"| {percent(lat.relative, lat.delta_ms)} "
            f"| {gate_text(gated(results, LATENCY.name), '✅', '❌')} |"
        )
    pred = diff.predicted
    if pred is not None:
        gates = gated(results, PREDICTED_LATENCY.name)
        if lat is None:  # `latency` gates on the prediction when nothing was measured
            gates = gated(results, LATENCY.name) + gates
        lines.append(
            f"| predicted latency | {pred.base_ms:.4g} ms | {pred.head_ms:.4g} ms "
            f"| {delta(pred.delta_ms, 'ms')} | {percent(pred.relative, pred.delta_ms)} "
            f"| {gate_text(gates, '✅', '❌')} |"
        )
    lines += ["", f"**{mark} {verdict(results)}**"]
    for note in diff.notes:
        lines += ["", f"> note: {_esc(note)}"]
    lines += ["", f"<details><summary>Per-layer changes ({len(diff.layers)})</summary>", ""]
    if diff.layers:
        lines += [
            "| Layer | Change | Type | " + " | ".join(h for h, _ in LAYER_COLUMNS) + " |",
            "| --- | --- | --- | ---: | ---: | ---: | --- |",
        ]
        rows = []
        for layer in diff.layers[:max_layers]:
            cells = [
                _code(layer_name(layer.path)),
                change_cell(layer),
                *(_esc(c) for c in layer_row(layer)),
            ]
            rows.append("| " + " | ".join(cells) + " |")
        room = BUDGET - sum(len(line) + 1 for line in lines) - 300
        fitted = fit_rows(rows, room, "layers", _WHERE)
        lines += fitted
        hidden = len(diff.layers) - max_layers
        if hidden > 0 and len(fitted) == len(rows):
            lines += ["", more_line(hidden, "layers", _WHERE)]
        elif hidden > 0:  # fit_rows already counted the rows it cut
            lines[-1] = more_line(len(diff.layers) - len(fitted) + 2, "layers", _WHERE)
        lines.append("")
    lines += [f"{layer_summary(diff)}.", "", "</details>"]
    return cap("\n".join(lines) + "\n")


_WHERE = "`--format json` has every row"
