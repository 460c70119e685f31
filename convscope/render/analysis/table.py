"""The default ``analyze`` output: a rich per-layer table and a summary panel."""

from __future__ import annotations

import io
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

from rich import box
from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.markup import escape
from rich.measure import Measurement
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from convscope import fmt
from convscope.analysis.build import Analysis, LayerRow, fold
from convscope.ir import graph as ir
from convscope.passes.keys import RECEPTIVE_FIELD
from convscope.render.analysis import tree
from convscope.targets.keys import LATENCY


def _rf_cell(a: Analysis, path: str) -> str:
    section = a.section(RECEPTIVE_FIELD)
    if section is None:
        return ""
    d = section.layer_dict(path)
    if not d:
        return "—"
    size = "×".join(str(s) for s in d["size"])
    stride = "×".join(str(s) for s in d["stride"])
    return f"{size} /{stride}"


def _predicted_cell(a: Analysis, r: LayerRow) -> str:
    section = a.section(LATENCY)
    return "" if section is None else fmt.ms(section.nodes_ms(r.nodes))


def _predicted_total(a: Analysis) -> str:
    section = a.section(LATENCY)
    return "" if section is None else fmt.ms(section.kernel_ms)


@dataclass(frozen=True)
class _Column:
    header: str
    numeric: bool
    footer: Callable[[Analysis], str]
    cell: Callable[[Analysis, LayerRow], str]


def _mix(r: LayerRow) -> str:
    return "" if r.mixing is ir.MixingClass.OTHER else r.mixing.value


# Full table, left to right. Layer is always shown.
_COLUMNS: dict[str, _Column] = {
    "Type": _Column("Type", False, lambda a: "", lambda a, r: r.type_name),
    "Output": _Column("Output", False, lambda a: "", lambda a, r: fmt.shape(r.output_shape)),
    "Params": _Column(
        "Params", True, lambda a: fmt.count(a.totals.params), lambda a, r: fmt.count(r.params)
    ),
    "MACs": _Column(
        "MACs", True, lambda a: fmt.count(a.totals.macs), lambda a, r: fmt.count(r.macs)
    ),
    "Act.": _Column(
        "Act.",
        True,
        lambda a: fmt.nbytes(a.totals.activation_bytes),
        lambda a, r: fmt.nbytes(r.activation_bytes),
    ),
    "Traffic": _Column(
        "Traffic",
        True,
        lambda a: fmt.nbytes(a.totals.traffic),
        lambda a, r: fmt.nbytes(r.traffic),
    ),
    "FLOP/B": _Column(
        "FLOP/B",
        True,
        lambda a: fmt.ratio(a.totals.intensity),
        lambda a, r: fmt.ratio(r.intensity),
    ),
    "Mix": _Column("Mix", False, lambda a: "", lambda a, r: _mix(r)),
    "RF /stride": _Column("RF /stride", True, lambda a: "", lambda a, r: _rf_cell(a, r.path)),
    # Shown with a LATENCY section (analyze --target with a kernel model).
    "Pred. ms": _Column("Pred. ms", True, _predicted_total, _predicted_cell),
}
# When the table is wider than the console, columns are hidden in this order, least needed
# first: Mix is in the summary, FLOP/B follows from MACs and Traffic, the layer name usually
# says the type. Params and MACs are never hidden.
DROP_ORDER = ("Mix", "FLOP/B", "Type", "Traffic", "Output", "RF /stride", "Act.", "Pred. ms")


def layer_table(
    a: Analysis,
    rows: Sequence[LayerRow],
    show_rf: bool,
    *,
    hidden: Collection[str] = (),
    compact: bool = False,
    layer_width: int | None = None,
) -> Table:
    """The per-layer table; ``compact`` drops the vertical rules and cell padding (one space
    between columns), ``layer_width`` cuts long layer names with an ellipsis."""
    t = Table(
        title=f"convscope · {a.model}",
        title_justify="left",
        header_style="bold",
        show_footer=True,
        expand=False,
        pad_edge=False,
        box=box.SIMPLE if compact else box.HEAVY_HEAD,
        padding=(0, 0) if compact else (0, 1),
        show_edge=not compact,
    )
    names = [
        k
        for k in _COLUMNS
        if k not in hidden
        and (show_rf or k != "RF /stride")
        and (k != "Pred. ms" or a.section(LATENCY) is not None)
    ]
    t.add_column("Layer", footer="Total", no_wrap=True, overflow="ellipsis", width=layer_width)
    for key in names:
        col = _COLUMNS[key]
        t.add_column(
            col.header,
            footer=col.footer(a),
            justify="right" if col.numeric else "left",
            no_wrap=True,
            style="cyan" if key == "Type" else None,
        )
    shown: set[str] = {""}
    for r in rows:
        for header in tree.missing_ancestors(r.path, shown):
            module = a.graph.module.get(header)
            cells: list[Text | str] = [
                Text("  " * tree.indent(header) + tree.label(header), style="dim")
            ]
            if "Type" in names:
                cells.append(Text(module.type_name if module else "", style="dim"))
            t.add_row(*cells)
        shown.add(r.path)
        name = Text("  " * tree.indent(r.path) + tree.label(r.path))
        if r.calls > 1:  # a module run several times: its numbers sum the calls
            name.append(f" ×{r.calls}", style="dim")
        if r.unknown_ops:
            name.append(" ?", style="bold yellow")
        t.add_row(name, *(_COLUMNS[k].cell(a, r) for k in names))
    if any(r.calls > 1 for r in rows):
        t.caption = "×N: a module run N times; its row sums the N calls"
    return t


class AdaptiveTable:
    """The layer table at the console's width: the full table when it fits; otherwise the
    compact style, then columns hidden in :data:`DROP_ORDER` until it fits, with a note
    naming them; as a last resort long layer names are cut. Numbers are never cut."""

    def __init__(self, a: Analysis, rows: Sequence[LayerRow], show_rf: bool) -> None:
        self.a, self.rows, self.show_rf = a, rows, show_rf

    def _width(self, console: Console, options: ConsoleOptions, table: Table) -> int:
        return Measurement.get(console, options.update(width=10_000), table).maximum

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        full = layer_table(self.a, self.rows, self.show_rf)
        if self._width(console, options, full) <= width:
            yield full
            return
        drops = [
            k
            for k in DROP_ORDER
            if (self.show_rf or k != "RF /stride")
            and (k != "Pred. ms" or self.a.section(LATENCY) is not None)
        ]
        hidden: list[str] = []
        table = layer_table(self.a, self.rows, self.show_rf, compact=True)
        while self._width(console, options, table) > width and drops:
            hidden.append(drops.pop(0))
            table = layer_table(self.a, self.rows, self.show_rf, hidden=hidden, compact=True)
        over = self._width(console, options, table) - width
        if over > 0:
            layer = max(cell_len(c) for c in self._layer_cells(table))
            table = layer_table(
                self.a,
                self.rows,
                self.show_rf,
                hidden=hidden,
                compact=True,
                layer_width=max(layer - over, 6),
            )
        yield table
        if hidden:
            listed = ", ".join(k for k in _COLUMNS if k in hidden)
            yield Text(
                f"{listed} hidden at {width} columns; a wider terminal, a pipe or -o FILE "
                "shows all",
                style="dim",
            )

    @staticmethod
    def _layer_cells(table: Table) -> list[str]:
        return [str(c) for c in table.columns[0].cells]


def summary_panel(a: Analysis) -> Panel:
    t = a.totals
    lines = [
        f"[bold]Params[/]\t{t.params:,} ({fmt.count(t.params)}; trainable {t.trainable_params:,}, "
        f"frozen {t.frozen_params:,}; buffers {t.buffers:,})",
        f"[bold]MACs[/]\t{t.macs:,} ({fmt.count(t.macs)} MACs = {fmt.count(t.flops)} FLOPs); "
        f"norm/pool/activation/elementwise {fmt.count(t.other_flops)} FLOPs, counted apart",
        f"[bold]Memory[/]\tweights {fmt.nbytes(t.param_bytes)}, peak activations "
        f"{fmt.nbytes(t.peak_activation_bytes)}, traffic {fmt.nbytes(t.traffic)} "
        f"(fused conv+norm+act {fmt.nbytes(t.fused_traffic_bytes)})"
        + (f" at {a.dtype}" if a.dtype else ""),
        "[bold]Mixing[/]\t"
        + ", ".join(
            f"{c.value} {fmt.percent(a.mixing.share('macs', c))} MACs / "
            f"{fmt.percent(a.mixing.share('params', c))} params"
            for c in (ir.MixingClass.SPATIAL, ir.MixingClass.CHANNEL, ir.MixingClass.BOTH)
        ),
        f"[bold]Inputs[/]\t{', '.join(fmt.shape(s) for s in a.input_shapes)} → outputs "
        f"{', '.join(fmt.shape(s) for s in a.output_shapes)}",
    ]
    if a.graph.mode == "meta":
        lines.append("[bold]Trace[/]\tmeta tensors (no weights or activations allocated)")
    else:
        lines.append(
            "[bold]Trace[/]\t[yellow]real CPU tensors[/]: "
            + escape(a.graph.fallback_reason or "requested")
        )
    section = a.section(RECEPTIVE_FIELD)
    if section is not None:
        lines.append(f"[bold]RF[/]\t{escape(section.summary_text())}")
    predicted = a.section(LATENCY)
    if predicted is not None:
        lines.append(f"[bold]Latency[/]\t{escape(predicted.summary_text())}")
        if predicted.approximated:
            lines.append(
                "[bold]Stand-ins[/]\tops priced by another kernel family: "
                + "; ".join(f"{x.op} ×{x.count} as {x.family}" for x in predicted.approximated)
            )
    if a.unknown:
        lines.append(
            "[bold yellow]Unknown[/]\tops with no cost formula, not counted (--strict fails): "
            + "; ".join(
                f"{u.op} ×{u.count} in {', '.join(u.layers[:3])}"
                + ("…" if len(u.layers) > 3 else "")
                for u in a.unknown
            )
        )
    if a.data_dependent:
        lines.append(
            "[bold]Data-dependent ops[/]\t(priced from this run's sizes) "
            + "; ".join(f"{u.op} ×{u.count}" for u in a.data_dependent)
        )
    # A grid, so a long value wraps under itself and the labels stay in their own column.
    grid = Table.grid(padding=(0, 2))
    grid.add_column(no_wrap=True)
    grid.add_column()
    for line in lines:
        label, value = line.split("\t", 1)
        grid.add_row(Text.from_markup(label), Text.from_markup(value))
    return Panel(grid, title="Summary", title_align="left", expand=False)


def render(a: Analysis, *, depth: int | None = None, show_rf: bool = False) -> Group:
    rows = fold(a.rows, depth, a.graph) if depth is not None else a.rows
    return Group(AdaptiveTable(a, rows, show_rf), summary_panel(a))


def to_text(
    a: Analysis, *, depth: int | None = None, show_rf: bool = False, width: int = 160
) -> str:
    """Plain text (no colour), as written by ``--format table -o FILE``."""
    console = Console(
        width=width, record=True, color_system=None, force_terminal=False, file=io.StringIO()
    )
    console.print(render(a, depth=depth, show_rf=show_rf))
    return console.export_text()
