"""Compare two analyses: total and per-layer deltas, and ``--fail-on`` thresholds.

Everything here works on the JSON documents of :mod:`convscope.analysis.schema` (``schema_version``
1), so a saved report and a freshly analyzed model spec are compared the same way::

    from convscope.diff.compare import diff_reports, parse_thresholds, check
    d = diff_reports(json.load(open("main.json")), json.load(open("head.json")))
    results = check(d, parse_thresholds("macs:+5%,params:+2%"))
    failed = any(r.exceeded for r in results)

Metrics (the names ``--fail-on`` accepts), all taken from both reports:

* the ``totals`` keys: ``params``, ``trainable_params``, ``frozen_params``, ``buffers``,
  ``param_bytes``, ``macs``, ``flops``, ``other_flops``, ``activation_bytes``,
  ``bytes_read``, ``bytes_written``, ``traffic_bytes``, ``peak_activation_bytes``,
  ``fused_traffic_bytes``;
* ``rf`` — the output receptive field (largest side, input pixels) of the
  ``receptive_field`` section;
* ``latency`` — the measured latency of the ``profile`` section (``convscope profile
  --format json``), compared noise-aware with :func:`convscope.profiling.latency_verdict`:
  ``latency:+5%`` fails only when head's p10 exceeds base's p90 by more than 5 %. When the
  reports carry no measured latency but both carry a *predicted* one (the ``latency``
  section that ``convscope analyze --target DEVICE.yaml`` writes with a kernel model),
  ``latency`` gates on that: head's ``predicted_ms`` above base's by more than 5 %;
* ``predicted_latency`` — the predicted end-to-end time only (``latency.predicted_ms``, in
  ms), for a CI job that holds a device's budget without the device: ``+N%``, ``+N`` (ms)
  or a bound ``>N`` (ms).

A threshold is ``METRIC:+N%`` (relative increase over base) or ``METRIC:+N`` (absolute
increase; ``N`` may carry a K/M/G/T suffix, powers of 1000, or Ki/Mi/Gi with an optional
``B``, powers of 1024: ``+1M``, ``+64MiB``). A threshold is *exceeded* when head is larger
than base by strictly more than ``N``. ``latency`` accepts only percentages.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

from convscope.analysis.schema import SCHEMA_VERSION  # the version this module reads
from convscope.errors import ConvscopeError, describe
from convscope.validate import TOO_DEEP

__all__ = [
    "LATENCY",
    "METRICS",
    "PREDICTED_LATENCY",
    "Diff",
    "DiffError",
    "FieldDelta",
    "GateResult",
    "LatencyDelta",
    "LatencyStats",
    "LayerDelta",
    "Metric",
    "MetricDelta",
    "PredictedDelta",
    "Side",
    "Threshold",
    "align_layers",
    "as_dict",
    "check",
    "diff_reports",
    "is_report_path",
    "load_report",
    "load_side",
    "metric_names",
    "parse_thresholds",
    "validate_report",
]

DIFF_VERSION = 1  # version of the document :func:`as_dict` returns

Unit = Literal["count", "bytes", "px", "ms"]
Number = int | float


class DiffError(ConvscopeError):
    """A report that cannot be compared, or a malformed ``--fail-on`` threshold."""


@dataclass(frozen=True)
class Metric:
    """A comparable model-level quantity: where it is read from and how it is shown."""

    name: str
    unit: Unit
    description: str
    primary: bool  # shown in the totals table even when not gated


_TOTALS: tuple[Metric, ...] = (
    Metric("params", "count", "parameters (unique tensors)", True),
    Metric("trainable_params", "count", "trainable parameters", False),
    Metric("frozen_params", "count", "frozen parameters", False),
    Metric("buffers", "count", "buffer elements", False),
    Metric("param_bytes", "bytes", "bytes of parameters", False),
    Metric("macs", "count", "multiply-accumulates of conv, linear, matmul", True),
    Metric("flops", "count", "FLOPs (2 × MACs)", True),
    Metric("other_flops", "count", "norm, pooling, activation and elementwise work", False),
    Metric("activation_bytes", "bytes", "bytes of layer outputs", False),
    Metric("bytes_read", "bytes", "bytes read (activations + weights)", False),
    Metric("bytes_written", "bytes", "bytes written", False),
    Metric("traffic_bytes", "bytes", "memory traffic (read + written)", True),
    Metric("peak_activation_bytes", "bytes", "peak live activation memory", True),
    Metric("fused_traffic_bytes", "bytes", "memory traffic with conv+norm+act fused", False),
)
RF = Metric("rf", "px", "output receptive field, largest side (input pixels)", True)
LATENCY = Metric(
    "latency",
    "ms",
    "measured latency (profile section), noise-aware gate; else the predicted latency",
    True,
)
PREDICTED_LATENCY = Metric(
    "predicted_latency", "ms", "predicted end-to-end latency (latency section)", True
)

METRICS: tuple[Metric, ...] = (*_TOTALS, RF)  # numeric metrics compared as totals
_BY_NAME: dict[str, Metric] = {m.name: m for m in (*METRICS, LATENCY, PREDICTED_LATENCY)}


def metric_names() -> tuple[str, ...]:
    """Every name ``--fail-on`` accepts, in display order."""
    return tuple(_BY_NAME)


# ------------------------------------------------------------------------------ results


@dataclass(frozen=True)
class Side:
    """One side of the comparison: where it came from and what was analyzed."""

    label: str  # the file name or model spec the user gave
    model: str
    inputs: tuple[tuple[int, ...], ...]
    dtype: str | None
    trace_mode: str | None


@dataclass(frozen=True)
class MetricDelta:
    """A model-level metric on both sides; ``None`` where a side lacks it."""

    metric: Metric
    base: Number | None
    head: Number | None

    @property
    def name(self) -> str:
        return self.metric.name

    @property
    def delta(self) -> Number | None:
        if self.base is None or self.head is None:
            return None
        return self.head - self.base

    @property
    def relative(self) -> float | None:
        """``(head − base) / base``; ``None`` when a side is missing or base is 0."""
        d = self.delta
        if d is None or not self.base:
            return None
        return d / self.base


@dataclass(frozen=True)
class LatencyStats:
    """One batch size's latency summary (``profile.batches[i]`` of a report)."""

    batch_size: int
    median_ms: float
    p10_ms: float
    p90_ms: float

    def as_mapping(self) -> dict[str, float]:
        return {"median_ms": self.median_ms, "p10_ms": self.p10_ms, "p90_ms": self.p90_ms}


@dataclass(frozen=True)
class LatencyDelta:
    """Latency at the same batch size on both sides, with the default-threshold verdict."""

    base: LatencyStats
    head: LatencyStats
    base_device: str | None
    head_device: str | None
    verdict: Literal["regressed", "improved", "unchanged"]  # at the default 5 %

    @property
    def batch_size(self) -> int:
        return self.base.batch_size

    @property
    def delta_ms(self) -> float:
        return self.head.median_ms - self.base.median_ms

    @property
    def relative(self) -> float | None:
        return self.delta_ms / self.base.median_ms if self.base.median_ms else None

    def as_dict(self) -> dict[str, Any]:
        """The JSON form (``diff --format json`` and the comparison page share it)."""
        return {
            "batch_size": self.batch_size,
            "base": self.base.as_mapping(),
            "head": self.head.as_mapping(),
            "base_device": self.base_device,
            "head_device": self.head_device,
            "delta_ms": round(self.delta_ms, 6),
            "verdict": self.verdict,
        }


@dataclass(frozen=True)
class PredictedDelta:
    """The predicted end-to-end latency of both sides (``latency.predicted_ms``, from a
    target's kernel model: deterministic, so compared as plain numbers)."""

    base_ms: float
    head_ms: float
    base_target: str | None
    head_target: str | None

    @property
    def delta_ms(self) -> float:
        return self.head_ms - self.base_ms

    @property
    def relative(self) -> float | None:
        return self.delta_ms / self.base_ms if self.base_ms else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "base_ms": round(self.base_ms, 6),
            "head_ms": round(self.head_ms, 6),
            "base_target": self.base_target,
            "head_target": self.head_target,
            "delta_ms": round(self.delta_ms, 6),
        }


FieldValue = int | float | str | tuple[int, ...] | None


@dataclass(frozen=True)
class FieldDelta:
    """One per-layer field on both sides (``None`` on the side that lacks the layer)."""

    name: str
    base: FieldValue
    head: FieldValue

    @property
    def changed(self) -> bool:
        return self.base != self.head

    @property
    def delta(self) -> Number | None:
        """Numeric difference (a missing side counts as 0); ``None`` for non-numbers."""
        b, h = self.base, self.head
        if isinstance(b, str | tuple) or isinstance(h, str | tuple):
            return None
        return (h or 0) - (b or 0)


# Compared per layer. Receptive fields are compared only for the whole model (``rf``):
# one added layer changes the RF of every layer after it, which is not a change of theirs.
LAYER_FIELDS = (
    "type",
    "output_shape",
    "params",
    "macs",
    "flops",
    "activation_bytes",
    "traffic_bytes",
)


@dataclass(frozen=True)
class LayerDelta:
    """A layer matched by module path: added, removed, changed, or (only in the full
    alignment of :func:`align_layers`, never in :attr:`Diff.layers`) the same."""

    path: str
    status: Literal["added", "removed", "changed", "same"]
    fields: tuple[FieldDelta, ...]  # every field of LAYER_FIELDS, in that order

    def field(self, name: str) -> FieldDelta:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    @property
    def changed_fields(self) -> tuple[FieldDelta, ...]:
        return tuple(f for f in self.fields if f.changed)

    @property
    def type_name(self) -> str:
        f = self.field("type")
        return str(f.head if f.head is not None else f.base)


@dataclass(frozen=True)
class Diff:
    """The comparison of two reports; thresholds are evaluated by :func:`check`."""

    base: Side
    head: Side
    totals: tuple[MetricDelta, ...]
    latency: LatencyDelta | None
    aligned: tuple[LayerDelta, ...]  # every layer of either side (:func:`align_layers`)
    notes: tuple[str, ...]
    predicted: PredictedDelta | None = None  # both sides' predicted latency
    predicted_missing: str | None = None  # why it is None: which side lacks it

    @property
    def layers(self) -> tuple[LayerDelta, ...]:
        """The added / removed / changed layers, in model order."""
        return tuple(layer for layer in self.aligned if layer.status != "same")

    @property
    def unchanged_layers(self) -> int:
        return len(self.aligned) - len(self.layers)

    def total(self, name: str) -> MetricDelta:
        for t in self.totals:
            if t.name == name:
                return t
        raise KeyError(name)

    def count(self, status: str) -> int:
        return sum(1 for layer in self.layers if layer.status == status)


# ------------------------------------------------------------------------------ thresholds


@dataclass(frozen=True)
class Threshold:
    """One ``--fail-on`` gate. ``kind`` says what fails:

    * ``increase`` (``macs:+5%``, ``params:+1M``): head − base above the allowance;
    * ``decrease`` (``rf:-10%``, ``params:-1M``): base − head above the allowance;
    * ``above`` (``macs:>4G``) / ``below`` (``rf:<200``): head beyond an absolute bound.

    ``relative`` thresholds have ``amount`` = N / 100 of the base value.
    """

    metric: str
    relative: bool
    amount: Fraction
    token: str  # as the user wrote it, for messages
    kind: str = "increase"

    @property
    def limit_text(self) -> str:
        return self.token.split(":", 1)[1].strip()

    def compare_text(self, exceeded: bool) -> str:
        """``> +5%`` / ``≤ +5%``, ``< -10%`` / ``≥ -10%``, ``> 4G`` / ``≤ 4G``..."""
        limit = self.limit_text
        if self.kind in ("above", "below"):
            limit = limit[1:].strip()
        if self.kind in ("increase", "above"):
            return f"{'>' if exceeded else '≤'} {limit}"
        return f"{'<' if exceeded else '≥'} {limit}"


_TOKEN = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*:\s*(.*?)\s*$")
_PERCENT = re.compile(r"^\+?\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*%$")


def parse_thresholds(text: str | Iterable[str] | None) -> tuple[Threshold, ...]:
    """Parse ``"macs:+5%,rf:-10%,macs:>4G"`` (or several such strings) into thresholds
    (see :class:`Threshold` for the forms).

    Raises :class:`DiffError` naming the bad token: unknown metric, missing ``:``, a
    malformed amount, a relative bound, or anything but ``+N%`` on ``latency``.
    """
    if text is None:
        return ()
    texts = [text] if isinstance(text, str) else list(text)
    out: list[Threshold] = []
    for chunk in texts:
        for raw in chunk.split(","):
            token = raw.strip()
            if token:
                out.append(_parse_token(token))
    return tuple(out)


def _parse_token(token: str) -> Threshold:
    m = _TOKEN.match(token)
    if m is None:
        raise DiffError(
            f"bad --fail-on threshold '{token}': expected METRIC:+N%, METRIC:-N%, "
            "METRIC:+N, METRIC:-N, METRIC:>N or METRIC:<N, e.g. macs:+5% or rf:-10%"
        )
    name, amount = m.group(1), m.group(2)
    if name not in _BY_NAME:
        close = difflib.get_close_matches(name, list(_BY_NAME), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise DiffError(
            f"unknown metric '{name}' in --fail-on threshold '{token}'{hint}; "
            f"metrics: {', '.join(_BY_NAME)}"
        )
    kind = {"-": "decrease", ">": "above", "<": "below"}.get(amount[:1], "increase")
    number = amount[1:].strip() if amount[:1] in "+-<>" and amount else amount
    if name == PREDICTED_LATENCY.name:
        return _parse_predicted(token, kind, number)
    if name == LATENCY.name and kind != "increase":
        raise DiffError(
            f"bad --fail-on threshold '{token}': latency takes an allowed increase in "
            "percent (e.g. latency:+5%), compared noise-aware on p10/p90"
        )
    pct = _PERCENT.match(number)
    if pct is not None and not number.startswith("+"):
        if kind in ("above", "below"):
            raise DiffError(
                f"bad --fail-on threshold '{token}': a bound (>N or <N) is an absolute "
                "value such as macs:>4G; write +N% or -N% for a relative change"
            )
        return Threshold(name, True, Fraction(pct.group(1)) / 100, token, kind)
    if name == LATENCY.name:
        raise DiffError(
            f"bad --fail-on threshold '{token}': latency takes a percentage "
            "(e.g. latency:+5%), compared noise-aware on p10/p90"
        )
    from convscope.validate import parse_size

    try:
        value = parse_size(number)
    except ValueError:
        raise DiffError(
            f"bad --fail-on threshold '{token}': expected +N%, -N%, +N, -N, >N or <N with "
            "an optional K/M/G or KiB/MiB/GiB suffix"
        ) from None
    return Threshold(name, False, Fraction(value), token, kind)


_MS = re.compile(r"^([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*(ms)?$")


def _parse_predicted(token: str, kind: str, number: str) -> Threshold:
    """``predicted_latency:+5%``, ``:+2`` / ``:+2ms`` (ms), ``:>12.5`` (ms)."""
    pct = _PERCENT.match(number)
    if pct is not None and kind in ("increase", "decrease"):
        return Threshold(PREDICTED_LATENCY.name, True, Fraction(pct.group(1)) / 100, token, kind)
    ms = _MS.match(number)
    if ms is None or (pct is not None):
        raise DiffError(
            f"bad --fail-on threshold '{token}': predicted_latency takes +N%, -N%, +N, -N, "
            ">N or <N, N in milliseconds (e.g. predicted_latency:+5% or predicted_latency:>12)"
        )
    return Threshold(PREDICTED_LATENCY.name, False, Fraction(ms.group(1)), token, kind)


@dataclass(frozen=True)
class GateResult:
    """One threshold evaluated against a :class:`Diff`."""

    threshold: Threshold
    exceeded: bool
    detail: str  # e.g. "+6.10% > +5%" or "regressed: head p10 12.9 ms > base p90 11.8 ms × 1.05"
    verdict: str | None = None  # latency only: "regressed", "improved" or "unchanged"

    @property
    def metric(self) -> str:
        return self.threshold.metric


def check(diff: Diff, thresholds: Sequence[Threshold]) -> tuple[GateResult, ...]:
    """Evaluate every threshold. Raises :class:`DiffError` when a gated metric is missing
    on a side (no ``receptive_field`` or ``profile`` section, or no common batch size)."""
    return tuple(_check_one(diff, t) for t in thresholds)


def _check_one(diff: Diff, t: Threshold) -> GateResult:
    if t.metric == LATENCY.name:
        if diff.latency is None and diff.predicted is not None:
            return _check_predicted(diff, t)
        return _check_latency(diff, t)
    if t.metric == PREDICTED_LATENCY.name:
        return _check_predicted(diff, t)
    md = diff.total(t.metric)
    if md.base is None or md.head is None:
        missing = diff.base if md.base is None else diff.head
        which = "base" if md.base is None else "head"
        section = (
            f"totals.{t.metric}"
            if t.metric != RF.name
            else "receptive_field section (`convscope analyze --format json` writes one)"
        )
        raise DiffError(f"cannot gate on '{t.metric}': {which} ({missing.label}) has no {section}")
    return _compare(t, Fraction(md.base), Fraction(md.head))


def _compare(t: Threshold, base: Fraction, head: Fraction) -> GateResult:
    delta = head - base
    if t.kind == "above":
        exceeded = head > t.amount
        return GateResult(t, exceeded, f"{_amount_text(head)} {t.compare_text(exceeded)}")
    if t.kind == "below":
        exceeded = head < t.amount
        return GateResult(t, exceeded, f"{_amount_text(head)} {t.compare_text(exceeded)}")
    sign = 1 if t.kind == "increase" else -1
    if t.relative:
        grown = sign * delta
        exceeded = grown > 0 if base == 0 else grown > base * t.amount
        rel = f"{float(delta / base) * 100:+.2f}%" if base else ("new" if delta else "0%")
        limit = f"{'+' if sign > 0 else '-'}{_pct_text(t.amount)}"
    else:
        exceeded = sign * delta > t.amount
        rel = _signed(delta)
        limit = f"{'+' if sign > 0 else '-'}{_amount_text(t.amount)}"
    if sign > 0:
        return GateResult(t, exceeded, f"{rel} {'>' if exceeded else '≤'} {limit}")
    return GateResult(t, exceeded, f"{rel} {'<' if exceeded else '≥'} {limit}")


def _check_predicted(diff: Diff, t: Threshold) -> GateResult:
    """Predicted latency: deterministic, so head against base as plain numbers."""
    pred = diff.predicted
    if pred is None:
        reason = diff.predicted_missing or "no predicted latency in either report"
        raise DiffError(f"cannot gate on '{t.metric}': {reason}{_PREDICT_HINT}")
    result = _compare(t, Fraction(pred.base_ms), Fraction(pred.head_ms))
    where = pred.head_target if pred.head_target == pred.base_target else None
    detail = (
        f"predicted{' on ' + where if where else ''} {pred.base_ms:.4g} → "
        f"{pred.head_ms:.4g} ms: {result.detail}"
    )
    return GateResult(t, result.exceeded, detail)


_PREDICT_HINT = (
    " (a predicted latency is the `latency` section of `convscope analyze MODEL --target "
    "DEVICE.yaml --format json`, DEVICE.yaml holding a kernel model from `convscope profile "
    "--calibrate --kernels`)"
)


def _check_latency(diff: Diff, t: Threshold) -> GateResult:
    from convscope.profiling.run import latency_verdict

    lat = diff.latency
    if lat is None:
        reason = _latency_missing(diff)
        missing = diff.predicted_missing or "no predicted latency in either report"
        raise DiffError(f"cannot gate on 'latency': {reason}; {missing}{_PREDICT_HINT}")
    pct = float(t.amount)
    verdict = latency_verdict(lat.base.as_mapping(), lat.head.as_mapping(), pct)
    exceeded = verdict == "regressed"
    op = ">" if exceeded else "≤"
    detail = (
        f"{verdict}: head p10 {lat.head.p10_ms:.3g} ms {op} base p90 "
        f"{lat.base.p90_ms:.3g} ms × {1 + pct:g}"
    )
    return GateResult(t, exceeded, detail, verdict)


def _pct_text(amount: Fraction) -> str:
    return f"{float(amount * 100):g}%"


def _amount_text(amount: Fraction) -> str:
    return f"{float(amount):g}" if amount.denominator != 1 else str(amount.numerator)


def _signed(x: Fraction) -> str:
    v = x.numerator if x.denominator == 1 else float(x)
    return f"{v:+}" if isinstance(v, int) else f"{v:+g}"


# ------------------------------------------------------------------------------ reading


def validate_report(doc: Any, label: str) -> Mapping[str, Any]:
    """Check that ``doc`` is a convscope analysis report this version can compare.

    Raises :class:`DiffError` naming ``label`` (the file or spec) otherwise."""
    if not isinstance(doc, Mapping) or "schema_version" not in doc:
        raise DiffError(
            f"{label} is not a convscope JSON report (no schema_version; make one "
            "with `convscope analyze MODEL --format json -o FILE`)"
        )
    version = doc["schema_version"]
    if type(version) is not int or version != SCHEMA_VERSION:  # JSON true == 1 in Python
        raise DiffError(
            f"{label} has schema_version {version!r}; this convscope compares "
            f"version {SCHEMA_VERSION} reports (re-run `convscope analyze`)"
        )
    totals = doc.get("totals")
    if not isinstance(totals, Mapping):
        raise DiffError(f"{label}: 'totals' is missing or not an object")
    for metric in _TOTALS:
        value = totals.get(metric.name)
        if value is not None and not _is_number(value):
            raise DiffError(
                f"{label}: totals.{metric.name} is not a number in range: {_shown(value)}"
            )
    inputs = doc.get("inputs")
    if inputs is not None and not (
        isinstance(inputs, list)
        and all(
            isinstance(s, list) and all(_is_number(d) and isinstance(d, int) for d in s)
            for s in inputs
        )
    ):
        raise DiffError(f"{label}: 'inputs' must be a list of shapes, got {_shown(inputs)}")
    layers = doc.get("layers")
    if not isinstance(layers, list):
        raise DiffError(f"{label}: 'layers' is missing or not a list")
    for i, layer in enumerate(layers):
        if not isinstance(layer, Mapping) or not isinstance(layer.get("path"), str):
            raise DiffError(f"{label}: layers[{i}] has no 'path'")
        for key in ("params", "macs", "flops", "activation_bytes", "bytes_read", "bytes_written"):
            value = layer.get(key)
            if value is not None and not _is_number(value):
                raise DiffError(
                    f"{label}: layers[{i}].{key} is not a number in range: {_shown(value)}"
                )
    return doc


# Counts beyond a signed 64-bit integer come from no real model, and a float() of an
# integer past ~1e308 raises OverflowError.
_MAX_COUNT = 2**63


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:37]}..."


def _is_number(x: Any) -> bool:
    if isinstance(x, bool):
        return False
    if isinstance(x, int):
        return abs(x) < _MAX_COUNT
    return isinstance(x, float) and math.isfinite(x) and abs(x) < _MAX_COUNT


def load_report(path: str | Path) -> Mapping[str, Any]:
    """Read and validate a saved JSON report; one-line :class:`DiffError` on failure."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DiffError(f"report not found: {p}") from None
    except IsADirectoryError:
        raise DiffError(f"{p} is a directory, not a JSON report") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DiffError(f"cannot read {p}: {describe(exc)}") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DiffError(
            f"{p} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except RecursionError:
        raise DiffError(f"{p}: {TOO_DEEP}") from None
    return validate_report(doc, str(p))


def is_report_path(arg: str) -> bool:
    """``BASE``/``HEAD`` naming a saved report (``*.json``) rather than a model spec."""
    return arg.lower().endswith(".json")


def load_side(
    arg: str,
    *,
    input_shapes: Sequence[tuple[int, ...]] | None = None,
    trust_pickle: bool = False,
) -> Mapping[str, Any]:
    """A report for ``arg``: a saved ``.json`` report, or a model spec analyzed now (with
    receptive fields, exactly as ``convscope analyze --format json`` writes it)."""
    if is_report_path(arg):
        return load_report(arg)
    from convscope.analysis import schema
    from convscope.analysis.rf import with_receptive_field
    from convscope.analysis.run import analyze_spec

    result = with_receptive_field(
        analyze_spec(arg, input_shapes=input_shapes, trust_pickle=trust_pickle)
    )
    return validate_report(schema.to_dict(result), arg)


# ------------------------------------------------------------------------------ comparing


def diff_reports(
    base: Mapping[str, Any],
    head: Mapping[str, Any],
    *,
    base_label: str | None = None,
    head_label: str | None = None,
) -> Diff:
    """Compare two JSON reports (``schema_version`` 1). Labels name the sides in messages
    and reports (default: their ``model``)."""
    base_label = base_label or str(base.get("model", "base"))
    head_label = head_label or str(head.get("model", "head"))
    validate_report(base, base_label)
    validate_report(head, head_label)
    sb, sh = _side(base, base_label), _side(head, head_label)
    totals = tuple(MetricDelta(m, _metric(base, m), _metric(head, m)) for m in METRICS)
    latency, latency_note = _latency(base, head)
    aligned = align_layers(base["layers"], head["layers"])
    notes: list[str] = []
    if sb.inputs != sh.inputs:
        notes.append(f"inputs differ: base {_shapes(sb.inputs)}, head {_shapes(sh.inputs)}")
    if sb.dtype != sh.dtype:
        notes.append(
            f"bytes priced differently: base dtype {sb.dtype or 'as built'}, "
            f"head dtype {sh.dtype or 'as built'}"
        )
    if latency_note:
        notes.append(latency_note)
    predicted, missing = _predicted(base, head, base_label, head_label)
    if predicted is not None and predicted.base_target != predicted.head_target:
        notes.append(
            f"latency predicted for different targets: base {predicted.base_target}, "
            f"head {predicted.head_target}"
        )
    return Diff(sb, sh, totals, latency, aligned, tuple(notes), predicted, missing)


def _predicted_ms(doc: Mapping[str, Any]) -> tuple[float, str | None] | None:
    section = doc.get("latency")
    if not isinstance(section, Mapping) or not _is_number(section.get("predicted_ms")):
        return None
    target = section.get("target")
    return float(section["predicted_ms"]), str(target) if target is not None else None


def _predicted(
    base: Mapping[str, Any], head: Mapping[str, Any], base_label: str, head_label: str
) -> tuple[PredictedDelta | None, str | None]:
    """Both sides' predicted latency, or None and which side lacks it."""
    b, h = _predicted_ms(base), _predicted_ms(head)
    if b is not None and h is not None:
        return PredictedDelta(b[0], h[0], b[1], h[1]), None
    if b is None and h is None:
        return None, "no predicted latency in either report"
    which, label = ("base", base_label) if b is None else ("head", head_label)
    return None, f"no predicted latency in {which} ({label})"


def _shapes(shapes: Sequence[Sequence[int]]) -> str:
    return ", ".join("×".join(str(d) for d in s) for s in shapes) or "none"


def _side(doc: Mapping[str, Any], label: str) -> Side:
    inputs = doc.get("inputs") or []
    trace = doc.get("trace")
    return Side(
        label=label,
        model=str(doc.get("model", label)),
        inputs=tuple(tuple(int(d) for d in s) for s in inputs if isinstance(s, list)),
        dtype=doc.get("dtype"),
        trace_mode=trace.get("mode") if isinstance(trace, Mapping) else None,
    )


def _metric(doc: Mapping[str, Any], m: Metric) -> Number | None:
    if m is RF:
        return _rf_size(doc.get("receptive_field"))
    value = doc["totals"].get(m.name)
    return value if _is_number(value) else None


def _rf_size(section: Any) -> int | float | None:
    """Largest side of an RF dict (``receptive_field`` summary or a layer's ``rf``)."""
    if not isinstance(section, Mapping):
        return None
    size = section.get("size")
    if not isinstance(size, list) or not size or not all(_is_number(s) for s in size):
        return None
    biggest: int | float = max(size)
    return biggest


def _profile_batches(doc: Mapping[str, Any]) -> list[LatencyStats] | None:
    prof = doc.get("profile")
    if not isinstance(prof, Mapping) or not isinstance(prof.get("batches"), list):
        return None
    out: list[LatencyStats] = []
    for b in prof["batches"]:
        if not isinstance(b, Mapping):
            continue
        values: list[Any] = [b.get(k) for k in ("median_ms", "p10_ms", "p90_ms")]
        if isinstance(b.get("batch_size"), int) and all(_is_number(v) for v in values):
            out.append(LatencyStats(b["batch_size"], *(float(v) for v in values)))
    return out or None


def _device(doc: Mapping[str, Any]) -> str | None:
    prof = doc.get("profile")
    if not isinstance(prof, Mapping):
        return None
    name = prof.get("device_name") or prof.get("device")
    return str(name) if name is not None else None


def _latency(
    base: Mapping[str, Any], head: Mapping[str, Any]
) -> tuple[LatencyDelta | None, str | None]:
    from convscope.profiling.run import DEFAULT_GATE_PCT, latency_verdict

    bb, hb = _profile_batches(base), _profile_batches(head)
    if bb is None and hb is None:
        return None, None
    if bb is None or hb is None:
        which = "head" if bb is None else "base"
        return None, f"latency measured only in {which}; not compared"
    by_size = {b.batch_size: b for b in hb}
    for b in bb:  # the first batch size both sides measured, in base's order
        h = by_size.get(b.batch_size)
        if h is not None:
            verdict = latency_verdict(b.as_mapping(), h.as_mapping(), DEFAULT_GATE_PCT)
            bd, hd = _device(base), _device(head)
            note = (
                f"latency measured on different devices: base {bd}, head {hd}" if bd != hd else None
            )
            return LatencyDelta(b, h, bd, hd, verdict), note
    sizes_b = ",".join(str(b.batch_size) for b in bb)
    sizes_h = ",".join(str(h.batch_size) for h in hb)
    return None, (f"latency not compared: no common batch size (base {sizes_b}, head {sizes_h})")


def _latency_missing(diff: Diff) -> str:
    for note in diff.notes:
        if note.startswith("latency"):
            return note
    return (
        "no profile section in either report (make them with `convscope profile "
        "MODEL --format json -o FILE`)"
    )


def _layer_values(layer: Mapping[str, Any] | None) -> dict[str, FieldValue]:
    if layer is None:
        return dict.fromkeys(LAYER_FIELDS)
    shape = layer.get("output_shape")
    read: Any = layer.get("bytes_read")
    written: Any = layer.get("bytes_written")
    return {
        "type": str(layer.get("type", "")),
        "output_shape": tuple(shape) if isinstance(shape, list) else None,
        "params": layer.get("params"),
        "macs": layer.get("macs"),
        "flops": layer.get("flops"),
        "activation_bytes": layer.get("activation_bytes"),
        "traffic_bytes": (read + written if _is_number(read) and _is_number(written) else None),
    }


def align_layers(
    base: Sequence[Mapping[str, Any]], head: Sequence[Mapping[str, Any]]
) -> tuple[LayerDelta, ...]:
    """Every layer of either report's ``layers``, matched by path, with its status.

    Order: head's, with each removed layer placed after the base layer that preceded it
    (so a removed block shows where it used to be). ``diff`` lists the layers that differ;
    the side-by-side comparison page shows them all."""
    base_by: dict[str, Mapping[str, Any]] = {}
    for layer in base:
        base_by.setdefault(layer["path"], layer)
    head_by: dict[str, Mapping[str, Any]] = {}
    for layer in head:
        head_by.setdefault(layer["path"], layer)

    removed_after: dict[str | None, list[str]] = {}
    anchor: str | None = None
    for path in base_by:
        if path in head_by:
            anchor = path
        else:
            removed_after.setdefault(anchor, []).append(path)

    order: list[str] = list(removed_after.get(None, []))
    for path in head_by:
        order.append(path)
        order.extend(removed_after.get(path, []))

    out: list[LayerDelta] = []
    for path in order:
        b, h = base_by.get(path), head_by.get(path)
        bv, hv = _layer_values(b), _layer_values(h)
        fields = tuple(FieldDelta(k, bv[k], hv[k]) for k in LAYER_FIELDS)
        if b is None:
            out.append(LayerDelta(path, "added", fields))
        elif h is None:
            out.append(LayerDelta(path, "removed", fields))
        elif any(f.changed for f in fields):
            out.append(LayerDelta(path, "changed", fields))
        else:
            out.append(LayerDelta(path, "same", fields))
    return tuple(out)


# ------------------------------------------------------------------------------ JSON


def as_dict(diff: Diff, results: Sequence[GateResult] = ()) -> dict[str, Any]:
    """The ``--format json`` document (``diff_version`` 1)."""

    def side(s: Side) -> dict[str, Any]:
        return {
            "label": s.label,
            "model": s.model,
            "inputs": [list(i) for i in s.inputs],
            "dtype": s.dtype,
            "trace_mode": s.trace_mode,
        }

    def num(x: Number | None) -> Number | None:
        return round(x, 6) if isinstance(x, float) else x

    lat = diff.latency
    return {
        "diff_version": DIFF_VERSION,
        "base": side(diff.base),
        "head": side(diff.head),
        "totals": {
            t.name: {
                "base": num(t.base),
                "head": num(t.head),
                "delta": num(t.delta),
                "delta_pct": None if t.relative is None else round(100 * t.relative, 4),
            }
            for t in diff.totals
        },
        "latency": None if lat is None else lat.as_dict(),
        **({"predicted_latency": diff.predicted.as_dict()} if diff.predicted is not None else {}),
        "gates": [
            {
                "metric": r.metric,
                "threshold": r.threshold.limit_text,
                "exceeded": r.exceeded,
                "detail": r.detail,
            }
            for r in results
        ],
        "exceeded": any(r.exceeded for r in results),
        "layers": {
            "added": diff.count("added"),
            "removed": diff.count("removed"),
            "changed": diff.count("changed"),
            "unchanged": diff.unchanged_layers,
            "rows": [
                {
                    "path": layer.path,
                    "status": layer.status,
                    "fields": {
                        f.name: {"base": _json_value(f.base), "head": _json_value(f.head)}
                        for f in layer.fields
                        if f.changed
                    },
                }
                for layer in diff.layers
            ],
        },
        "notes": list(diff.notes),
    }


def _json_value(v: FieldValue) -> Any:
    return list(v) if isinstance(v, tuple) else v
