"""``convscope profile`` output: rich tables, plain text, and the progress bar.

Reads the ``PROFILE`` section (:class:`convscope.profiling.ProfileSection`) of an
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

from rich import box
from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from convscope import fmt
from convscope.analysis.build import Analysis
from convscope.profiling.keys import PROFILE
from convscope.profiling.reliability import ACHIEVED_LIMIT
from convscope.render.hanging import Hanging
from convscope.targets.keys import LATENCY

__all__ = [
    "calibration_table",
    "calibration_text",
    "progress_bar",
    "render",
    "stage",
    "to_text",
]

DEFAULT_TOP = 20


def _ms(seconds: float | None) -> str:
    return fmt.ms(None if seconds is None else seconds * 1e3)


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


# Tables without vertical rules and one space between columns, so that even the layer table
# with roofline columns fits an 80-column terminal.
_COMPACT: dict[str, Any] = {
    "box": box.SIMPLE_HEAD,
    "show_edge": False,
    "padding": (0, 0),
}
# Summary lines wrap under their text, past the ten-column label ("Reconcile ").
_LABEL = 10


def batch_table(section: Any) -> Table:
    r = section.result
    t = Table(
        title="End to end (times in ms)",
        title_justify="left",
        header_style="bold",
        **_COMPACT,
    )
    # short headers, each column at least as wide as its header: the table fits 80 columns
    # with no header cut short (the unit is in the title)
    mem = "Peak mem. growth"
    for name in ("Batch", "Iters", "Median", "p10", "p90", "Spread", "Img/s", mem):
        t.add_column(
            name, justify="left" if name == mem else "right", no_wrap=True, min_width=len(name)
        )
    for b in r.batches:
        s = b.stats
        t.add_row(
            str(b.batch_size),
            str(s.iters),
            _ms(s.median_s),
            _ms(s.p10_s),
            _ms(s.p90_s),
            fmt.percent(s.spread),
            fmt.human(b.throughput),
            _mem_cell(b.memory),
        )
    return t


def layer_table(a: Analysis, section: Any, top: int) -> Table | None:
    times = section.result.layers
    roof = section.roofline
    if times is None and roof is None:
        return None
    e2e = section.result.e2e_median_s
    rows = list(a.rows)
    medians = {r.path: lt.median_s for r in rows if times is not None and (lt := times.get(r.path))}
    if medians:
        rows.sort(key=lambda r: (-medians.get(r.path, 0.0), r.path))
    elif roof is not None:
        rows.sort(key=lambda r: -(roof.layer(r.path).predicted_s if roof.layer(r.path) else 0))
    shown = rows[:top] if top > 0 else rows
    batch = times.batch_size if times is not None else section.result.batches[0].batch_size
    t = Table(
        title=f"Slowest layers (self time in ms, batch {batch}"
        + (f", {times.iters} instrumented iterations" if times is not None else "")
        + ")"
        + (f" · roofline: {roof.params.name}" if roof is not None else ""),
        title_justify="left",
        header_style="bold",
        **_COMPACT,
    )
    # the layer name folds when the terminal is narrow; the figures never do, and no
    # column is narrower than its header
    t.add_column("Layer", overflow="fold", min_width=12)
    t.add_column("Type", style="cyan", no_wrap=True, min_width=4)
    for name in ("MACs", "FLOP/B"):
        t.add_column(name, justify="right", no_wrap=True, min_width=len(name))
    if times is not None:
        for name in ("Median", "Share", "p10–p90"):
            t.add_column(name, justify="right", no_wrap=True, min_width=len(name))
    # The kernel model's prediction (profile --target DEVICE.yaml), beside the measurement.
    predicted = a.section(LATENCY) if section.prediction is not None else None
    if predicted is not None:
        t.add_column("Kernel", justify="right", no_wrap=True, min_width=6)
    if roof is not None:
        t.add_column("Pred.", justify="right", no_wrap=True, min_width=5)
        t.add_column("Bound", no_wrap=True, min_width=5)
        t.add_column("Achieved", justify="right", no_wrap=True, min_width=8)
    for r in shown:
        cells = [r.name, r.type_name, fmt.count(r.macs), fmt.ratio(r.intensity)]
        if times is not None:
            lt = times.get(r.path)
            cells += [
                _ms(lt.median_s) if lt else "—",
                fmt.percent(lt.median_s / e2e) if lt and e2e else "—",
                f"{_ms(lt.p10_s)}–{_ms(lt.p90_s)}" if lt else "—",
            ]
        if predicted is not None:
            cells.append(fmt.ms(predicted.layer_predicted_ms(r.path)))
        if roof is not None:
            lr = roof.layer(r.path)
            style = {"memory": "yellow", "compute": "green"}.get(lr.bound if lr else "", "")
            over = lr is not None and lr.achieved is not None and lr.achieved > ACHIEVED_LIMIT
            cells += [
                _ms(lr.predicted_s) if lr else "—",
                f"[{style}]{lr.bound}[/]" if lr and style else (lr.bound if lr else "—"),
                (f"[red]{_frac(lr.achieved)} ![/]" if over else _frac(lr.achieved)) if lr else "—",
            ]
        t.add_row(*cells)
    notes = ["median self time per forward, p10–p90 over the instrumented iterations"]
    if predicted is not None:
        notes.append(f"Kernel: the time {predicted.target}'s kernel model predicts")
    if roof is not None and any(
        x.achieved is not None and x.achieved > ACHIEVED_LIMIT for x in roof.layers
    ):
        notes.append("! achieved > 100 %: the roofline figures are too low (calibration problem)")
    if len(rows) > len(shown):
        notes.append(f"… {len(rows) - len(shown)} more layers (--top 0 shows all)")
    t.caption = "\n".join(notes)
    t.caption_justify = "left"
    return t


def reliability_lines(section: Any, *, headline: bool = True) -> list[str]:
    """The profiler's verdict (noisy timings, suspect roofline), rich markup; without the
    noisy headline when ``headline`` is False."""
    rel = section.reliability
    lines = []
    if rel.headline and headline:
        lines.append(f"[bold red]NOISY[/]     {rel.headline.removeprefix('noisy — ')}")
    for w in rel.roofline_warnings:
        lines.append(f"[bold yellow]Roofline?[/] {w}")
    return lines


def summary_panel(a: Analysis, section: Any) -> Panel:
    r = section.result
    # the noisy verdict heads the output (see render); here only the roofline's doubts
    lines = reliability_lines(section, headline=False)
    times = r.layers
    if times is not None:
        e2e = r.e2e_median_s
        total = section.layers_sum_s or 0.0
        lines.append(
            f"[bold]Reconcile[/] Σ layers (means of the central iterations) {_ms(total)} ms "
            f"vs end-to-end median {_ms(e2e)} ms (batch {times.batch_size}): "
            f"{fmt.remainder(total * 1e3, e2e * 1e3)}; instrumented run "
            f"{_ms(times.instrumented.median_s)} ms ({times.method})"
        )
    analytic = section.analytic_peak_bytes
    first = r.batches[0].memory if r.batches else None
    mem = f"[bold]Memory[/]    analytic peak activations {fmt.nbytes(analytic or 0)}"
    if section.analytic_batch is not None:
        mem += f" (batch {section.analytic_batch})"
    if first is not None:
        mem += f"; {first.label} +{_nbytes0(first.growth_bytes)} ({first.method})"
    faults = r.batches[0].page_faults if r.batches else None
    if faults is not None:
        mem += f"; {fmt.grouped(faults)} minor page faults per forward"
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
            lines.append(f"[dim]{' ' * _LABEL}source: {p.source}[/]")
    lines += prediction_lines(section)
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
    body = Group(*(Hanging(Text.from_markup(line), _LABEL) for line in lines))
    return Panel(body, title="Summary", title_align="left", expand=False)


#: Page faults per forward worth a line beside a prediction: at 2–3 µs each (a 2-core VM),
#: 100 faults are a few tenths of a millisecond, the size of a small model's kernels.
NOTABLE_FAULTS = 100


def prediction_lines(section: Any) -> list[str]:
    """A kernel model's prediction beside the measured median, and the speed the device ran
    its kernels at when a speed check ran (rich markup)."""
    p = section.prediction
    if p is None:
        return []
    r = section.result
    measured = section.measured_ms(p.batch)
    err, at_err = p.error(measured), p.error(measured, checked=True)
    lines = [
        f"[bold]Predicted[/] {fmt.ms(p.predicted_ms)} ms on {p.target} (kernel model, batch "
        f"{p.batch})"
        + (
            f" vs measured {fmt.ms(measured)} ms: {fmt.signed_percent(err)}"
            if err is not None
            else ""
        )
    ]
    why = p.comparable(r.device, r.threads)
    if why is not None:
        lines.append(f"[bold yellow]Compare?[/]  not like for like: {why}")
    faults = next((b.page_faults for b in r.batches if b.batch_size == p.batch), None)
    if faults is not None and faults >= NOTABLE_FAULTS:
        lines.append(
            f"[bold yellow]Faults[/]    {fmt.grouped(faults)} minor page faults per forward: the C "
            "allocator hands this model fresh pages every forward, a cost no kernel pays and "
            "the prediction leaves out (README, 'Allocator page faults')"
        )
    if p.speed is not None:
        lines.append(
            f"[bold]Speed[/]     {p.speed.text}: at that speed "
            f"{fmt.ms(p.at_checked_speed_ms)} ms"
            + (f" ({fmt.signed_percent(at_err)})" if at_err is not None else "")
        )
    elif measured:
        lines.append(
            f"[dim]{' ' * _LABEL}--speed-check tells whether this device runs at the speed it "
            "was calibrated at[/]"
        )
    return lines


def render(a: Analysis, *, top: int = DEFAULT_TOP) -> Group:
    section = a.need(PROFILE)
    r = section.result
    header = Text.assemble(
        ("convscope profile", "bold"),
        f" · {r.model} · {r.device} ({r.device_name}) · "
        f"{r.threads} thread(s) · {r.dtype}" + (" · channels_last" if r.channels_last else ""),
    )
    parts: list[RenderableType] = [header]
    if section.reliability.noisy:
        parts.append(Hanging(Text.from_markup(reliability_lines(section)[0]), _LABEL))
    parts.append(batch_table(section))
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
    if cal.rounds:
        figures = " · ".join(f"{_rate(f, 'FLOP/s')} / {_rate(b, 'B/s')}" for f, b in cal.rounds)
        t.add_row(
            "Stability",
            "stable" if cal.stable else "[red]NOT stable[/]",
            f"{len(cal.rounds)} round(s): {figures}",
        )
    t.caption = f"measured in {cal.seconds:.1f} s; -o FILE.yaml writes a target profile"
    t.caption_justify = "left"
    return t


def calibration_text(cal: Any, width: int = 120) -> str:
    return _export(calibration_table(cal), width)


# --------------------------------------------------------------------------- progress


class _Bar:
    """The ``progress(label, fraction)`` callback of :func:`progress_bar`, plus stages."""

    def __init__(self, bar: Progress) -> None:
        self.bar = bar
        self.tasks: dict[str, Any] = {}
        self.current_stage: str | None = None

    def _end_stage(self) -> None:
        if self.current_stage is not None:
            self.bar.update(self.tasks[self.current_stage], completed=1.0)
            self.current_stage = None

    def __call__(self, label: str, fraction: float) -> None:
        self._end_stage()
        if label not in self.tasks:
            self.tasks[label] = self.bar.add_task(label, total=1.0)
        self.bar.update(self.tasks[label], completed=max(0.0, min(1.0, fraction)))
        self.bar.refresh()

    def stage(self, label: str) -> None:
        """A step without a known length (loading, analysing): shown at once, marked done
        when the next step starts."""
        self._end_stage()
        self.tasks[label] = self.bar.add_task(label, total=1.0)
        self.current_stage = label
        self.bar.refresh()


def stage(progress: Any, label: str) -> None:
    """Announce a step of unknown length on ``progress`` (a :func:`progress_bar` callback,
    any ``progress(label, fraction)`` function, or None)."""
    if progress is None:
        return
    if isinstance(progress, _Bar):
        progress.stage(label)
    else:
        progress(label, 0.0)


@contextmanager
def progress_bar(enabled: bool = True) -> Iterator[Any]:
    """A rich progress bar on stderr; yields a ``progress(label, fraction)`` callback, or
    None when disabled (stderr not a terminal). Refreshed only from the callback (no
    background thread writing to the terminal while a trace filters stderr); every step of
    a command, loading included, announces itself so the bar is up from the first second."""
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
    with bar:
        yield _Bar(bar)
