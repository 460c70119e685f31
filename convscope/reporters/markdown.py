"""``--format markdown``: a summary and a collapsible per-layer table for pull requests."""

from __future__ import annotations

from collections.abc import Sequence

from convscope import ir
from convscope.analysis import Analysis, LayerRow, fold
from convscope.reporters import fmt


def _esc(text: str) -> str:
    return text.replace("|", "\\|")


def _fallback(a: Analysis) -> str:
    reason = a.graph.fallback_reason
    return f" ({_esc(reason)})" if reason else ""


def render(a: Analysis, *, depth: int | None = None) -> str:
    t = a.totals
    out = [
        f"## convscope · `{a.model}`",
        "",
        "| metric | value |",
        "| --- | ---: |",
        f"| params | {t.params:,} ({fmt.count(t.params)}) |",
        f"| trainable / frozen | {t.trainable_params:,} / {t.frozen_params:,} |",
        f"| MACs | {t.macs:,} ({fmt.count(t.macs)}) |",
        f"| FLOPs (2 × MACs) | {fmt.count(t.flops)} |",
        f"| other-op FLOPs | {fmt.count(t.other_flops)} |",
        f"| weights | {fmt.nbytes(t.param_bytes)} |",
        f"| peak activations | {fmt.nbytes(t.peak_activation_bytes)} |",
        f"| memory traffic (fused) | {fmt.nbytes(t.traffic)} "
        f"({fmt.nbytes(t.fused_traffic_bytes)}) |",
        f"| input → output | {', '.join(fmt.shape(s) for s in a.input_shapes)} → "
        f"{', '.join(fmt.shape(s) for s in a.output_shapes)} |",
        f"| trace | {a.graph.mode}{_fallback(a)} |",
    ]
    section = a.extras.get("receptive_field")
    if section is not None:
        out.append(f"| receptive field | {_esc(section.summary_text())} |")
    mix = ", ".join(
        f"{c.value} {fmt.percent(a.mixing.share('macs', c))}"
        for c in (ir.MixingClass.SPATIAL, ir.MixingClass.CHANNEL, ir.MixingClass.BOTH)
    )
    out.append(f"| mixing (share of MACs) | {mix} |")
    if a.unknown:
        out += [
            "",
            "**Unsupported ops (not counted):** "
            + ", ".join(f"`{u.op}` ×{u.count}" for u in a.unknown),
        ]
    rows = fold(a.rows, depth, a.graph) if depth is not None else a.rows
    out += [
        "",
        f"<details><summary>Per-layer table ({len(rows)} rows)</summary>",
        "",
        _table(rows),
        "",
        "</details>",
        "",
    ]
    return "\n".join(out)


def _table(rows: Sequence[LayerRow]) -> str:
    lines = [
        "| layer | type | output | params | MACs | act. | traffic | FLOP/B |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(
            f"| `{_esc(r.name)}` | {r.type_name} | {fmt.shape(r.output_shape)} "
            f"| {fmt.count(r.params)} "
            f"| {fmt.count(r.macs)} | {fmt.nbytes(r.activation_bytes)} | {fmt.nbytes(r.traffic)} "
            f"| {fmt.ratio(r.intensity)} |"
        )
    return "\n".join(lines)
