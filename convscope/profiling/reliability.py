"""How far a profile can be trusted: the profiler's own verdict on its numbers.

Pure arithmetic on figures a run already produced (no torch, no clock), so the rules are
tested on synthetic timings. A result is **noisy** when

* the end-to-end spread ``(p90 − p10) / median`` of any batch size exceeds
  :data:`SPREAD_LIMIT` — other processes, frequency scaling or thread contention moved the
  samples around; or
* the unattributed share ``|e2e median − Σ layers| / e2e median`` of the per-layer run
  exceeds :data:`UNATTRIBUTED_LIMIT` — the per-layer times do not explain the forward.

Independently, the roofline figures are **suspect** when a layer "achieves" more than
:data:`ACHIEVED_LIMIT` of its lower bound (the machine is faster than the figures say:
a calibration problem, never a fast layer), when ``--calibrate`` rounds never agreed, or
when the figures describe another kind of device than the one measured (a GPU roof under
CPU timings). Every output (text, JSON, HTML, Markdown) shows the verdict.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ACHIEVED_LIMIT",
    "ADVICE",
    "SPREAD_LIMIT",
    "UNATTRIBUTED_LIMIT",
    "Reliability",
    "assess",
]

SPREAD_LIMIT = 0.25
UNATTRIBUTED_LIMIT = 0.25
ACHIEVED_LIMIT = 1.0
ADVICE = "rerun on a quiet machine / with --threads 1"


@dataclass(frozen=True)
class Reliability:
    """``noisy``: the timings themselves are unreliable (``reasons`` say why);
    ``roofline_warnings``: the roofline figures do not fit the measured machine."""

    noisy: bool
    reasons: tuple[str, ...] = ()
    roofline_warnings: tuple[str, ...] = ()

    @property
    def verdict(self) -> str:
        return "noisy" if self.noisy else "ok"

    @property
    def headline(self) -> str | None:
        """One line for the top of any output, or None when nothing is wrong."""
        if self.noisy:
            return f"noisy — {ADVICE}: " + "; ".join(self.reasons)
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "noisy": self.noisy,
            "reasons": list(self.reasons),
            "advice": ADVICE if self.noisy else None,
            "roofline_warnings": list(self.roofline_warnings),
            "thresholds": {
                "spread": SPREAD_LIMIT,
                "unattributed_share": UNATTRIBUTED_LIMIT,
                "achieved": ACHIEVED_LIMIT,
            },
        }


def assess(
    *,
    spreads: Mapping[int, float],
    unattributed_share: float | None = None,
    achieved: Mapping[str, float | None] | None = None,
    measured_device: str | None = None,
    roof_device: str | None = None,
    roof_name: str | None = None,
    calibration_stable: bool | None = None,
) -> Reliability:
    """The verdict on one profile.

    ``spreads``: batch size → end-to-end spread; ``unattributed_share``: remainder over
    the e2e median (signed; its size counts); ``achieved``: layer → predicted/measured;
    ``measured_device`` / ``roof_device``: ``"cpu"`` or ``"cuda"`` (``cuda:1`` counts as
    ``cuda``; an unknown roof device is not compared); ``calibration_stable``: False when
    ``--calibrate`` rounds never agreed.
    """
    reasons: list[str] = []
    for batch, spread in sorted(spreads.items()):
        if spread > SPREAD_LIMIT:
            reasons.append(
                f"batch {batch}: spread {spread:.0%} > {SPREAD_LIMIT:.0%} (p90 − p10 over median)"
            )
    if unattributed_share is not None and abs(unattributed_share) > UNATTRIBUTED_LIMIT:
        share = abs(unattributed_share)
        reasons.append(
            f"{share:.0%} of the end-to-end time is unattributed to layers "
            f"(> {UNATTRIBUTED_LIMIT:.0%})"
            if unattributed_share > 0
            else f"the per-layer times add up to {share:.0%} more than the end-to-end time "
            f"(> {UNATTRIBUTED_LIMIT:.0%}): the timing hooks' own overhead"
        )
    warnings: list[str] = []
    over = _over_roof(achieved or {})
    if over:
        names = ", ".join(f"{p or '(root)'} {a:.0%}" for p, a in over[:5])
        more = f" and {len(over) - 5} more" if len(over) > 5 else ""
        warnings.append(
            f"{len(over)} layer(s) beat the roofline ({names}{more}): the figures "
            f"underestimate this machine — a calibration problem; recalibrate "
            "(`convscope profile --calibrate`) or check the target"
        )
    if calibration_stable is False:
        warnings.append(
            "--calibrate rounds never agreed within tolerance: the roofline figures are "
            f"unreliable; {ADVICE}"
        )
    measured_kind = (measured_device or "").split(":")[0] or None
    if roof_device and measured_kind and roof_device != measured_kind:
        warnings.append(
            f"roofline '{roof_name or '?'}' describes a {roof_device} device but the timings "
            f"were measured on {measured_kind}: achieved fractions compare unlike machines"
        )
    return Reliability(bool(reasons), tuple(reasons), tuple(warnings))


def _over_roof(achieved: Mapping[str, float | None]) -> Sequence[tuple[str, float]]:
    hits = [(p, a) for p, a in achieved.items() if a is not None and a > ACHIEVED_LIMIT]
    return sorted(hits, key=lambda x: (-x[1], x[0]))
