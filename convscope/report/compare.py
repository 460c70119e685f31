"""Two models or two revisions side by side: ``convscope report BASE --compare HEAD``.

Each side is a saved JSON report (``convscope analyze`` / ``profile`` / ``report --format
json``: how CI compares the base revision with the working tree) or a model spec analyzed
now. Totals, latency, the layer matching and every per-layer delta are
:mod:`convscope.diff.compare`'s (:func:`~convscope.diff.compare.diff_reports` and
:func:`~convscope.diff.compare.align_layers`), so the page and ``convscope diff`` never
disagree. This module adds what a review needs on top: every layer (also the unchanged
ones), each side's output shapes, and the lint findings of both sides as new / fixed /
unchanged.

Library use::

    from convscope.report.compare import build_comparison, render
    c = build_comparison("main.json", "model.py")
    html = render(c, "html")          # or "markdown", "json"; c.to_dict() is the document

A model-spec side is built exactly as ``convscope report`` builds one (analysis and
receptive fields on meta tensors, then lint), so it has a lint section; a JSON side has
one only when it was written by ``convscope report --format json``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from convscope._version import __version__
from convscope.diff.compare import diff_reports
from convscope.diff.errors import DiffError
from convscope.diff.metrics import RF, Number
from convscope.diff.reports import is_report_path, load_side, validate_report
from convscope.diff.result import Diff, LayerDelta, MetricDelta
from convscope.errors import ConvscopeError
from convscope.linting.registry import default_registry
from convscope.render.report import compare_html, compare_markdown

if TYPE_CHECKING:  # annotations only: loading a report needs no torch
    from convscope.model.arguments import GivenInputs

__all__ = [
    "COMPARISON_VERSION",
    "FORMATS",
    "CompareError",
    "Comparison",
    "FindingChange",
    "LintComparison",
    "build_comparison",
    "compare_documents",
    "compare_lint",
    "load_comparison_side",
    "render",
    "verdict",
]

COMPARISON_VERSION = 1  # version of the document :meth:`Comparison.to_dict` returns
FORMATS = ("html", "markdown", "json")

#: Metrics where a larger head is the better outcome; every other total is a cost.
HIGHER_IS_BETTER = frozenset({RF.name})
#: The per-layer fields with base / head / delta columns (all costs: more is worse).
LAYER_NUMBERS = ("params", "macs", "flops", "activation_bytes", "traffic_bytes")

Verdict = Literal["worse", "better", "same"]


class CompareError(ConvscopeError):
    """Options or inputs that do not fit the two sides of a comparison."""


# ------------------------------------------------------------------------------ lint


@dataclass(frozen=True)
class FindingChange:
    """A lint finding on one or both sides.

    ``new``: only head has it; ``fixed``: only base; ``unchanged``: both (same rule on the
    same layer, or anywhere for a whole-model rule such as RF001). ``message`` is head's
    (base's for a fixed one); ``base_message`` is base's when an unchanged finding's
    measured values moved.
    """

    status: Literal["new", "fixed", "unchanged"]
    code: str
    name: str
    severity: str
    layer: str
    message: str
    base_message: str | None = None


@dataclass(frozen=True)
class LintComparison:
    """The findings of both sides, matched (see :class:`FindingChange`)."""

    base_target: str
    head_target: str
    base_counts: Mapping[str, int]  # severity -> findings on base
    head_counts: Mapping[str, int]
    findings: tuple[FindingChange, ...]  # new, then fixed, then unchanged

    def count(self, status: str) -> int:
        return sum(1 for f in self.findings if f.status == status)


_SEVERITIES = ("error", "warning", "info")


def _lint_section(doc: Mapping[str, Any], label: str) -> Mapping[str, Any] | None:
    """A side's ``lint`` section, checked enough to be compared; None when absent."""
    lint = doc.get("lint")
    if lint is None:
        return None
    findings = lint.get("findings") if isinstance(lint, Mapping) else None
    if not isinstance(findings, list):
        raise DiffError(f"{label}: 'lint' has no 'findings' list")
    for i, f in enumerate(findings):
        ok = (
            isinstance(f, Mapping)
            and all(isinstance(f.get(k), str) for k in ("code", "layer", "message"))
            and f.get("severity") in _SEVERITIES
        )
        if not ok:
            raise DiffError(
                f"{label}: lint.findings[{i}] needs code, layer, message and a severity "
                f"({', '.join(_SEVERITIES)})"
            )
    return lint


def _anchor(finding: Mapping[str, Any], model_scoped: frozenset[str]) -> tuple[str, str]:
    """What identifies a finding across the sides: its rule and layer, or only its rule
    for a whole-model rule (RF001 names the widest layer, which moves when layers are
    added), as baselines key them."""
    code = str(finding["code"])
    return code, "" if code in model_scoped else str(finding["layer"])


def _model_scoped_codes() -> frozenset[str]:
    registry = default_registry()
    return frozenset(r.code for r in registry.matching("ALL") if r.scope == "model")


def compare_lint(base: Mapping[str, Any], head: Mapping[str, Any]) -> LintComparison:
    """Match the findings of two ``lint`` sections. Within one rule and layer, findings
    with the same message pair first, the rest in order (HW001 reports one per width)."""
    scoped = _model_scoped_codes()
    unmatched: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for f in base["findings"]:
        unmatched.setdefault(_anchor(f, scoped), []).append(f)
    pairs: dict[int, Mapping[str, Any]] = {}  # index in head -> the base finding it matches
    heads = list(head["findings"])
    for exact in (True, False):
        for i, h in enumerate(heads):
            if i in pairs:
                continue
            pool = unmatched.get(_anchor(h, scoped), [])
            for j, b in enumerate(pool):
                if not exact or b["message"] == h["message"]:
                    pairs[i] = pool.pop(j)
                    break

    def change(f: Mapping[str, Any], status: Any, base_message: str | None = None) -> FindingChange:
        return FindingChange(
            status=status,
            code=str(f["code"]),
            name=str(f.get("name", "")),
            severity=str(f["severity"]),
            layer=str(f["layer"]),
            message=str(f["message"]),
            base_message=base_message,
        )

    new = [change(h, "new") for i, h in enumerate(heads) if i not in pairs]
    fixed_ids = {id(b) for pool in unmatched.values() for b in pool}
    fixed = [change(b, "fixed") for b in base["findings"] if id(b) in fixed_ids]
    same = []
    for i, h in enumerate(heads):
        matched = pairs.get(i)
        if matched is not None:
            moved = matched["message"] if matched["message"] != h["message"] else None
            same.append(change(h, "unchanged", moved))

    def counts(lint: Mapping[str, Any]) -> dict[str, int]:
        return {s: sum(1 for f in lint["findings"] if f["severity"] == s) for s in _SEVERITIES}

    return LintComparison(
        base_target=str(base.get("target", "?")),
        head_target=str(head.get("target", "?")),
        base_counts=counts(base),
        head_counts=counts(head),
        findings=(*new, *fixed, *same),
    )


# ------------------------------------------------------------------------------ comparison


def verdict(name: str, delta: Number | None) -> Verdict | None:
    """Whether head's change of metric ``name`` is worse or better (None when unknown)."""
    if delta is None:
        return None
    if delta == 0:
        return "same"
    grew = delta > 0
    return "better" if grew == (name in HIGHER_IS_BETTER) else "worse"


@dataclass(frozen=True)
class Comparison:
    """Two reports side by side (build with :func:`build_comparison`)."""

    diff: Diff  # totals, latency, notes and every aligned layer, as ``convscope diff``
    base_outputs: tuple[tuple[int, ...], ...]
    head_outputs: tuple[tuple[int, ...], ...]
    lint: LintComparison | None
    lint_note: str | None  # why lint is not compared (or a caveat when it is)

    @property
    def layers(self) -> tuple[LayerDelta, ...]:
        """Every layer of either side, aligned (status "same" too)."""
        return self.diff.aligned

    def count(self, status: str) -> int:
        return sum(1 for layer in self.layers if layer.status == status)

    def to_dict(self) -> dict[str, Any]:
        """The ``--format json`` document (``comparison_version`` 1) every renderer reads."""
        d = self.diff

        def side(s: Any, outputs: tuple[tuple[int, ...], ...]) -> dict[str, Any]:
            return {
                "label": s.label,
                "model": s.model,
                "inputs": [list(i) for i in s.inputs],
                "outputs": [list(o) for o in outputs],
                "dtype": s.dtype,
                "trace_mode": s.trace_mode,
            }

        lat = d.latency
        return {
            "comparison_version": COMPARISON_VERSION,
            "tool": {"name": "convscope", "version": __version__},
            "base": side(d.base, self.base_outputs),
            "head": side(d.head, self.head_outputs),
            "totals": [_total_dict(t) for t in d.totals],
            "latency": None
            if lat is None
            else {
                **lat.as_dict(),
                "delta_pct": None if lat.relative is None else round(100 * lat.relative, 4),
                "verdict": {"regressed": "worse", "improved": "better"}.get(lat.verdict, "same"),
            },
            "lint": None if self.lint is None else _lint_dict(self.lint),
            "lint_note": self.lint_note,
            "layers": {
                "counts": {s: self.count(s) for s in ("added", "removed", "changed", "same")},
                "rows": [_layer_dict(layer) for layer in self.layers],
            },
            "notes": list(d.notes),
        }


def _num(x: Number | None) -> Number | None:
    return round(x, 6) if isinstance(x, float) else x


def _total_dict(t: MetricDelta) -> dict[str, Any]:
    return {
        "name": t.name,
        "unit": t.metric.unit,
        "description": t.metric.description,
        "primary": t.metric.primary,
        "base": _num(t.base),
        "head": _num(t.head),
        "delta": _num(t.delta),
        "delta_pct": None if t.relative is None else round(100 * t.relative, 4),
        "verdict": verdict(t.name, t.delta),
    }


def _lint_dict(lint: LintComparison) -> dict[str, Any]:
    return {
        "base_target": lint.base_target,
        "head_target": lint.head_target,
        "counts": {s: lint.count(s) for s in ("new", "fixed", "unchanged")},
        "base_counts": dict(lint.base_counts),
        "head_counts": dict(lint.head_counts),
        "findings": [
            {
                "status": f.status,
                "code": f.code,
                "name": f.name,
                "severity": f.severity,
                "layer": f.layer,
                "message": f.message,
                "base_message": f.base_message,
            }
            for f in lint.findings
        ],
    }


def _layer_dict(layer: LayerDelta) -> dict[str, Any]:
    row: dict[str, Any] = {"path": layer.path, "status": layer.status}
    for f in layer.fields:
        base = list(f.base) if isinstance(f.base, tuple) else f.base
        head = list(f.head) if isinstance(f.head, tuple) else f.head
        row[f.name] = {"base": base, "head": head}
        if f.name in LAYER_NUMBERS:
            row[f.name]["delta"] = f.delta
    row["changed"] = [f.name for f in layer.changed_fields]
    return row


def _outputs(doc: Mapping[str, Any]) -> tuple[tuple[int, ...], ...]:
    outs = doc.get("outputs")
    if not isinstance(outs, list):
        return ()
    return tuple(
        tuple(int(x) for x in s)
        for s in outs
        if isinstance(s, list) and all(isinstance(x, int) for x in s)
    )


def compare_documents(
    base: Mapping[str, Any],
    head: Mapping[str, Any],
    *,
    base_label: str | None = None,
    head_label: str | None = None,
) -> Comparison:
    """Compare two report documents (the ``analyze`` schema, with or without ``lint``)."""
    diff = diff_reports(base, head, base_label=base_label, head_label=head_label)
    base_lint = _lint_section(base, diff.base.label)
    head_lint = _lint_section(head, diff.head.label)
    lint: LintComparison | None = None
    note: str | None = None
    if base_lint is not None and head_lint is not None:
        lint = compare_lint(base_lint, head_lint)
        if lint.base_target != lint.head_target:
            note = (
                f"lint targets differ (base {lint.base_target}, head {lint.head_target}): "
                "findings that depend on the target may be new or fixed for that reason alone"
            )
    else:
        missing = [
            f"{which} ({s.label})"
            for which, s, section in (
                ("base", diff.base, base_lint),
                ("head", diff.head, head_lint),
            )
            if section is None
        ]
        note = (
            f"lint not compared: no lint section in {' and '.join(missing)}; a model spec "
            "side is linted, and `convscope report MODEL --format json -o SIDE.json` saves "
            "one with its findings (`convscope analyze` does not lint)"
        )
    return Comparison(
        diff=diff,
        base_outputs=_outputs(base),
        head_outputs=_outputs(head),
        lint=lint,
        lint_note=note,
    )


# ------------------------------------------------------------------------------ loading


def load_comparison_side(
    arg: str,
    *,
    input_shapes: GivenInputs | None = None,
    trust_pickle: bool = False,
    config: str | None = None,
    target: str | None = None,
    progress: Any = None,
) -> Mapping[str, Any]:
    """The report document of one side: a saved ``.json`` report read by ``diff``'s
    :func:`~convscope.diff.reports.load_side`, or a model spec built as ``convscope
    report`` builds it (the same analysis ``load_side`` makes, plus lint with ``config``
    and ``target``)."""
    if is_report_path(arg):
        return load_side(arg)
    from convscope.report.build import build_report  # torch (~5 s to import) only for a model spec

    report = build_report(
        arg,
        input_shapes=input_shapes,
        trust_pickle=trust_pickle,
        config=config,
        target=target,
        progress=progress,
    )
    return validate_report(report.to_dict(), arg)


def build_comparison(
    base: str,
    head: str,
    *,
    input_shapes: GivenInputs | None = None,
    trust_pickle: bool = False,
    config: str | None = None,
    target: str | None = None,
    progress: Any = None,
) -> Comparison:
    """Compare ``base`` with ``head``, each a saved JSON report or a model spec.

    ``input_shapes``, ``config`` and ``target`` apply to the model-spec sides; given when
    both sides are saved reports they raise :class:`CompareError` (before any work), as
    does anything :func:`~convscope.diff.reports.load_side` or the model load refuses."""
    if is_report_path(base) and is_report_path(head):
        for name, value, fixed in (
            ("-i/--input", input_shapes, "their inputs"),
            ("--config", config, "their lint"),
            ("--target", target, "their lint"),
        ):
            if value:
                raise CompareError(
                    f"{name} applies to a model spec side; BASE and HEAD are both saved "
                    f"reports ({fixed} were fixed when they were saved)"
                )
    kwargs: dict[str, Any] = {
        "input_shapes": input_shapes,
        "trust_pickle": trust_pickle,
        "config": config,
        "target": target,
        "progress": progress,
    }
    base_doc = load_comparison_side(base, **kwargs)
    head_doc = load_comparison_side(head, **kwargs)
    return compare_documents(base_doc, head_doc, base_label=base, head_label=head)


def render(comparison: Comparison, fmt: str = "html") -> str:
    """``comparison`` as ``html`` (self-contained review page), ``markdown`` (a PR comment)
    or ``json`` — all three from the one document of :meth:`Comparison.to_dict`."""

    doc = comparison.to_dict()
    if fmt == "json":
        return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    if fmt == "markdown":
        return compare_markdown.render(doc)
    if fmt == "html":
        return compare_html.render(doc)
    raise ValueError(f"unknown comparison format {fmt!r} (use {', '.join(FORMATS)})")
