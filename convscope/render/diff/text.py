"""``convscope diff`` default output: a rich totals table and a table of changed layers."""

from __future__ import annotations

import io
from collections.abc import Sequence

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from convscope.diff.gate import GateResult
from convscope.diff.metrics import LATENCY, PREDICTED_LATENCY
from convscope.diff.result import Diff
from convscope.render.diff import markdown as cells

MAX_LAYERS = cells.MAX_LAYERS


def _delta_style(d: float | None) -> str:
    if d is None or d == 0:
        return ""
    return "red" if d > 0 else "green"


def totals_table(diff: Diff, results: Sequence[GateResult]) -> Table:
    t = Table(
        title=Text(f"convscope diff · {diff.base.label} → {diff.head.label}"),
        title_justify="left",
        header_style="bold",
        pad_edge=False,
    )
    for name, justify in (
        ("Metric", "left"),
        ("Base", "right"),
        ("Head", "right"),
        ("Δ", "right"),
        ("Δ%", "right"),
        ("Gate", "left"),
    ):
        t.add_column(name, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    for m in cells.shown_totals(diff, results):
        unit = m.metric.unit
        style = _delta_style(m.delta)
        t.add_row(
            m.name,
            cells.value(m.base, unit),
            cells.value(m.head, unit),  # no markup
            Text(cells.delta(m.delta, unit), style=style),
            Text(cells.percent(m.relative, m.delta), style=style),
            _gate(cells.gated(results, m.name)),
        )
    lat = diff.latency
    if lat is not None:
        style = {"regressed": "red", "improved": "green"}.get(lat.verdict, "")
        t.add_row(
            f"latency (batch {lat.batch_size})",
            cells.latency_cell(lat.base),
            cells.latency_cell(lat.head),
            Text(cells.delta(lat.delta_ms, "ms"), style=style),
            Text(cells.percent(lat.relative, lat.delta_ms), style=style),
            _gate(cells.gated(results, LATENCY.name)),
        )
    pred = diff.predicted
    if pred is not None:
        style = _delta_style(pred.delta_ms)
        gated = cells.gated(results, PREDICTED_LATENCY.name)
        if lat is None:  # `latency` gates on the prediction when nothing was measured
            gated = cells.gated(results, LATENCY.name) + gated
        t.add_row(
            "predicted latency",
            f"{pred.base_ms:.4g} ms",
            f"{pred.head_ms:.4g} ms",
            Text(cells.delta(pred.delta_ms, "ms"), style=style),
            Text(cells.percent(pred.relative, pred.delta_ms), style=style),
            _gate(gated),
        )
    return t


def _gate(results: Sequence[GateResult]) -> Text:
    text = cells.gate_text(results, "pass", "FAIL")
    return Text(text, style="bold red" if any(r.exceeded for r in results) else "green")


def layers_table(diff: Diff, max_layers: int = MAX_LAYERS) -> Table:
    t = Table(
        title=f"Per-layer changes ({len(diff.layers)}): {cells.layer_summary(diff)}",
        title_justify="left",
        header_style="bold",
        pad_edge=False,
    )
    t.add_column("Layer", no_wrap=True)
    t.add_column("Change", no_wrap=True)
    t.add_column("Type", style="cyan", no_wrap=True)
    for name, key in cells.LAYER_COLUMNS:
        t.add_column(name, justify="left" if key == "output_shape" else "right", no_wrap=True)
    styles = {"added": "green", "removed": "red", "changed": "yellow"}
    for layer in diff.layers[:max_layers]:
        t.add_row(
            Text(cells.layer_name(layer.path)),
            Text(cells.change_cell(layer), style=styles[layer.status]),
            *(Text(c) for c in cells.layer_row(layer)),
        )
    return t


def render(
    diff: Diff, results: Sequence[GateResult] = (), *, max_layers: int = MAX_LAYERS
) -> Group:
    failed = any(r.exceeded for r in results)
    parts: list[RenderableType] = [Text(cells.side_line(diff)), totals_table(diff, results)]
    parts.append(
        Text(
            ("FAIL: " if failed else "OK: ") + cells.verdict(results),
            style="bold red" if failed else "bold green",
        )
    )
    for note in diff.notes:
        parts.append(Text(f"note: {note}", style="yellow"))
    if diff.layers:
        parts.append(Text(""))
        parts.append(layers_table(diff, max_layers))
        hidden = len(diff.layers) - max_layers
        if hidden > 0:
            parts.append(Text(f"… and {hidden} more (see --format json)"))
    else:
        parts.append(Text(f"Layers: {cells.layer_summary(diff)}"))
    return Group(*parts)


def to_text(
    diff: Diff,
    results: Sequence[GateResult] = (),
    *,
    width: int = 160,
    max_layers: int = MAX_LAYERS,
) -> str:
    """Plain text (no colour), as written by ``--format text -o FILE`` or to a pipe."""
    console = Console(
        width=width, record=True, color_system=None, force_terminal=False, file=io.StringIO()
    )
    console.print(render(diff, results, max_layers=max_layers))
    return console.export_text()


def print_rich(diff: Diff, results: Sequence[GateResult] = ()) -> None:
    Console().print(render(diff, results))
