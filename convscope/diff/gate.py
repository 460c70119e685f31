"""``--fail-on`` thresholds and their evaluation against a :class:`~convscope.diff.result.Diff`.

A threshold is ``METRIC:+N%`` (relative increase over base) or ``METRIC:+N`` (absolute
increase; ``N`` may carry a K/M/G/T suffix, powers of 1000, or Ki/Mi/Gi with an optional
``B``, powers of 1024: ``+1M``, ``+64MiB``). A threshold is *exceeded* when head is larger
than base by strictly more than ``N``. ``latency`` accepts only percentages;
``predicted_latency`` takes ``N`` in milliseconds.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction

from convscope.diff.errors import DiffError
from convscope.diff.metrics import BY_NAME, LATENCY, PREDICTED_LATENCY, RF
from convscope.diff.result import Diff
from convscope.validate import parse_size


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
    if name not in BY_NAME:
        close = difflib.get_close_matches(name, list(BY_NAME), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise DiffError(
            f"unknown metric '{name}' in --fail-on threshold '{token}'{hint}; "
            f"metrics: {', '.join(BY_NAME)}"
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
    # imports torch (about 2 s): gating two saved reports on anything else never needs it
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


def _latency_missing(diff: Diff) -> str:
    for note in diff.notes:
        if note.startswith("latency"):
            return note
    return (
        "no profile section in either report (make them with `convscope profile "
        "MODEL --format json -o FILE`)"
    )


def _pct_text(amount: Fraction) -> str:
    return f"{float(amount * 100):g}%"


def _amount_text(amount: Fraction) -> str:
    return f"{float(amount):g}" if amount.denominator != 1 else str(amount.numerator)


def _signed(x: Fraction) -> str:
    v = x.numerator if x.denominator == 1 else float(x)
    return f"{v:+}" if isinstance(v, int) else f"{v:+g}"
