"""The effective receptive field (``--erf``, Luo et al. 2016).

:func:`effective_rf` keeps real (random) weights, feeds random normal inputs,
back-propagates the centre position of a feature map (summed over channels) and averages
``|∂y/∂x|`` over samples; it reports the side of the smallest centred square holding
50 / 90 / 99 % of the gradient mass and keeps a ≤ 64 × 64 map.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils._pytree import tree_flatten

from convscope.analysis.build import Analysis
from convscope.analysis.run import as_inputs
from convscope.checks.probe import draw_inputs, first_float, position_text, real_copy
from convscope.model.arguments import ModelInputs
from convscope.model.guard import model_code, module_label
from convscope.model.state import keeps_global_state
from convscope.passes.keys import RECEPTIVE_FIELD
from convscope.passes.receptive.walk import receptive_field

__all__ = ["ERFResult", "effective_rf"]


@dataclass(frozen=True)
class ERFResult:
    """Effective receptive field of one feature-map position (Luo et al., 2016)."""

    layer: str
    position: tuple[int, ...]  # the output pixel back-propagated
    input_size: tuple[int, ...]
    samples: int
    center: tuple[int, ...]  # input pixel the squares are centred on (gradient centre of mass)
    fractions: tuple[float, ...]  # (0.5, 0.9, 0.99)
    sides: tuple[int, ...]  # side of the smallest centred square holding each fraction
    map: list[list[float]] = field(repr=False)  # mean |grad|, max-normalised, ≤ 64 × 64
    map_stride: int = 1  # input pixels per map cell
    analytic_size: tuple[float, ...] | None = None  # theoretical RF of the layer, if known

    def side(self, fraction: float) -> int:
        for f, s in zip(self.fractions, self.sides, strict=True):
            if abs(f - fraction) < 1e-9:
                return s
        raise KeyError(fraction)

    def summary_dict(self) -> dict[str, Any]:
        return {
            "layer": self.layer,
            "position": list(self.position),
            "input_size": list(self.input_size),
            "samples": self.samples,
            "center": list(self.center),
            "sides": {f"{f:g}": s for f, s in zip(self.fractions, self.sides, strict=True)},
            "analytic_size": list(self.analytic_size) if self.analytic_size else None,
            "map_stride": self.map_stride,
            "map": [[round(v, 4) for v in row] for row in self.map],
        }

    def layer_dict(self, path: str) -> dict[str, Any] | None:
        return None

    def render(self) -> str:
        inp = "×".join(str(s) for s in self.input_size)
        parts = ", ".join(
            f"{f:.0%} within {s}×{s}" for f, s in zip(self.fractions, self.sides, strict=True)
        )
        text = (
            f"effective RF of {self.layer or '(root)'} at {position_text(self.position)} "
            f"(input {inp}, {self.samples} samples): {parts} px around {position_text(self.center)}"
        )
        if self.analytic_size:
            text += f"; theoretical RF {'×'.join(f'{s:g}' for s in self.analytic_size)}"
        return text


def _record_outputs(net: nn.Module, args: ModelInputs) -> list[tuple[str, torch.Tensor]]:
    """Run ``net`` with grad and list every module's first output tensor, in completion order."""
    order: list[tuple[str, torch.Tensor]] = []

    def make(path: str) -> Callable[[nn.Module, Any, Any], None]:
        def hook(_m: nn.Module, _a: Any, out: Any) -> None:
            ts = [t for t in tree_flatten(out)[0] if isinstance(t, torch.Tensor)]
            if ts:
                order.append((path, ts[0]))

        return hook

    hooks = [mod.register_forward_hook(make(p)) for p, mod in net.named_modules()]
    try:
        with torch.enable_grad(), model_code("forward", module_label(net)):
            args.call(net)
    finally:
        for h in hooks:
            h.remove()
    return order


def _pick_layer(
    outputs: Sequence[tuple[str, torch.Tensor]], x: torch.Tensor, layer: str | None
) -> tuple[str, torch.Tensor] | None:
    if layer is not None:
        for name, t in reversed(outputs):
            if name == layer:
                return name, t
        return None
    spatial_in = tuple(x.shape[2:])
    for name, t in reversed(outputs):
        if t.dim() != x.dim() or not t.requires_grad:
            continue
        sp = tuple(t.shape[2:])
        if all(s == 1 for s in sp) and any(s > 1 for s in spatial_in):
            continue
        return name, t
    return None


def _square_sides(
    g: torch.Tensor, fractions: Sequence[float]
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Centre of mass and smallest centred (odd) square sides holding each fraction."""
    total = float(g.sum())
    dims = g.shape
    if total <= 0:
        return tuple(s // 2 for s in dims), tuple(0 for _ in fractions)
    centre: list[int] = []
    for a in range(g.dim()):
        other = [d for d in range(g.dim()) if d != a]
        line = g.sum(dim=tuple(other)) if other else g
        pos = torch.arange(line.numel(), dtype=line.dtype)
        centre.append(round(float((line * pos).sum()) / total))
    limit = max(dims)
    sides: list[int] = []
    h = 0
    for f in fractions:
        while True:
            sl = tuple(
                slice(max(0, c - h), min(n, c + h + 1)) for c, n in zip(centre, dims, strict=True)
            )
            if float(g[sl].sum()) >= f * total - 1e-12 or 2 * h + 1 >= 2 * limit + 1:
                break
            h += 1
        sides.append(min(2 * h + 1, limit))
    return tuple(centre), tuple(sides)


@keeps_global_state
@torch.enable_grad()  # gradients are the measurement, even under a caller's no_grad
def effective_rf(
    model: nn.Module,
    inputs: Any,
    *,
    samples: int = 8,
    seed: int = 0,
    layer: str | None = None,
    analysis: Analysis | None = None,
) -> ERFResult:
    """Effective receptive field (Luo et al., 2016) of the centre position of ``layer``
    (default: the last module output that is still a spatial map).

    ``samples`` random normal inputs (``seed``) through a CPU copy with the model's own
    weights (random ones for a model on meta); the mean ``|∂y/∂x|`` of the centre position
    summed over channels is the map. ``analysis`` adds the theoretical RF for comparison.
    """
    net = real_copy(model, seed)
    args = as_inputs(inputs)
    gen = torch.Generator().manual_seed(seed)

    def normal(shape: tuple[int, ...], dt: torch.dtype) -> torch.Tensor:
        return torch.randn(shape, generator=gen, dtype=dt)

    total: torch.Tensor | None = None
    chosen: tuple[str, tuple[int, ...]] | None = None
    paths = [p for p, _ in net.named_modules()]
    for _ in range(max(1, samples)):
        real = draw_inputs(args, torch.float32, normal)
        x = first_float(real)
        x.requires_grad_(True)
        order = _record_outputs(net, real)
        pick = _pick_layer(order, x, layer)
        if pick is None:
            raise ValueError(
                f"no spatial feature map found for the ERF (layer={layer!r}); "
                f"modules: {', '.join(paths[:8])}..."
            )
        name, out = pick
        position = tuple(int(s) // 2 for s in out.shape[2:])
        chosen = (name, position)
        index: tuple[Any, ...] = (0, slice(None), *position)
        seed_val = out[index].sum()
        (grad,) = torch.autograd.grad(seed_val, x, allow_unused=True)
        g = torch.zeros_like(x[0]) if grad is None else grad[0].abs()
        g = g.reshape(-1, *g.shape[1:]).sum(0) if g.dim() > 1 else g
        total = g if total is None else total + g
    assert total is not None and chosen is not None
    mean = total / max(1, samples)
    spatial = tuple(int(s) for s in mean.shape)
    while mean.dim() > 2:
        mean = mean.sum(0)
    if mean.dim() == 1:
        mean = mean.unsqueeze(0)
    fractions = (0.5, 0.9, 0.99)
    centre, sides = _square_sides(mean, fractions)
    factor = max(1, math.ceil(max(mean.shape) / 64))
    small = (
        F.avg_pool2d(mean[None, None], factor, factor, ceil_mode=True)[0, 0] if factor > 1 else mean
    )
    peak = float(small.max()) or 1.0
    grid = [[float(v) / peak for v in row] for row in small.tolist()]
    analytic = None
    if analysis is not None:
        rf = analysis.section(RECEPTIVE_FIELD)
        if rf is None:
            rf = receptive_field(analysis.graph)
        node_rf = rf.per_layer.get(chosen[0])
        analytic = node_rf.size if node_rf is not None else None
    return ERFResult(
        layer=chosen[0],
        position=chosen[1],
        input_size=spatial,
        samples=max(1, samples),
        center=centre,
        fractions=fractions,
        sides=sides,
        map=grid,
        map_stride=factor,
        analytic_size=analytic,
    )
