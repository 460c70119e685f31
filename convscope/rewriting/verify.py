"""Prove a rewrite: the new model traces, keeps its output shapes, and measures exactly
what the plan predicted.

Checks (each failure is one line in :attr:`Verification.problems`):

* the rewritten model traces with :func:`convscope.analysis_run.analyze` (meta tensors);
* its output shapes equal the original's;
* whole-model params, trainable params and MACs measured by ``analyze`` equal the plan's
  prediction exactly, and so does each rewritten layer (the rows under its path);
* spatialize without frozen filters preserves the function: relative output deviation
  ≤ :data:`IDENTITY_TOLERANCE`.

Output deviation on the sample inputs (eval mode, no grad) is reported as the max absolute
difference and the relative L2 norm ``‖y_new − y_old‖ / ‖y_old‖`` over all outputs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch.utils._pytree import tree_flatten

from convscope.analysis import run as analysis_run
from convscope.analysis.build import Analysis
from convscope.errors import describe
from convscope.model.arguments import ModelInputs
from convscope.model.guard import ModelCodeError
from convscope.rewriting.plan import Plan

__all__ = ["IDENTITY_TOLERANCE", "Deviation", "Verification", "deviation", "verify"]

IDENTITY_TOLERANCE = 1e-5


@dataclass(frozen=True)
class Deviation:
    max_abs: float
    rel_l2: float


def deviation(before: Any, after: Any) -> Deviation:
    """Max abs and relative L2 difference over every tensor in two model outputs."""
    a = [t for t in tree_flatten(before)[0] if isinstance(t, torch.Tensor)]
    b = [t for t in tree_flatten(after)[0] if isinstance(t, torch.Tensor)]
    if len(a) != len(b) or any(x.shape != y.shape for x, y in zip(a, b, strict=True)):
        return Deviation(math.inf, math.inf)
    max_abs = 0.0
    diff_sq = ref_sq = 0.0
    for x, y in zip(a, b, strict=True):
        if not (x.is_floating_point() or x.is_complex()):
            x, y = x.double(), y.double()
        d = y.detach().double() - x.detach().double()
        if d.numel():
            max_abs = max(max_abs, float(d.abs().max()))
        diff_sq += float(d.square().sum())
        ref_sq += float(x.detach().double().square().sum())
    rel = math.sqrt(diff_sq / ref_sq) if ref_sq else (0.0 if diff_sq == 0 else math.inf)
    return Deviation(max_abs, rel)


@dataclass(frozen=True)
class Verification:
    """What was measured on the rewritten model against what the plan predicted."""

    traced: bool
    output_shapes_before: tuple[tuple[int, ...], ...]
    output_shapes_after: tuple[tuple[int, ...], ...]
    params_expected: int
    params_measured: int
    trainable_expected: int
    trainable_measured: int
    macs_expected: int
    macs_measured: int
    max_abs_deviation: float
    rel_l2_deviation: float
    function_preserving: bool  # whether the rewrite is meant to leave outputs unchanged
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "traced": self.traced,
            "output_shapes_before": [list(s) for s in self.output_shapes_before],
            "output_shapes_after": [list(s) for s in self.output_shapes_after],
            "params_expected": self.params_expected,
            "params_measured": self.params_measured,
            "trainable_expected": self.trainable_expected,
            "trainable_measured": self.trainable_measured,
            "macs_expected": self.macs_expected,
            "macs_measured": self.macs_measured,
            "max_abs_deviation": _finite(self.max_abs_deviation),
            "rel_l2_deviation": _finite(self.rel_l2_deviation),
            "function_preserving": self.function_preserving,
            "problems": list(self.problems),
        }


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def _under(path: str, row_path: str) -> bool:
    return row_path == path or row_path.startswith(path + ".")


def verify(
    new_model: torch.nn.Module,
    inputs: ModelInputs,
    plan: Plan,
    before: Analysis,
    outputs_before: Any,
    outputs_after: Any,
) -> Verification:
    """Trace ``new_model`` on ``inputs`` and compare with ``plan`` and the original run."""

    problems: list[str] = []
    shapes_before = before.output_shapes
    try:
        after = analysis_run.analyze(new_model, inputs, name=f"{plan.model} (rewritten)")
    except ModelCodeError:  # exit, interrupt or timeout: never retried or hidden
        raise
    except Exception as exc:  # reported, not raised: the caller turns problems into an error
        problems.append(f"the rewritten model does not trace: {describe(exc)}")
        dev = deviation(outputs_before, outputs_after)
        return Verification(
            False,
            shapes_before,
            (),
            plan.params_after,
            -1,
            plan.trainable_after,
            -1,
            plan.macs_after,
            -1,
            dev.max_abs,
            dev.rel_l2,
            False,
            tuple(problems),
        )

    shapes_after = after.output_shapes
    if shapes_after != shapes_before:
        problems.append(f"output shapes changed: {list(shapes_before)} → {list(shapes_after)}")
    t = after.totals
    for what, expected, measured in (
        ("params", plan.params_after, t.params),
        ("trainable params", plan.trainable_after, t.trainable_params),
        ("MACs", plan.macs_after, t.macs),
    ):
        if expected != measured:
            problems.append(f"{what}: plan predicted {expected:,}, analyze measured {measured:,}")
    for p in plan.layers:
        rows = [r for r in after.rows if _under(p.path, r.path)]
        params, macs = sum(r.params for r in rows), sum(r.macs for r in rows)
        if (params, macs) != (p.params_after, p.macs_after):
            problems.append(
                f"layer {p.path}: plan predicted {p.params_after:,} params / "
                f"{p.macs_after:,} MACs, analyze measured {params:,} / {macs:,}"
            )

    dev = deviation(outputs_before, outputs_after)
    preserving = plan.mode == "spatialize" and not plan.frozen_spatial
    if preserving and not dev.rel_l2 <= IDENTITY_TOLERANCE:
        problems.append(
            f"spatialize changed the outputs (relative L2 {dev.rel_l2:.3g} > "
            f"{IDENTITY_TOLERANCE:g}) although the inserted filters are identities"
        )
    return Verification(
        traced=True,
        output_shapes_before=shapes_before,
        output_shapes_after=shapes_after,
        params_expected=plan.params_after,
        params_measured=t.params,
        trainable_expected=plan.trainable_after,
        trainable_measured=t.trainable_params,
        macs_expected=plan.macs_after,
        macs_measured=t.macs,
        max_abs_deviation=dev.max_abs,
        rel_l2_deviation=dev.rel_l2,
        function_preserving=preserving,
        problems=tuple(problems),
    )
