"""Model zoo names: ``torchvision:NAME`` and ``timm:NAME``, each with the input its model
is made for. Both libraries are optional.
"""

from __future__ import annotations

import contextlib
import difflib
import inspect
import types
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

from torch import nn

from convscope.errors import ModelLoadError
from convscope.model.shapes import DEFAULT_INPUT_SHAPE, is_shape
from convscope.model.target import Target

__all__ = ["resolve_timm", "resolve_torchvision"]


def resolve_torchvision(name: str) -> Target:
    try:
        import torchvision.models as tvm  # optional dependency
    except ImportError as exc:
        raise ModelLoadError(
            "torchvision is not installed: install it with `pip install convscope[vision]`"
        ) from exc
    known = tvm.list_models()
    key = name.lower()
    if key not in known:
        close = difflib.get_close_matches(key, known, n=3, cutoff=0.6)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise ModelLoadError(f"unknown torchvision model '{name}'{hint}")

    # Detection/segmentation builders fetch backbone weights unless told not to.
    extra: dict[str, Any] = {}
    with contextlib.suppress(TypeError, ValueError):
        if "weights_backbone" in inspect.signature(tvm.get_model_builder(key)).parameters:
            extra["weights_backbone"] = None

    def build() -> nn.Module:
        with warnings.catch_warnings():
            # GoogLeNet/Inception warn about a future change of their default init: noise
            # for an analysis that never looks at the weights' values.
            warnings.filterwarnings(
                "ignore", message=".*default weight initialization", category=FutureWarning
            )
            return tvm.get_model(key, weights=None, **extra)

    def natural(_: nn.Module) -> tuple[tuple[int, ...], ...]:
        return _torchvision_input(tvm, key)

    return Target(f"torchvision:{key}", "torchvision", build=build, natural_inputs=natural)


def _torchvision_input(tvm: types.ModuleType, name: str) -> tuple[tuple[int, ...], ...]:
    """The input a torchvision model is made for (``tvm``: ``torchvision.models``): clips
    for video, image pairs for flow."""
    builder_module = tvm.get_model_builder(name).__module__
    if builder_module.startswith("torchvision.models.video"):
        crop: Sequence[int] = (112, 112)
        frames = 16
        with contextlib.suppress(Exception):
            weights = tvm.get_model_weights(name).DEFAULT
            crop = weights.transforms.keywords.get("crop_size", crop)
            frames = max(frames, int(weights.meta.get("min_temporal_size", frames)))
        return ((1, 3, frames, int(crop[0]), int(crop[-1])),)
    if builder_module.startswith("torchvision.models.optical_flow"):
        return (DEFAULT_INPUT_SHAPE, DEFAULT_INPUT_SHAPE)
    return (DEFAULT_INPUT_SHAPE,)


def resolve_timm(name: str) -> Target:
    try:
        import timm  # optional dependency
    except ImportError as exc:
        raise ModelLoadError(
            "timm is not installed: install it with `pip install convscope[timm]`"
        ) from exc
    if not timm.is_model(name):
        close = difflib.get_close_matches(name, timm.list_models(), n=3, cutoff=0.6)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise ModelLoadError(f"unknown timm model '{name}'{hint}")

    def build() -> nn.Module:
        model: nn.Module = timm.create_model(name, pretrained=False)
        return model

    return Target(f"timm:{name}", "timm", build=build, natural_inputs=_timm_input)


def _timm_input(module: nn.Module) -> tuple[tuple[int, ...], ...]:
    cfg = getattr(module, "pretrained_cfg", None) or getattr(module, "default_cfg", None)
    size = cfg.get("input_size") if isinstance(cfg, Mapping) else None
    if is_shape(size):
        return ((1, *(int(d) for d in size)),)
    return (DEFAULT_INPUT_SHAPE,)
