"""``--format markdown``: a summary and a collapsible per-layer table for pull requests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from convscope import fmt
from convscope.analysis.build import Analysis, LayerRow, fold
from convscope.catalog import rule_ref
from convscope.ir import graph as ir
from convscope.passes.keys import RECEPTIVE_FIELD
from convscope.render.markdown_limit import BUDGET, cap, fit_rows
from convscope.targets.keys import LATENCY


def _esc(text: str) -> str:
    return text.replace("|", "\\|")


def _fallback(a: Analysis) -> str:
    reason = a.graph.fallback_reason
    return f" ({_esc(reason)})" if reason else ""


def render(a: Analysis, *, depth: int | None = None, budget: int = BUDGET) -> str:
    """The summary and per-layer table in at most ``budget`` characters (the table is cut,
    with a line that says how many layers it leaves out)."""
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
    section = a.section(RECEPTIVE_FIELD)
    if section is not None:
        out.append(f"| receptive field | {_esc(section.summary_text())} |")
    predicted = a.section(LATENCY)
    if predicted is not None:
        out.append(f"| latency (predicted) | {_esc(predicted.summary_text())} |")
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
    if a.data_dependent:
        out += [
            "",
            "**Data-dependent ops (priced from this run's sizes):** "
            + ", ".join(f"`{u.op}` ×{u.count}" for u in a.data_dependent),
        ]
    rows = fold(a.rows, depth, a.graph) if depth is not None else a.rows
    head = "\n".join(out)
    # The per-layer table gets what is left of a GitHub comment; the rest is counted.
    room = budget - len(head) - 200
    out += [
        "",
        f"<details><summary>Per-layer table ({len(rows)} rows)</summary>",
        "",
        *_table(rows, room, predicted),
        "",
        "</details>",
        "",
    ]
    return cap("\n".join(out), budget)


def _table(rows: Sequence[LayerRow], budget: int | None = None, predicted: Any = None) -> list[str]:
    pred = predicted is not None
    header = [
        "| layer | type | output | params | MACs | act. | traffic | FLOP/B |"
        + (" pred. ms |" if pred else ""),
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |" + (" ---: |" if pred else ""),
    ]
    lines = []
    for r in rows:
        lines.append(
            f"| `{_esc(r.name)}`{f' ×{r.calls}' if r.calls > 1 else ''} | {r.type_name} "
            f"| {fmt.shape(r.output_shape)} "
            f"| {fmt.count(r.params)} "
            f"| {fmt.count(r.macs)} | {fmt.nbytes(r.activation_bytes)} | {fmt.nbytes(r.traffic)} "
            f"| {fmt.ratio(r.intensity)} |"
            + (f" {fmt.ms(predicted.nodes_ms(r.nodes))} |" if pred else "")
        )
    if budget is not None:
        lines = fit_rows(lines, budget - sum(len(h) + 1 for h in header), "layers", _WHERE)
    return header + lines


_WHERE = "the JSON has every row; --depth N folds the table"


# --------------------------------------------------------------------------- convscope report

#: Findings shown inline; more go into a collapsed ``<details>`` block.
FINDINGS_INLINE = 10


def render_report(a: Analysis, doc: Mapping[str, Any]) -> str:
    """``convscope report --format markdown``: the analysis summary of :func:`render`, then
    lint findings, the rewrite plan, the effective RF and latency — the sections of the
    report document ``doc`` (:meth:`convscope.report.build.Report.to_dict`) that exist. Long
    parts are collapsible so the whole report fits a pull-request comment."""
    out: list[str] = []
    lint = doc.get("lint")
    if lint is not None:
        out += ["", *_lint_section(lint)]
    rewrite = doc.get("rewrite")
    if rewrite is not None:
        out += ["", *_rewrite_section(rewrite)]
    erf = doc.get("erf")
    if erf:
        sides = ", ".join(
            f"{fmt.percent(float(k))} within {v}×{v}" for k, v in erf["sides"].items()
        )
        out += [
            "",
            f"**Effective receptive field** of `{_esc(erf['layer'] or '(root)')}` "
            f"({erf['samples']} samples): {sides} px.",
        ]
    profile = doc.get("profile")
    if profile:
        out += ["", *_profile_section(profile)]
    tail = "\n".join(out)
    # The per-layer table gets what the other sections leave of a GitHub comment.
    head = render(a, budget=max(BUDGET - len(tail) - 100, BUDGET // 4)).rstrip("\n")
    return cap(head + "\n" + tail + "\n")


def _lint_section(lint: Mapping[str, Any]) -> list[str]:
    findings = lint["findings"]
    counts = lint["counts"]
    head = (
        f"### Lint · target `{lint['target']}` · {fmt.counted(len(findings), 'finding')} "
        f"({', '.join(fmt.counted(counts[s], s) for s in ('error', 'warning', 'info'))})"
    )
    lines = [head]
    exceeded = [b for b in lint["budgets"] if b["exceeded"]]
    for b in exceeded:
        lines += ["", f"**Budget exceeded:** {b['metric']} {b['actual']:,} > {b['limit']:,}"]
    if not findings:
        return [*lines, "", "No findings."]
    rows = []
    for f in findings:
        rule = f"{rule_ref(f['code'], f['name'])} {f['name']}"
        rows.append(
            f"| {f['severity']} | {rule} | `{_esc(f['layer'] or '(root)')}` "
            f"| {_esc(f['message'])} |"
        )
    table = [
        "| severity | rule | layer | message |",
        "| --- | --- | --- | --- |",
        *fit_rows(rows, BUDGET // 3, "findings", "the JSON report has every finding"),
    ]
    table += ["", "`convscope rule CODE` explains a rule: what it checks, why, the fix."]
    if len(findings) <= FINDINGS_INLINE:
        return [*lines, "", *table]
    return [
        *lines,
        "",
        f"<details><summary>Findings ({len(findings)})</summary>",
        "",
        *table,
        "",
        "</details>",
    ]


def _rewrite_section(rewrite: Mapping[str, Any]) -> list[str]:
    layers = rewrite["layers"]
    if not layers:
        return ["### Separable rewrite plan", "", _esc(rewrite.get("note") or "nothing to do")]
    t = rewrite["totals"]
    target = rewrite.get("latency_target")  # only with a target's kernel model
    predicted = ""
    if target is not None:
        before, after = t["predicted_ms_before"], t["predicted_ms_after"]
        predicted = (
            f" Predicted on {_esc(target)}: {before:.3g} ms → {after:.3g} ms "
            f"({fmt.signed_percent(after / before - 1)})."
        )
    lines = [
        "### Separable rewrite plan",
        "",
        f"{len(layers)} layer{'s' * (len(layers) != 1)}: MACs {fmt.count(t['macs_before'])} → "
        f"{fmt.count(t['macs_after'])} ({fmt.percent(t['savings'])} saved), params "
        f"{fmt.count(t['params_before'])} → {fmt.count(t['params_after'])} "
        f"({fmt.percent(t['param_savings'])} saved).{predicted}",
        "",
        f"<details><summary>Rewritten layers ({len(layers)})</summary>",
        "",
        "| layer | now | proposed | params | MACs | saved |"
        + (" predicted µs |" if target is not None else ""),
        "| --- | --- | --- | ---: | ---: | ---: |" + (" ---: |" if target is not None else ""),
    ]
    for p in layers:
        lines.append(
            f"| `{_esc(p['path'])}` | {_esc(p['now'])} | {_esc(p['proposed'])} "
            f"| {fmt.count(p['params_before'])} → {fmt.count(p['params_after'])} "
            f"| {fmt.count(p['macs_before'])} → {fmt.count(p['macs_after'])} "
            f"| {fmt.percent(p['savings'])} |"
            + (
                f" {p['predicted_us_before']:.3g} → {p['predicted_us_after']:.3g} |"
                if target is not None
                else ""
            )
        )
    return [*lines, "", "</details>"]


def _profile_section(profile: Mapping[str, Any]) -> list[str]:
    lines = [
        f"### Latency · {profile['device_name']} ({profile['device']}, {profile['threads']} "
        f"threads, torch {profile['torch']})",
        "",
    ]
    rel = profile.get("reliability") or {}
    if rel.get("noisy"):
        lines += [f"> **Noisy — {rel['advice']}:** " + "; ".join(rel["reasons"]), ""]
    elif rel:
        lines += ["Timings look reliable (spread and unattributed time within limits).", ""]
    for w in rel.get("roofline_warnings", []):
        lines += [f"> **Roofline figures are suspect:** {w}", ""]
    lines += [
        "| batch | median ms | p10 ms | p90 ms | spread | images/s | peak memory growth "
        "| page faults / forward |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for b in profile["batches"]:
        ips = b.get("throughput_ips")
        mem = b.get("memory")
        grown = mem["growth_bytes"] if mem else 0
        growth = "—" if not mem else "+" + (fmt.nbytes(grown) if grown else "0 B")
        faults = b.get("page_faults")
        lines.append(
            f"| {b['batch_size']} | {fmt.ms(b['median_ms'])} | {fmt.ms(b['p10_ms'])} "
            f"| {fmt.ms(b['p90_ms'])} | {fmt.percent(b.get('spread') or 0.0)} "
            f"| {'—' if ips is None else fmt.human(ips)} "
            f"| {growth} | {'—' if faults is None else fmt.grouped(faults)} |"
        )
    first = profile["batches"][0].get("memory") if profile["batches"] else None
    if first:
        lines += ["", f"Peak memory growth: {first['label']} ({first['method']})."]
    return lines
