"""``convscope profile`` output: rich tables, plain text, and the progress bar.

Reads the ``extras["profile"]`` section (:class:`convscope.profiling.ProfileSection`) of an
analysis: end-to-end latency per batch size, the slowest layers (measured self time,
share of the end-to-end median, and roofline columns when a roofline was given), the
reconciliation line (Σ layers + unattributed remainder = end-to-end median), memory and
trace locations. :func:`calibration_table` shows ``--calibrate`` results.
"""

from __future__ import annotations

import io
import math
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from convscope.analysis.build import Analysis
from convscope.render import fmt

__all__ = ["calibration_table", "calibration_text", "progress_bar", "render", "to_text"]

DEFAULT_TOP = 20


def _ms(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    ms = seconds * 1e3
    if ms >= 100:
        return f"{ms:.1f}"
    if ms >= 1:
        return f"{ms:.2f}"
    if ms >= 0.01 or ms == 0:
        return f"{ms:.3f}"
    return f"{ms:.1e}"


def _frac(x: float | None) -> str:
    return "—" if x is None else fmt.percent(x)


def _rate(x: float, unit: str) -> str:
    return fmt.human(x, unit) if x else "—"


def _nbytes0(n: int) -> str:
    return fmt.nbytes(n) if n else "0 B"


def _mem_cell(memory: Any) -> str:
    if memory is None:
        return "—"
    if memory.method.startswith("cuda"):
        return f"+{_nbytes0(memory.growth_bytes)} CUDA alloc"
    lifetime = " (lifetime peak)" if memory.method == "rss-maxrss" else ""
    return f"+{_nbytes0(memory.growth_bytes)} RSS{lifetime}"


def batch_table(section: Any) -> Table:
    r = section.result
    t = Table(
        title="End to end",
        title_justify="left",
        header_style="bold",
        pad_edge=False,
    )
    for name in ("Batch", "Iters", "Median ms", "p10 ms", "p90 ms", "Spread", "Images/s", "Memory"):
        t.add_column(name, justify="left" if name == "Memory" else "right", no_wrap=True)
    for b in r.batches:
        s = b.stats
        t.add_row(
            str(b.batch_size),
            str(s.iters),
            _ms(s.median_s),
            _ms(s.p10_s),
            _ms(s.p90_s),
            fmt.percent(s.spread),
            f"{b.throughput:,.1f}",
            _mem_cell(b.memory),
        )
    return t


def layer_table(a: Analysis, section: Any, top: int) -> Table | None:
    times = section.result.layers
    roof = section.roofline
    if times is None and roof is None:
        return None
    measured = section.layer_seconds()
    e2e = section.result.e2e_median_s
    rows = list(a.rows)
    if measured:
        rows.sort(key=lambda r: (-measured.get(r.path, 0.0), r.path))
    elif roof is not None:
        rows.sort(key=lambda r: -(roof.layer(r.path).predicted_s if roof.layer(r.path) else 0))
    shown = rows[:top] if top > 0 else rows
    batch = times.batch_size if times is not None else section.result.batches[0].batch_size
    t = Table(
        title=f"Slowest layers (self time, batch {batch}"
        + (f", {times.iters} instrumented iterations" if times is not None else "")
        + ")"
        + (f" · roofline: {roof.params.name}" if roof is not None else ""),
        title_justify="left",
        header_style="bold",
        pad_edge=False,
    )
    t.add_column("Layer", no_wrap=True)
    t.add_column("Type", style="cyan", no_wrap=True)
    t.add_column("MACs", justify="right")
    t.add_column("FLOP/B", justify="right")
    if times is not None:
        t.add_column("Self ms", justify="right")
        t.add_column("Share", justify="right")
        t.add_column("p10–p90 ms", justify="right", no_wrap=True)
    if roof is not None:
        t.add_column("Pred. ms", justify="right")
        t.add_column("Bound", no_wrap=True)
        t.add_column("Achieved", justify="right")
    for r in shown:
        cells = [r.name, r.type_name, fmt.count(r.macs), fmt.ratio(r.intensity)]
        if times is not None:
            lt = times.get(r.path)
            cells += [
                _ms(lt.time_s) if lt else "—",
                fmt.percent(lt.time_s / e2e) if lt and e2e else "—",
                f"{_ms(lt.p10_s)}–{_ms(lt.p90_s)}" if lt else "—",
            ]
        if roof is not None:
            lr = roof.layer(r.path)
            style = {"memory": "yellow", "compute": "green"}.get(lr.bound if lr else "", "")
            cells += [
                _ms(lr.predicted_s) if lr else "—",
                f"[{style}]{lr.bound}[/]" if lr and style else (lr.bound if lr else "—"),
                _frac(lr.achieved) if lr else "—",
            ]
        t.add_row(*cells)
    if len(rows) > len(shown):
        t.caption = f"… {len(rows) - len(shown)} more layers (--top 0 shows all)"
        t.caption_justify = "left"
    return t


def summary_panel(a: Analysis, section: Any) -> Panel:
    r = section.result
    lines = []
    times = r.layers
    if times is not None:
        e2e = r.e2e_median_s
        total = section.layers_sum_s or 0.0
        rem = section.remainder_s or 0.0
        lines.append(
            f"[bold]Reconcile[/] Σ layers {_ms(total)} ms + unattributed {_ms(rem)} ms "
            f"({fmt.percent(rem / e2e) if e2e else '—'}) = end-to-end median {_ms(e2e)} ms "
            f"(batch {times.batch_size}); instrumented run {_ms(times.instrumented.median_s)} "
            f"ms ({times.method})"
        )
    analytic = section.analytic_peak_bytes
    first = r.batches[0].memory if r.batches else None
    mem = f"[bold]Memory[/]    analytic peak activations {fmt.nbytes(analytic or 0)}"
    if section.analytic_batch is not None:
        mem += f" (batch {section.analytic_batch})"
    if first is not None:
        if first.method.startswith("cuda"):
            mem += (
                f"; CUDA max allocated {fmt.nbytes(first.peak_bytes)} "
                f"(+{_nbytes0(first.growth_bytes)} during the run)"
            )
        else:
            mem += (
                f"; measured RSS growth +{_nbytes0(first.growth_bytes)} "
                f"(peak {fmt.nbytes(first.peak_bytes)}, {first.method})"
            )
    lines.append(mem)
    roof = section.roofline
    if roof is not None:
        p = roof.params
        lines.append(
            f"[bold]Roofline[/]  {p.name}: {_rate(p.peak_flops, 'FLOP/s')}, "
            f"{_rate(p.bandwidth, 'B/s')}, ridge {p.ridge_point:.1f} FLOP/B; predicted "
            f"{_ms(roof.predicted_s)} ms vs measured {_ms(roof.measured_s)} ms "
            f"(achieved {_frac(roof.achieved)}); memory-bound layers hold "
            f"{fmt.percent(roof.bound_share('memory'))} of predicted time"
            + (
                f", {fmt.percent(roof.bound_share('memory', measured=True))} of measured"
                if roof.measured_s
                else ""
            )
        )
        if p.source:
            lines.append(f"[dim]           source: {p.source}[/]")
    if r.channels_last:
        lines.append(
            f"[bold]Layout[/]    channels_last: first conv input "
            f"{r.conv_input_channels_last}, weight {r.conv_weight_channels_last}"
        )
    if r.trace is not None:
        tb = (
            "torch-tb-profiler installed"
            if r.trace.tb_plugin
            else "install the 'tensorboard' extra (torch-tb-profiler) to browse it"
        )
        lines.append(
            f"[bold]Traces[/]    {r.trace.chrome} (Perfetto / chrome://tracing, "
            f"{r.trace.layer_events} layer spans); TensorBoard: "
            f"{r.trace.tensorboard_dir} ({tb})"
        )
    lines.append(
        f"[dim]torch {r.torch_version}, {r.dtype}, warm-up {r.warmup}, "
        f"min time {r.min_time:g} s per batch size"
        + (f", max {r.max_iters} iterations" if r.max_iters else "")
        + "[/]"
    )
    return Panel("\n".join(lines), title="Summary", title_align="left", expand=False)


def render(a: Analysis, *, top: int = DEFAULT_TOP) -> Group:
    section = a.extras["profile"]
    r = section.result
    header = Text.assemble(
        ("convscope profile", "bold"),
        f" · {r.model} · {r.device} ({r.device_name}) · "
        f"{r.threads} thread(s) · {r.dtype}" + (" · channels_last" if r.channels_last else ""),
    )
    parts: list[RenderableType] = [header, batch_table(section)]
    lt = layer_table(a, section, top)
    if lt is not None:
        parts.append(lt)
    parts.append(summary_panel(a, section))
    return Group(*parts)


def _export(renderable: RenderableType, width: int) -> str:
    console = Console(
        width=width, record=True, color_system=None, force_terminal=False, file=io.StringIO()
    )
    console.print(renderable)
    return console.export_text()


def to_text(a: Analysis, *, top: int = DEFAULT_TOP, width: int = 160) -> str:
    """Plain text (no colour), for pipes and ``-o FILE``."""
    return _export(render(a, top=top), width)


def print_rich(a: Analysis, *, top: int = DEFAULT_TOP) -> None:
    Console().print(render(a, top=top))


# --------------------------------------------------------------------------- calibration


def calibration_table(cal: Any) -> Table:
    t = Table(
        title=f"convscope profile --calibrate · {cal.device_name}",
        title_justify="left",
        header_style="bold",
        pad_edge=False,
    )
    t.add_column("Quantity")
    t.add_column("Value", justify="right")
    t.add_column("How", style="dim")
    t.add_row(
        "Peak compute",
        _rate(cal.peak_flops, "FLOP/s"),
        f"best {cal.dtype} GEMM {cal.gemm_n}³ of {cal.gemm_runs}",
    )
    t.add_row(
        "Memory bandwidth",
        _rate(cal.bandwidth, "B/s"),
        f"best copy of {cal.copy_bytes // 2**20} MiB of {cal.copy_runs} (read + write)",
    )
    ridge = cal.ridge_point
    t.add_row(
        "Ridge point",
        f"{ridge:.1f} FLOP/B" if math.isfinite(ridge) else "—",
        "layers below it are memory-bound",
    )
    t.add_row("Threads", str(cal.threads), f"{cal.device}, torch {cal.torch_version}")
    t.caption = f"measured in {cal.seconds:.1f} s; -o FILE.yaml writes a target profile"
    t.caption_justify = "left"
    return t


def calibration_text(cal: Any, width: int = 120) -> str:
    return _export(calibration_table(cal), width)


# --------------------------------------------------------------------------- progress


@contextmanager
def progress_bar(enabled: bool = True) -> Iterator[Any]:
    """A rich progress bar on stderr; yields a ``progress(label, fraction)`` callback, or
    None when disabled (stderr not a terminal). Refreshed only from the callback (no
    background thread writing to the terminal while a trace filters stderr)."""
    if not enabled:
        yield None
        return
    console = Console(file=sys.stderr)
    bar = Progress(
        TextColumn("{task.description:<24}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        auto_refresh=False,
    )
    tasks: dict[str, Any] = {}

    def update(label: str, fraction: float) -> None:
        if label not in tasks:
            tasks[label] = bar.add_task(label, total=1.0)
        bar.update(tasks[label], completed=max(0.0, min(1.0, fraction)))
        bar.refresh()

    with bar:
        yield update
