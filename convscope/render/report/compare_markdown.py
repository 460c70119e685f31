"""``convscope report BASE --compare HEAD --format markdown``: the review as a PR comment.

Rendered from the comparison document (:meth:`convscope.report.compare.Comparison.to_dict`)
with ``convscope diff``'s cell formatters, so both show the same figures: the totals with
worse / better, the lint findings new / fixed (unchanged folded), and the layers that
differ folded in ``<details>``, kept under GitHub's comment limit.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from convscope.diff.result import FieldDelta
from convscope.render.diff.markdown import delta as delta_text
from convscope.render.diff.markdown import field_cell, value
from convscope.render.diff.markdown import percent as percent_text
from convscope.render.markdown_limit import BUDGET, cap, fit_rows

__all__ = ["render"]

_LAYER_COLUMNS = (("Params", "params"), ("MACs", "macs"), ("Traffic", "traffic_bytes"))
_WHERE = "the HTML page and `--format json` have every row"


def _esc(text: str) -> str:
    return text.replace("|", "\\|")


def _code(text: str) -> str:
    return f"`{text}`" if "`" not in text else _esc(text)


def _shapes(shapes: list[list[int]]) -> str:
    return ", ".join("×".join(str(d) for d in s) for s in shapes) or "none"


def _side(which: str, s: Mapping[str, Any]) -> str:
    name = s["label"] if s["label"] == s["model"] else f"{s['label']} ({s['model']})"
    return f"{which} {name}, input {_shapes(s['inputs'])} → {_shapes(s['outputs'])}"


def _pct(pct: float | None, d: float | None) -> str:
    return percent_text(None if pct is None else pct / 100, d)


def _field(row: Mapping[str, Any], name: str) -> FieldDelta:
    """A row's field as diff's :class:`FieldDelta`, so diff's cell formatter applies."""
    f = row[name]

    def back(v: Any) -> Any:
        return tuple(v) if isinstance(v, list) else v

    return FieldDelta(name, back(f["base"]), back(f["head"]))


def _finding(f: Mapping[str, Any]) -> str:
    where = _code(f["layer"] or "(root)")
    text = f"- {_code(f['code'])} {f['name']} on {where} ({f['severity']}): {_esc(f['message'])}"
    if f.get("base_message"):
        text += f" — base: {_esc(f['base_message'])}"
    return text


def render(doc: Mapping[str, Any]) -> str:
    """The Markdown document (ends with a newline)."""
    base, head = doc["base"], doc["head"]
    lines = [
        f"### convscope compare: {_code(base['label'])} → {_code(head['label'])}",
        "",
        _esc(f"{_side('base', base)} · {_side('head', head)}"),
        "",
        "| Metric | Base | Head | Δ | Δ% | |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for t in doc["totals"]:
        if not t["primary"] or (t["base"] is None and t["head"] is None):
            continue
        unit = t["unit"]
        lines.append(
            f"| {t['name']} | {value(t['base'], unit)} | {value(t['head'], unit)} "
            f"| {delta_text(t['delta'], unit)} | {_pct(t['delta_pct'], t['delta'])} "
            f"| {'' if t['verdict'] == 'same' else t['verdict'] or ''} |"
        )
    lat = doc.get("latency")
    if lat is not None:
        verdict = "within noise" if lat["verdict"] == "same" else lat["verdict"]
        lines.append(
            f"| latency (batch {lat['batch_size']}) | {value(lat['base']['median_ms'], 'ms')} "
            f"| {value(lat['head']['median_ms'], 'ms')} | {delta_text(lat['delta_ms'], 'ms')} "
            f"| {_pct(lat['delta_pct'], lat['delta_ms'])} | {verdict} |"
        )
    for note in doc["notes"]:
        lines += ["", f"> note: {_esc(note)}"]

    lint = doc.get("lint")
    lines.append("")
    if lint is None:
        lines.append(f"**Lint**: {_esc(doc['lint_note'] or 'not compared')}")
    else:
        c = lint["counts"]
        target = lint["base_target"]
        if lint["head_target"] != target:
            target += f" → {lint['head_target']}"
        lines.append(
            f"**Lint** (target {target}): {c['new']} new, {c['fixed']} fixed, "
            f"{c['unchanged']} unchanged."
        )
        if doc["lint_note"]:
            lines += ["", f"> note: {_esc(doc['lint_note'])}"]
        for status, title in (("new", "New in head"), ("fixed", "Fixed in head")):
            found = [f for f in lint["findings"] if f["status"] == status]
            if found:
                lines += ["", f"{title}:", "", *(_finding(f) for f in found)]
        same = [f for f in lint["findings"] if f["status"] == "unchanged"]
        if same:
            lines += [
                "",
                f"<details><summary>Unchanged findings ({len(same)})</summary>",
                "",
                *(_finding(f) for f in same),
                "",
                "</details>",
            ]

    rows = [r for r in doc["layers"]["rows"] if r["status"] != "same"]
    counts = doc["layers"]["counts"]
    total = sum(counts.values())
    lines += ["", f"<details><summary>Per-layer changes ({len(rows)} of {total})</summary>", ""]
    if rows:
        lines += [
            "| Layer | Change | Type | " + " | ".join(h for h, _ in _LAYER_COLUMNS) + " | Output |",
            "| --- | --- | --- | ---: | ---: | ---: | --- |",
        ]
        cells = [
            "| "
            + " | ".join(
                [
                    _code(r["path"] or "(model)"),
                    r["status"],
                    *(
                        _esc(field_cell(_field(r, key)))
                        for key in ("type", *(k for _, k in _LAYER_COLUMNS), "output_shape")
                    ),
                ]
            )
            + " |"
            for r in rows
        ]
        room = BUDGET - sum(len(line) + 1 for line in lines) - 300
        lines += fit_rows(cells, room, "layers", _WHERE)
        lines.append("")
    lines += [
        f"{counts['changed']} changed, {counts['added']} added, {counts['removed']} removed, "
        f"{counts['same']} the same.",
        "",
        "</details>",
    ]
    return cap("\n".join(lines) + "\n")
