"""Depthwise-separable and "spatialize" rewrites: plan, apply, verify.

    >>> from convscope.rewriting import rewrite
    >>> result = rewrite(model, (1, 3, 64, 64), only="layer3.*")
    >>> result.model            # a new nn.Module; ``model`` is untouched
    >>> result.plan[0].savings  # per layer: params / MACs before → after, weight error
    >>> result.verification.ok  # traced again: shapes, params and MACs as predicted

* :mod:`convscope.rewriting.plan` selects layers and predicts costs (no torch);
* :mod:`convscope.rewriting.apply` builds the new model and factorizes the trained kernels;
* :mod:`convscope.rewriting.verify` traces the result and compares it with the prediction.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

import torch

from convscope.analysis import run as analysis_run
from convscope.analysis.latency import predict_latency
from convscope.linting.config import Settings
from convscope.linting.engine import lint
from convscope.linting.profiles import resolve_target
from convscope.linting.registry import default_registry
from convscope.model.arguments import ModelInputs
from convscope.model.guard import model_code, module_label
from convscope.model.materialize import materialize, real_inputs
from convscope.model.modes import eval_mode
from convscope.model.state import keeps_global_state
from convscope.rewriting.apply import apply_plan_inplace
from convscope.rewriting.plan import (
    ExportError,
    LayerPlan,
    Plan,
    RewriteError,
    Skipped,
    VerificationError,
    make_plan,
)
from convscope.rewriting.verify import verify
from convscope.targets.keys import LATENCY
from convscope.targets.profiles import Profile

__all__ = [
    "ExportError",
    "LayerPlan",
    "Plan",
    "RewriteError",
    "RewriteResult",
    "Skipped",
    "VerificationError",
    "make_plan",
    "rewrite",
]

SCHEMA_VERSION = 1


@dataclass(frozen=True, eq=False)
class RewriteResult:
    """A rewritten model with its plan and the proof that it matches the plan.

    ``model``: the new module (same train/eval flags as the original); ``plan``: the
    rewritten layers (frozen :class:`LayerPlan`, with measured ``weight_error``);
    ``verification``: :class:`~convscope.rewriting.verify.Verification`; ``full_plan``:
    the :class:`Plan` with skipped layers and whole-model totals; ``inputs``: the sample
    inputs the deviation was measured on (real tensors, also the export example).
    """

    model: Any  # torch.nn.Module (kept untyped so this module imports without torch)
    plan: tuple[LayerPlan, ...]
    verification: Any  # convscope.rewriting.verify.Verification
    full_plan: Plan
    inputs: ModelInputs  # the real inputs the model was run and verified on
    weights: str = "the model's own"  # or "random init ..." when materialized from meta

    def to_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"schema_version": SCHEMA_VERSION, "kind": "rewrite"}
        doc.update(self.full_plan.to_dict())
        doc["weights"] = self.weights
        doc["inputs"] = [list(getattr(t, "shape", ())) for t in self.inputs.values()]
        doc["verification"] = self.verification.to_dict()
        return _json_safe(doc)


def _json_safe(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


# --------------------------------------------------------------------------- helpers


def _run(model: Any, inputs: ModelInputs) -> Any:
    with eval_mode(model), torch.no_grad(), model_code("forward", module_label(model)):
        return inputs.call(model)


def _layers_from_lint(analysis: Any) -> tuple[str, ...]:
    """Paths named by rule DW003 (separable-candidate), run alone with its default options."""

    registry = default_registry()
    settings = Settings().with_overrides(registry, select="DW003")
    result = lint(analysis, settings, registry=registry)
    layers = tuple(dict.fromkeys(f.layer for f in result.findings if f.code == "DW003"))
    if not layers:
        raise RewriteError("no layer to rewrite: rule DW003 (separable-candidate) found nothing")
    return layers


# --------------------------------------------------------------------------- entry point


@keeps_global_state
def rewrite(
    model: Any,
    inputs: Any = None,
    *,
    only: str | Iterable[str] | None = None,
    mode: str = "separable",
    multiplier: int = 1,
    min_savings: float = 0.0,
    frozen_spatial: bool = False,
    layers: Iterable[str] | None = None,
    from_lint: bool = False,
    name: str | None = None,
    seed: int = 0,
    target: str | Profile | None = None,
    allow_slower: bool = False,
) -> RewriteResult:
    """Plan, build and verify a rewrite of ``model``; ``model`` itself is never modified.

    ``inputs``: tensors or shapes as for :func:`convscope.analyze` (meta inputs are
    replaced by seeded random tensors for the deviation check). ``mode``: ``"separable"``
    (dense k×k conv → depthwise k×k with depth multiplier ``multiplier`` + pointwise 1×1,
    initialized from the rank-m SVD of each input channel's kernel slice) or
    ``"spatialize"`` (1×1 conv → identity depthwise 3×3 + the 1×1 conv). ``only``: fnmatch
    globs on module paths; ``min_savings``: skip separable layers saving less than this
    fraction of their MACs (0 disables); ``frozen_spatial``: random, frozen depthwise
    filters. ``layers``: exact paths; ``from_lint``: take them from DW003 findings.
    ``target``: a target profile (name or ``.yaml``); with a kernel model, every layer is
    priced before and after on it, and a separable layer predicted no faster is skipped
    with the reason (DW003 too, with ``from_lint``) unless ``allow_slower``.

    A model on the meta device gets seeded random weights (``result.weights`` says so).
    Raises :class:`RewriteError` for a bad selection and :class:`VerificationError` when
    the rewritten model does not measure what the plan predicted.
    """

    args = analysis_run.as_inputs(inputs)
    copied = materialize(model, seed=seed, device=None)
    real, random_weights = copied.module, copied.random
    before = analysis_run.analyze(real, args, name=name)
    latency = None
    profile = resolve_target(target) if target is not None else None
    if profile is not None and profile.kernels is not None:
        latency = predict_latency(before, profile)
        before = before.with_section(LATENCY, latency)  # DW003 reads it with from_lint
    if from_lint:
        found = _layers_from_lint(before)
        layers = found if layers is None else [p for p in layers if p in found]
    plan = make_plan(
        before,
        mode=mode,
        only=only,
        multiplier=multiplier,
        min_savings=min_savings,
        frozen_spatial=frozen_spatial,
        layers=layers,
        latency=latency,
        allow_slower=allow_slower,
    )
    if profile is not None and latency is None:
        plan = replace(
            plan,
            notes=(
                *plan.notes,
                f"target '{profile.name}' has no kernel model: MACs only, no predicted time "
                "(`convscope profile --calibrate --kernels` measures one)",
            ),
        )
    sample = real_inputs(args, seed=seed)
    reference = _run(real, sample)
    errors = apply_plan_inplace(real, plan, seed=seed)
    plan = plan.with_errors(errors)
    result_out = _run(real, sample)
    check = verify(real, args, plan, before, reference, result_out)
    if not check.ok:
        raise VerificationError(
            "internal error: the rewritten model does not match the plan: "
            + "; ".join(check.problems)
        )
    weights = "random init (the model was on meta)" if random_weights else "the model's own"
    return RewriteResult(
        model=real,
        plan=plan.layers,
        verification=check,
        full_plan=plan,
        inputs=sample,
        weights=weights,
    )
