"""Terminal rendering of the quantization section (``convscope analyze --quant``).

One row per conv / linear layer: output channels, how many of them keep fewer than
``min_bits`` effective bits under one per-tensor INT8 scale after BatchNorm folding (the
number QF001 tests, read from the same report), those at 0 bits, the lower-median
channel's bits, input channels below ``min_bits`` even per channel, weight SQNR per tensor
and per channel, the BatchNorm fold-factor ratio (max / lower median), dead or constant
channels and the first suggested fix. A calibration table follows when
calibration ran.
"""

from __future__ import annotations

import io
import math

from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from convscope.passes.quant.grid import share
from convscope.passes.quant.report import QuantReport
from convscope.passes.quant.weights import LayerQuant, fold_starves


def _db(v: float | None) -> str:
    if v is None:
        return "—"
    return "∞" if math.isinf(v) else f"{v:.1f}"


def _x(v: float | None) -> str:
    if v is None:
        return "—"
    return "∞" if math.isinf(v) else f"{v:.1f}"


def _dead(report: QuantReport, lq: LayerQuant) -> str:
    if lq.fold is None:
        return "—"
    o = report.options
    n = len(lq.fold.dead_channels(o.gamma_eps)) + len(
        lq.fold.constant_channels(o.var_eps, o.gamma_eps)
    )
    return str(n) if n else "·"


def _count(n: int, total: int) -> str:
    """``n (share)``, or ``·`` for none."""
    return f"{n} ({100 * share(n, total):.0f}%)" if n else "·"


def layer_table(report: QuantReport, *, all_layers: bool = True) -> Table:
    """The per-layer table; ``all_layers=False`` keeps only layers with a suggestion."""
    o = report.options
    t = Table(
        title=f"convscope · INT{o.bits} weight quantization · {report.model}",
        title_justify="left",
        header_style="bold",
        pad_edge=False,
    )
    t.add_column("Layer", no_wrap=True)
    t.add_column("Op", style="cyan", no_wrap=True)
    t.add_column("Ch", justify="right")
    t.add_column(f"< {o.min_bits:g} bits", justify="right")
    t.add_column("0 bits", justify="right")
    t.add_column("Med bits", justify="right")
    t.add_column(f"In < {o.min_bits:g} (per-ch)", justify="right")
    t.add_column("SQNR/T dB", justify="right")
    t.add_column("SQNR/C dB", justify="right")
    t.add_column("Fold ratio", justify="right")
    t.add_column("Dead", justify="right")
    t.add_column("Suggestion")
    mb, limit = o.min_bits, o.max_starved_share
    for lq in report.layers:
        tips = report.suggestions(lq)
        if not all_layers and not tips:
            continue
        starved = lq.starved(mb)
        flagged = share(len(starved), lq.out_channels) > limit
        in_flagged = lq.input_starved_share(mb) > limit
        fold_bad = fold_starves(lq, o)
        t.add_row(
            lq.name,
            lq.description,
            str(lq.out_channels),
            Text(_count(len(starved), lq.out_channels), style="bold red" if flagged else ""),
            _count(len(lq.zero_bit_channels), lq.out_channels),
            f"{lq.lower_median_bits:.1f}",
            Text(
                _count(len(lq.input_starved(mb)), len(lq.input_bits))
                if lq.input_bits is not None
                else "—",
                style="bold red" if in_flagged else "",
            ),
            Text(_db(lq.sqnr_per_tensor_db), style="red" if flagged else ""),
            _db(lq.sqnr_per_channel_db),
            Text(
                _x(lq.fold.ratio) if lq.fold is not None else "—",
                style="yellow" if fold_bad else "",
            ),
            _dead(report, lq),
            tips[0] if tips else "",
        )
    return t


def activation_table(report: QuantReport) -> Table | None:
    acts = report.activations
    if acts is None:
        return None
    t = Table(
        title=f"Calibration · {acts.source}",
        title_justify="left",
        header_style="bold",
        pad_edge=False,
    )
    t.add_column("Layer", no_wrap=True)
    t.add_column("Ch", justify="right")
    t.add_column("Max |x|", justify="right")
    t.add_column("Range spread", justify="right")
    t.add_column(f"Max max/P{100 * acts.percentile:g}", justify="right")
    t.add_column(f"Outlier ch (>{acts.outlier_ratio:g})", justify="right")
    t.add_column("Output SQNR dB", justify="right")
    for la in acts.layers:
        outliers = la.outlier_channels(acts.outlier_ratio)
        t.add_row(
            la.path or "(root)",
            str(la.channels),
            f"{max(la.channel_ranges):.3g}" if la.channel_ranges else "—",
            _x(la.range_spread),
            _x(la.max_ratio),
            Text(str(len(outliers)), style="yellow" if outliers else ""),
            _db(la.output_sqnr_db),
        )
    return t


def render(report: QuantReport, *, all_layers: bool = True) -> RenderableType:
    """The table(s) and a summary panel, or a one-panel note when the analysis was skipped."""
    if report.skipped:
        return Panel(
            f"[yellow]skipped[/]: {report.skipped_reason}",
            title="Quantization",
            title_align="left",
            expand=False,
        )
    parts: list[RenderableType] = [layer_table(report, all_layers=all_layers)]
    acts = activation_table(report)
    if acts is not None:
        parts.append(acts)
    lines = report.summary_text().splitlines()
    o = report.options
    lines.append(
        f"per-tensor scale s = R/{o.qmax} (R = largest channel range after BN folding); a "
        f"channel's bits = log2(2·m+1), m = max|round(W/s)|; Med bits: the ⌈n/2⌉-th "
        f"weakest channel; In: input channels under per-output-channel scales"
    )
    parts.append(Panel("\n".join(lines), title="Quantization", title_align="left", expand=False))
    return Group(*parts)


def to_text(report: QuantReport, *, width: int = 200, all_layers: bool = True) -> str:
    """Plain text (no colour) of :func:`render`."""
    console = Console(
        width=width, record=True, color_system=None, force_terminal=False, file=io.StringIO()
    )
    console.print(render(report, all_layers=all_layers))
    return console.export_text()
