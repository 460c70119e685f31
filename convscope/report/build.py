"""One report of one model: analysis, receptive field, lint, and optionally the effective
receptive field, a separable-rewrite plan and measured latency.

Library use::

    from convscope.report.build import build_report
    report = build_report("examples/resnet.py", erf=True, rewrite=True)
    doc = report.to_dict()            # the JSON document every renderer reads

:meth:`Report.to_dict` is the analysis document of :mod:`convscope.analysis.schema` (with the
``receptive_field``, ``erf`` and ``profile`` sections when computed) plus
``execution_order`` (layer paths in the order their first op ran: the x axis of the
per-layer charts), ``rf_timeline`` (one entry per *call* of every layer with a receptive
field, in execution order: {path, call, calls, size, min_size, global}), per-layer
``conv`` {kernel, stride, padding, dilation, groups, depthwise, transposed} for rows that
run a convolution, ``lint`` {target, findings: [...as ``convscope lint --format json``],
counts {error, warning, info}, skipped, rules_run, budgets} and ``rewrite`` (the
separable plan of :func:`convscope.rewriting.make_plan`, or ``{"layers": [], "note": ...}``
when no layer qualifies). The document is deterministic for a deterministic model (no
timestamps; file locations relative to ``cwd``), so the ``reports/`` gallery can be
checked for drift.
The HTML, Markdown and JSON renderers of ``convscope report`` all read this one document.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from convscope import catalog as data
from convscope.analysis.build import Analysis, folded
from convscope.analysis.latency import with_latency
from convscope.analysis.rf import with_receptive_field
from convscope.analysis.run import analyze_loaded, with_extra
from convscope.analysis.schema import to_dict
from convscope.checks.erf import effective_rf
from convscope.checks.keys import ERF
from convscope.ir.graph import ConvAttrs
from convscope.linting.config import load_settings
from convscope.linting.engine import lint as run_lint
from convscope.linting.registry import default_registry
from convscope.model.load import load_model
from convscope.model.materialize import materialize
from convscope.model.state import keeps_global_state
from convscope.passes.keys import RECEPTIVE_FIELD
from convscope.profiling import measure
from convscope.profiling.calibrate import calibrate as run_calibrate
from convscope.profiling.run import profile, with_profile
from convscope.render.analysis import markdown
from convscope.render.lint.json import finding_dict
from convscope.render.profile.text import stage
from convscope.render.report import html as html_report
from convscope.rewriting.apply import apply_plan_inplace
from convscope.rewriting.plan import RewriteError, make_plan
from convscope.rewriting.run import _json_safe
from convscope.sections import WEIGHTS, SectionKey
from convscope.targets.keys import LATENCY
from convscope.targets.profiles import roofline_params

if TYPE_CHECKING:
    from convscope.linting.finding import LintResult
    from convscope.model.arguments import GivenInputs
    from convscope.rewriting.plan import Plan
    from convscope.targets.profiles import Profile

__all__ = ["FORMATS", "Report", "build_report", "render", "rule_docs"]

FORMATS = ("html", "markdown", "json")

#: The rewrite section when nothing qualifies (or the plan could not be made).
NO_REWRITE = "no layer qualifies for a separable rewrite"


@dataclass(frozen=True)
class Report:
    """Everything ``convscope report`` shows for one model."""

    analysis: Analysis
    lint: LintResult
    rewrite: Plan | None = None
    rewrite_requested: bool = False
    rewrite_note: str | None = None

    def to_dict(self, cwd: Path | None = None, depth: int | None = None) -> dict[str, Any]:
        """The report document (see the module docstring); ``cwd`` anchors file paths;
        ``depth`` folds the layer rows deeper than N into their parent (``--depth``)."""

        a = self.analysis if depth is None else folded(self.analysis, depth)
        doc = to_dict(a)
        _add_conv_geometry(a, doc)
        first = {row.path: (row.nodes[0] if row.nodes else len(a.graph.nodes)) for row in a.rows}
        doc["execution_order"] = sorted(first, key=lambda path: first[path])
        timeline = _rf_timeline(a)
        if timeline:
            doc["rf_timeline"] = timeline
        r = self.lint
        doc["lint"] = {
            "target": r.target,
            "counts": {
                s: sum(1 for f in r.findings if f.severity.value == s)
                for s in ("error", "warning", "info")
            },
            "findings": [finding_dict(f, cwd) for f in r.findings],
            "budgets": [
                {"metric": b.metric, "limit": b.limit, "actual": b.actual, "exceeded": b.exceeded}
                for b in r.budgets
            ],
            "skipped": [{"code": s.code, "name": s.name, "reason": s.reason} for s in r.skipped],
            "rules_run": list(r.rules_run),
        }
        if self.rewrite is not None:
            doc["rewrite"] = _json_safe(self.rewrite.to_dict())
            for layer in doc["rewrite"].get("layers", []):
                # float32 SVD: the last digits vary between CPUs; the gallery is compared exactly
                if isinstance(layer.get("weight_error"), float):
                    layer["weight_error"] = round(layer["weight_error"], 4)
        elif self.rewrite_requested:
            doc["rewrite"] = {"layers": [], "note": self.rewrite_note or NO_REWRITE}
        return doc


def _add_conv_geometry(a: Analysis, doc: dict[str, Any]) -> None:
    """``layers[i].conv`` {kernel, stride, padding, dilation, groups, depthwise} for every
    row that runs a convolution itself (its first one), so depthwise convs can be found."""

    by_path = {layer["path"]: layer for layer in doc["layers"]}
    for row in a.rows:
        layer = by_path.get(row.path)
        if layer is None:
            continue
        for nid in row.nodes:
            node = a.graph.nodes[nid]
            if node.module == row.path and isinstance(node.attrs, ConvAttrs):
                c = node.attrs
                layer["conv"] = {
                    "kernel": list(c.kernel),
                    "stride": list(c.stride),
                    "padding": list(c.padding),
                    "dilation": list(c.dilation),
                    "groups": c.groups,
                    "depthwise": c.groups > 1 and c.groups == c.in_channels,
                    "transposed": c.transposed,
                }
                break


def _rf_timeline(a: Analysis) -> list[dict[str, Any]]:
    """One entry per *call* of every layer with a receptive field, in execution order.

    A shared module (U-Net's one ``pool`` run after every stage) has one row whose RF is
    its last call's; drawn at its first call that is a spike. Here each call carries the RF
    of its own last output, placed where that output was produced (a block or the root at
    its last op, since its RF is its last output's).
    """
    rf = a.section(RECEPTIVE_FIELD)
    if rf is None:
        return []
    events: list[tuple[int, dict[str, Any]]] = []
    for row in a.rows:
        if row.path not in rf.per_layer or not row.nodes:
            continue
        calls: dict[int, list[int]] = {}
        if row.calls > 1:
            for nid in row.nodes:
                node = a.graph.nodes[nid]
                if node.module == row.path:
                    calls.setdefault(node.call_index, []).append(nid)
        if len(calls) < 2:  # one call, or a shared block whose calls are its children's
            whole = rf.per_layer[row.path]
            events.append((row.nodes[-1], _timeline_entry(row.path, 0, 1, whole)))
            continue
        for index, nids in sorted(calls.items()):
            node_rf = rf.per_node.get(nids[-1])
            if node_rf is not None:
                events.append((nids[0], _timeline_entry(row.path, index, len(calls), node_rf)))
    return [entry for _, entry in sorted(events, key=lambda e: e[0])]


def _timeline_entry(path: str, call: int, calls: int, rf: Any) -> dict[str, Any]:
    def num(x: float) -> float | int:
        return int(x) if float(x).is_integer() else round(float(x), 4)

    return {
        "path": path,
        "call": call,
        "calls": calls,
        "size": [num(v) for v in rf.size],
        "min_size": [num(v) for v in rf.min_size],
        "global": rf.is_global,
    }


def rule_docs(codes: Iterable[str]) -> dict[str, str]:
    """The README (Markdown) of each rule code in ``codes``; a one-paragraph stand-in for a
    rule without a README. Codes that are not rules (``BUDGET``, ``CS000``) are left out."""

    registry = default_registry()
    out: dict[str, str] = {}
    for code in sorted(set(codes)):
        found = registry.lookup(code)
        if found is None:
            continue
        path = data.rule_doc(found.code, found.name)
        if path.is_file():
            out[code] = path.read_text(encoding="utf-8")
        else:
            out[code] = f"# {found.code} {found.name}\n\n{found.summary}\n"
    return out


@keeps_global_state  # model code, profiling and threads must not leak into the caller
def build_report(
    spec: str,
    *,
    input_shapes: GivenInputs | None = None,
    weights: str | None = None,
    trust_pickle: bool = False,
    config: str | None = None,
    target: str | None = None,
    profile_device: str | None = None,
    min_time: float = 1.0,
    erf: bool = False,
    rewrite: bool = False,
    seed: int = 0,
    calibrate: bool | None = None,
    calibrate_time: float = 2.0,
    progress: Any = None,
) -> Report:
    """Load the MODEL ``spec`` and compute its report.

    Always: the analysis (traced on meta tensors unless ``weights`` are given), receptive
    fields and lint (settings from ``config`` or the discovered config file, with
    ``target`` as the target profile). ``profile_device`` (``"cpu"``/``"cuda"``) measures
    latency with per-layer times; the roofline is the target's (resolved as ``lint``
    resolves it, so a ``.yaml`` target works) when it has figures, else this machine
    measured by ``--calibrate`` (``calibrate=None``: calibrate exactly when the target has
    no figures; True: always; False: never, so no roofline without figures). ``progress``
    is a ``progress(label, fraction)`` callback (see ``render.profile.text.stage``);
    ``erf`` adds the effective receptive field; ``rewrite`` the separable-rewrite plan of
    the layers rule DW003 flags (every conv when DW003 flags none). Errors are
    :class:`~convscope.errors.ConvscopeError` with a one-line message.
    """

    registry = default_registry()
    settings = load_settings(registry, config).with_overrides(registry, target=target)
    resolved = settings.resolve(registry)  # a bad target fails before the model loads

    if profile_device is not None:
        measure.check_device(profile_device)

    stage(progress, f"loading {spec}")
    loaded = load_model(  # seeded: random weights (ERF, profile) are reproducible
        spec,
        input_shapes=input_shapes,
        weights=weights,
        trust_pickle=trust_pickle,
        device="meta",
        seed=seed,
    )
    stage(progress, "analysing")
    analysis = analyze_loaded(loaded)
    analysis = with_receptive_field(analysis)
    if resolved.profile.kernels is not None:  # a device's kernel model: predicted latency
        analysis = with_latency(analysis, resolved.profile)
    if erf:
        stage(progress, "effective receptive field")
        analysis = with_extra(
            analysis,
            ERF,
            effective_rf(loaded.module, loaded.inputs, analysis=analysis, seed=seed),
        )
    if profile_device is not None:
        analysis = _with_profile(
            analysis,
            loaded,
            profile_device,
            resolved.profile,
            min_time,
            spec,
            calibrate=calibrate,
            calibrate_time=calibrate_time,
            progress=progress,
        )
    providers: dict[SectionKey[Any], Any] = {}
    if weights:
        providers[WEIGHTS] = lambda _analysis: loaded.module
    stage(progress, "linting")
    result = run_lint(
        analysis,
        settings,
        module=loaded.module,
        source_file=loaded.source_file,
        receptive_field=with_receptive_field,
        providers=providers,
        registry=registry,
    )
    plan: Plan | None = None
    note: str | None = None
    if rewrite:
        stage(progress, "rewrite plan")
        plan, note = _rewrite_plan(analysis, result, loaded.module, seed)
    return Report(
        analysis=analysis, lint=result, rewrite=plan, rewrite_requested=rewrite, rewrite_note=note
    )


def _with_profile(
    analysis: Analysis,
    loaded: Any,
    device: str,
    target: Profile,
    min_time: float,
    spec: str,
    *,
    calibrate: bool | None,
    calibrate_time: float,
    progress: Any,
) -> Analysis:

    module = loaded.module
    if loaded.on_meta and loaded.rebuild is not None:
        module = loaded.rebuild()
    params = roofline_params(target)
    cal = None
    if calibrate or (calibrate is None and params is None):
        stage(progress, "calibrating")
        cal = run_calibrate(device, budget_s=calibrate_time, progress=progress)
        params = cal.params()
    measured = profile(
        module,
        loaded.inputs,
        device=device,
        batch_sizes=None,
        min_time=min_time,
        name=spec,
        progress=progress,
    )
    return with_profile(analysis, measured, params, calibration=cal)


def _rewrite_plan(
    analysis: Analysis, result: LintResult, module: Any, seed: int
) -> tuple[Plan | None, str | None]:
    """The separable plan with each layer's weight error measured as ``convscope rewrite``
    measures it: the SVD factorization applied to a copy (seeded random weights when the
    model is on meta, as ``rewrite`` does), never to ``module`` itself; priced on the
    target's kernel model when the analysis carries its predicted latency."""

    flagged = list(dict.fromkeys(f.layer for f in result.findings if f.code == "DW003"))
    try:
        # With a kernel model the plan is priced on it and skips layers predicted no faster,
        # as `convscope rewrite --target` does.
        plan = make_plan(
            analysis, mode="separable", layers=flagged or None, latency=analysis.section(LATENCY)
        )
    except RewriteError as exc:
        return None, str(exc)
    real = materialize(module, seed=seed, device=None).module
    return plan.with_errors(apply_plan_inplace(real, plan, seed=seed)), None


def render(
    report: Report, fmt: str = "html", *, cwd: Path | None = None, depth: int | None = None
) -> str:
    """``report`` as ``html`` (self-contained page), ``markdown`` or ``json`` — all three
    from the one document of :meth:`Report.to_dict` (``depth`` folds its layer rows)."""

    doc = report.to_dict(cwd, depth)
    if fmt == "json":
        return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    if fmt == "markdown":
        a = report.analysis if depth is None else folded(report.analysis, depth)
        return markdown.render_report(a, doc)
    if fmt == "html":
        docs = rule_docs(f["code"] for f in doc["lint"]["findings"])
        return html_report.render(doc, rule_docs=docs)
    raise ValueError(f"unknown report format {fmt!r} (use {', '.join(FORMATS)})")
