"""The default ``analyze`` output: a rich per-layer table and a summary panel."""

from __future__ import annotations

import io
from collections.abc import Sequence

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from convscope.analysis.build import Analysis, LayerRow, fold
from convscope.ir import graph as ir
from convscope.render import fmt


def _rf_cell(a: Analysis, path: str) -> str:
    section = a.extras.get("receptive_field")
    if section is None:
        return ""
    d = section.layer_dict(path)
    if not d:
        return "—"
    size = "×".join(str(s) for s in d["size"])
    stride = "×".join(str(s) for s in d["stride"])
    return f"{size} /{stride}"


def _missing_ancestors(path: str, shown: set[str]) -> list[str]:
    """Parent paths not yet printed, outermost first, so the tree reads like print(model).
    They are shown as headers without numbers: the numbered rows alone sum to the total."""
    parts = path.split(".") if path else []
    out = []
    for i in range(1, len(parts)):
        prefix = ".".join(parts[:i])
        if prefix not in shown:
            shown.add(prefix)
            out.append(prefix)
    return out


def layer_table(a: Analysis, rows: Sequence[LayerRow], show_rf: bool) -> Table:
    t = Table(
        title=f"convscope · {a.model}",
        title_justify="left",
        header_style="bold",
        show_footer=True,
        expand=False,
        pad_edge=False,
    )
    total = a.totals
    t.add_column("Layer", footer="Total", no_wrap=True)
    t.add_column("Type", style="cyan", no_wrap=True)
    t.add_column("Output", no_wrap=True)
    t.add_column("Params", justify="right", footer=fmt.count(total.params))
    t.add_column("MACs", justify="right", footer=fmt.count(total.macs))
    t.add_column("Act.", justify="right", footer=fmt.nbytes(total.activation_bytes))
    t.add_column("Traffic", justify="right", footer=fmt.nbytes(total.traffic))
    t.add_column("FLOP/B", justify="right", footer=fmt.ratio(total.intensity))
    t.add_column("Mix", no_wrap=True)
    if show_rf:
        t.add_column("RF /stride", justify="right", no_wrap=True)
    shown: set[str] = {""}
    for r in rows:
        for header in _missing_ancestors(r.path, shown):
            label = "  " * (header.count(".")) + header.rsplit(".", 1)[-1]
            module = a.graph.module.get(header)
            t.add_row(
                Text(label, style="dim"), Text(module.type_name if module else "", style="dim")
            )
        shown.add(r.path)
        name = Text(
            "  " * max(r.depth - 1, 0) + (r.path.rsplit(".", 1)[-1] if r.path else "(root)")
        )
        if r.unknown_ops:
            name.append(" ?", style="bold yellow")
        cells = [
            name,
            r.type_name,
            fmt.shape(r.output_shape),
            fmt.count(r.params),
            fmt.count(r.macs),
            fmt.nbytes(r.activation_bytes),
            fmt.nbytes(r.traffic),
            fmt.ratio(r.intensity),
            "" if r.mixing is ir.MixingClass.OTHER else r.mixing.value,
        ]
        if show_rf:
            cells.append(_rf_cell(a, r.path))
        t.add_row(*cells)
    return t


def summary_panel(a: Analysis) -> Panel:
    t = a.totals
    lines = [
        f"[bold]Params[/]  {t.params:,} ({fmt.count(t.params)}; trainable {t.trainable_params:,}, "
        f"frozen {t.frozen_params:,}; buffers {t.buffers:,})",
        f"[bold]MACs[/]    {t.macs:,} ({fmt.count(t.macs)} MACs = {fmt.count(t.flops)} FLOPs); "
        f"norm/pool/activation/elementwise {fmt.count(t.other_flops)} FLOPs, counted apart",
        f"[bold]Memory[/]  weights {fmt.nbytes(t.param_bytes)}, peak activations "
        f"{fmt.nbytes(t.peak_activation_bytes)}, traffic {fmt.nbytes(t.traffic)} "
        f"(fused conv+norm+act {fmt.nbytes(t.fused_traffic_bytes)})"
        + (f" at {a.dtype}" if a.dtype else ""),
        "[bold]Mixing[/]  "
        + ", ".join(
            f"{c.value} {fmt.percent(a.mixing.share('macs', c))} MACs / "
            f"{fmt.percent(a.mixing.share('params', c))} params"
            for c in (ir.MixingClass.SPATIAL, ir.MixingClass.CHANNEL, ir.MixingClass.BOTH)
        ),
        f"[bold]Inputs[/]  {', '.join(fmt.shape(s) for s in a.input_shapes)} → outputs "
        f"{', '.join(fmt.shape(s) for s in a.output_shapes)}",
    ]
    if a.graph.mode == "meta":
        lines.append("[bold]Trace[/]   meta tensors (no weights or activations allocated)")
    else:
        lines.append(
            "[bold]Trace[/]   [yellow]real CPU tensors[/]: "
            + (a.graph.fallback_reason or "requested")
        )
    section = a.extras.get("receptive_field")
    if section is not None:
        lines.append(f"[bold]RF[/]      {section.summary_text()}")
    if a.unknown:
        lines.append(
            "[bold yellow]Unsupported ops (not counted, see --strict)[/]: "
            + "; ".join(
                f"{u.op} ×{u.count} in {', '.join(u.layers[:3])}"
                + ("…" if len(u.layers) > 3 else "")
                for u in a.unknown
            )
        )
    if a.data_dependent:
        lines.append(
            "[bold]Data-dependent ops[/] (priced from this run's sizes): "
            + "; ".join(f"{u.op} ×{u.count}" for u in a.data_dependent)
        )
    return Panel("\n".join(lines), title="Summary", title_align="left", expand=False)


def render(a: Analysis, *, depth: int | None = None, show_rf: bool = False) -> Group:
    rows = fold(a.rows, depth, a.graph) if depth is not None else a.rows
    return Group(layer_table(a, rows, show_rf), summary_panel(a))


def to_text(
    a: Analysis, *, depth: int | None = None, show_rf: bool = False, width: int = 160
) -> str:
    """Plain text (no colour), as written by ``--format table -o FILE``."""
    console = Console(
        width=width, record=True, color_system=None, force_terminal=False, file=io.StringIO()
    )
    console.print(render(a, depth=depth, show_rf=show_rf))
    return console.export_text()
