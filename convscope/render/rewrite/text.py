"""``convscope rewrite`` output: the plan table (rich), plain text, and Markdown.

Columns: layer, now → proposed, params before → after, MACs before → after, MAC savings,
and the relative Frobenius error ``‖W − Ŵ‖/‖W‖`` of the weight approximation (separable)
or the receptive-field gain of the layer's output (spatialize). The summary gives model
totals, the output deviation of the whole rewritten model on the sample inputs, and the
verification verdict. With a target's kernel model, a predicted-time column (before → after
and the change) and a summary line with the model's predicted time come in as well.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from convscope import fmt

if TYPE_CHECKING:
    from convscope.rewriting.plan import LayerPlan
    from convscope.rewriting.run import RewriteResult


def _arrow(before: int, after: int) -> str:
    return f"{fmt.count(before)} → {fmt.count(after)}"


def _savings(x: float) -> str:
    """Savings as a percentage; negative (``−28.1%``) when the layer costs more."""
    return f"{100 * x:.1f}%" if x >= 0 else f"−{100 * -x:.1f}%"


def _change(before: int, after: int) -> str:
    """Signed relative change, ``−83.4%`` / ``+0.1%``."""
    if not before:
        return "—"
    x = 100 * (after - before) / before
    return f"+{x:.1f}%" if x > 0 else (f"−{-x:.1f}%" if x < 0 else "±0%")


def time_cell(before_us: float | None, after_us: float | None) -> str:
    """``0.188 → 0.241 ms (+28.2%)``; ``—`` without a prediction."""
    if before_us is None or after_us is None:
        return "—"
    change = 100 * (after_us / before_us - 1) if before_us else 0.0
    sign = "+" if change > 0 else ("−" if change < 0 else "±")
    return f"{fmt.ms(before_us / 1e3)} → {fmt.ms(after_us / 1e3)} ms ({sign}{abs(change):.1f}%)"


def _timed(result: RewriteResult) -> bool:
    return result.full_plan.latency_target is not None


def _sizes(values: Sequence[int]) -> str:
    """``(3, 3)`` → ``"3"``; ``(3, 5)`` → ``"3×5"``."""
    return str(values[0]) if len(set(values)) == 1 else "×".join(str(v) for v in values)


def error_cell(p: LayerPlan) -> str:
    """The last column: weight error (separable) or RF gain (spatialize)."""
    if p.mode == "spatialize":
        if p.rf_before is None or p.rf_after is None:
            return "—"
        gain = p.rf_gain or ()
        return f"RF {_sizes(p.rf_before)} → {_sizes(p.rf_after)} (+{_sizes(gain)})"
    if p.frozen_spatial:
        return "random (frozen)"
    return "—" if p.weight_error is None else f"{p.weight_error:.3g}"


def _last_header(result: RewriteResult) -> str:
    return "RF gain" if result.full_plan.mode == "spatialize" else "Weight error"


def _deviation(result: RewriteResult) -> str:
    v = result.verification
    text = f"max |Δ| {v.max_abs_deviation:.3g}, relative L2 {v.rel_l2_deviation:.3g}"
    if v.function_preserving:
        text += " (function preserved at initialization)"
    elif result.full_plan.frozen_spatial:
        text += " (random spatial filters: retrain before use)"
    return text


def _verdict(result: RewriteResult) -> str:
    v = result.verification
    if not v.ok:
        return "FAILED: " + "; ".join(v.problems)
    return (
        "traced again; output shapes unchanged; params, trainable params and MACs "
        "equal the plan exactly"
    )


def summary_lines(result: RewriteResult, written: Sequence[str] = ()) -> list[tuple[str, str]]:
    """(label, text) pairs shared by the terminal and Markdown renderers."""
    plan = result.full_plan
    lines = [
        (
            "Model",
            f"{plan.model}: params {plan.params_before:,} → {plan.params_after:,} "
            f"({_change(plan.params_before, plan.params_after)}), MACs "
            f"{plan.macs_before:,} → {plan.macs_after:,} "
            f"({_change(plan.macs_before, plan.macs_after)})",
        ),
    ]
    if plan.latency_target is not None and plan.predicted_ms_before is not None:
        lines.append(
            (
                "Latency",
                f"predicted on {plan.latency_target} (kernel model): "
                + time_cell(plan.predicted_ms_before * 1e3, (plan.predicted_ms_after or 0) * 1e3)
                + (
                    " (--allow-slower: layers predicted no faster are planned too)"
                    if plan.allow_slower
                    else ""
                ),
            )
        )
    frozen = plan.params_after - plan.trainable_after
    if frozen:
        lines.append(("Frozen", f"{frozen:,} parameters (requires_grad=False)"))
    weights = result.weights
    if weights.startswith("random") and plan.mode == "separable" and not plan.frozen_spatial:
        weights += " (weight errors describe random kernels; trained ones are usually lower)"
    lines.append(
        (
            "Inputs",
            ", ".join(fmt.shape(getattr(t, "shape", None)) for t in result.inputs.values())
            + f"; weights: {weights}",
        )
    )
    lines.append(("Deviation", _deviation(result)))
    lines.append(("Verified", _verdict(result)))
    if plan.skipped:
        shown = "; ".join(f"{s.path}: {s.reason}" for s in plan.skipped[:6])
        more = f"; … {len(plan.skipped) - 6} more" if len(plan.skipped) > 6 else ""
        lines.append(("Skipped", shown + more))
    for note in plan.notes:
        lines.append(("Note", note))
    for path in written:
        lines.append(("Wrote", path))
    return lines


def plan_table(result: RewriteResult) -> Table:
    plan = result.full_plan
    layers = plan.layers
    pb = sum(p.params_before for p in layers)
    pa = sum(p.params_after for p in layers)
    mb = sum(p.macs_before for p in layers)
    ma = sum(p.macs_after for p in layers)
    title = f"convscope rewrite · {plan.model} · {plan.mode}"
    if plan.mode == "separable" and plan.multiplier != 1:
        title += f" (depth multiplier {plan.multiplier})"
    t = Table(
        title=title,
        title_justify="left",
        header_style="bold",
        show_footer=True,
        expand=False,
        pad_edge=False,
    )
    t.add_column(
        "Layer", footer=f"{len(layers)} layer{'s' if len(layers) != 1 else ''}", no_wrap=True
    )
    t.add_column("Now → proposed", no_wrap=True)
    t.add_column("Params", justify="right", footer=_arrow(pb, pa), no_wrap=True)
    t.add_column("MACs", justify="right", footer=_arrow(mb, ma), no_wrap=True)
    t.add_column(
        "Savings", justify="right", footer=_savings(1 - ma / mb if mb else 0.0), no_wrap=True
    )
    timed = _timed(result)
    if timed:
        tb = sum(p.predicted_us_before or 0.0 for p in layers)
        ta = sum(p.predicted_us_after or 0.0 for p in layers)
        t.add_column("Predicted", justify="right", footer=time_cell(tb, ta), no_wrap=True)
    t.add_column(_last_header(result), justify="right", no_wrap=True)
    for p in layers:
        cells = [
            p.path,
            f"{p.now} → {p.proposed}",
            _arrow(p.params_before, p.params_after),
            _arrow(p.macs_before, p.macs_after),
            _savings(p.savings),
        ]
        if timed:
            cells.append(time_cell(p.predicted_us_before, p.predicted_us_after))
        t.add_row(*cells, error_cell(p))
    return t


def render(result: RewriteResult, written: Sequence[str] = ()) -> Group:
    lines = summary_lines(result, written)
    width = max(len(label) for label, _ in lines)
    body = Text()
    for i, (label, text) in enumerate(lines):
        if i:
            body.append("\n")
        style = "bold red" if label == "Verified" and not result.verification.ok else "bold"
        body.append(label.ljust(width + 2), style=style)
        body.append(text)
    return Group(plan_table(result), Panel(body, title="Summary", title_align="left", expand=False))


def to_text(result: RewriteResult, written: Sequence[str] = (), width: int = 160) -> str:
    """Plain text (no colour), as printed when stdout is not a terminal."""
    console = Console(
        width=width, record=True, color_system=None, force_terminal=False, file=io.StringIO()
    )
    console.print(render(result, written))
    return console.export_text()


def print_rich(result: RewriteResult, written: Sequence[str] = ()) -> None:
    Console().print(render(result, written))


def _esc(text: str) -> str:
    return text.replace("|", "\\|")


def to_markdown(result: RewriteResult, written: Sequence[str] = ()) -> str:
    plan = result.full_plan
    timed = _timed(result)
    predicted = " predicted |" if timed else ""
    out = [
        f"## convscope rewrite · `{_esc(plan.model)}` · {plan.mode}",
        "",
        f"| layer | now → proposed | params | MACs | savings |{predicted} "
        f"{_last_header(result).lower()} |",
        "| --- | --- | ---: | ---: | ---: | ---: |" + (" ---: |" if timed else ""),
    ]
    for p in plan.layers:
        time = f" {time_cell(p.predicted_us_before, p.predicted_us_after)} |" if timed else ""
        out.append(
            f"| `{_esc(p.path)}` | {_esc(p.now)} → {_esc(p.proposed)} | "
            f"{p.params_before:,} → {p.params_after:,} | "
            f"{p.macs_before:,} → {p.macs_after:,} | {_savings(p.savings)} |{time} "
            f"{_esc(error_cell(p))} |"
        )
    out.append("")
    for label, text in summary_lines(result, written):
        out.append(f"- **{label}**: {text}")
    out.append("")
    return "\n".join(out)


def as_json_ready(result: RewriteResult, written: Sequence[str] = ()) -> dict[str, Any]:
    doc = result.to_dict()
    doc["written"] = list(written)
    return doc
