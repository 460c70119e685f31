"""Predicted latency of an analysis on a target with a kernel model (``analyze --target``).

The prediction is :func:`convscope.targets.latency.predict` on the analysis's graph; the
roofline of the same target, when it has figures, is placed beside it as what it is, a
lower bound (per layer and in total). No weights, no run of the model.
"""

from __future__ import annotations

import dataclasses
from types import MappingProxyType

from convscope.analysis.build import Analysis
from convscope.errors import InputError
from convscope.targets import latency as latency_mod
from convscope.targets import roofline as roofline_mod
from convscope.targets.keys import LATENCY
from convscope.targets.profiles import DEFAULT_TARGET, Profile, read_profile, roofline_params

__all__ = ["NoKernelModelError", "predict_latency", "with_latency"]


class NoKernelModelError(InputError):
    """The target profile has no ``kernels:`` section to predict latency from."""


def predict_latency(
    analysis: Analysis, target: str | Profile | None
) -> latency_mod.LatencyPrediction:
    """Per-layer and end-to-end predicted time of ``analysis`` on ``target`` (a profile,
    or its name or ``.yaml`` path), at the analysed batch size; the target's roofline
    lower bound beside it. A name or path is read for its hardware data only (the kernel
    model and roofline figures); the linter checks a profile's rule sections."""
    profile = target if isinstance(target, Profile) else read_profile(target or DEFAULT_TARGET)
    if profile.kernels is None:
        raise NoKernelModelError(
            f"target '{profile.name}' has no kernel model to predict latency from; measure "
            "one on the device with `convscope profile --calibrate --kernels -o DEVICE.yaml`"
        )
    predicted = latency_mod.predict(analysis.graph, profile.kernels, target=profile.name)
    params = roofline_params(profile)
    if params is None:
        return predicted
    roof = roofline_mod.estimate(analysis.rows, params)
    return dataclasses.replace(
        predicted,
        roofline_ms=roof.predicted_s * 1e3,
        roofline_layer_ms=MappingProxyType({x.path: x.predicted_s * 1e3 for x in roof.layers}),
        roofline_source=params.source,
    )


def with_latency(analysis: Analysis, target: str | Profile | None) -> Analysis:
    """A copy of ``analysis`` with the :data:`~convscope.targets.keys.LATENCY` section
    (:func:`predict_latency`); ``analysis`` is unchanged."""
    return analysis.with_section(LATENCY, predict_latency(analysis, target))
