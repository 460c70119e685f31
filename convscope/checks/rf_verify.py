"""Empirical receptive fields: prove the analytic RF against the network itself.

:func:`verify_rf` (``--verify-rf``) measures the *exact input support* of one output
pixel. On a CPU copy of the model (the user's model is never touched) every conv /
linear weight becomes the positive constant ``1/fan_in`` with zero bias, BatchNorm the
identity (weight 1, bias 0, running mean 0, running var ``1 − eps``), other norms and
activation modules ``nn.Identity``, max pooling a positive average over the same window
geometry (kernel, stride, padding, dilation, ceil_mode), and the input positive
(``1 + 0.1·U(0, 1)``), in float64 (float32 when the network is too shallow for the
smallest path gradient to underflow). Then no two paths can cancel, so an input pixel has a
non-zero gradient exactly when some path connects it to the output pixel. Functional
calls in ``forward`` (``F.relu``, ``torch.sigmoid``, ``F.max_pool2d``...) are replaced the
same way through a ``TorchFunctionMode``; a nonlinearity reached in some other way stays
(ReLU-like ones are harmless with positive values, saturating ones may hide pixels).

For each layer a set of output pixels ``i`` is back-propagated: the centre, the first two
and last two positions of each axis, and one whole period of the stride pattern (after
upsampling ×4 the RF cycles through 4 phases), paired across axes so every axis sees every
one of them. The bounding box of the non-zero input gradient is compared with the
analytic interval of that pixel, clipped to ``[0, I − 1]``: the pass's exact per-position
interval where it has one, else ``[i·S − P, i·S − P + r − 1]``:

* exact layers (exact intervals, no guessed geometry upstream) whose interval lies inside
  the image and reads no padding: the box must match exactly. When a path reads padding,
  the box only has to lie inside the clipped extent: with dilation or stride > kernel
  the support has holes, so the first reachable pixel may sit after the edge, and a
  branch whose window on one axis holds only padding drops out on every axis;
* layers behind guessed geometry, or resampling the pass could only fit affinely: the
  measured box must lie inside the analytic extent widened by the pass's tolerance;
* global layers: the gradient must reach the whole input.

:func:`effective_rf` (``--erf``, Luo et al. 2016) keeps real (random) weights, feeds
random normal inputs, back-propagates the centre position of a feature map (summed over
channels) and averages ``|∂y/∂x|`` over samples; it reports the side of the smallest
centred square holding 50 / 90 / 99 % of the gradient mass and keeps a ≤ 64 × 64 map.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_flatten

from convscope import formulas as fm
from convscope.analysis.build import Analysis
from convscope.analysis.run import as_inputs
from convscope.ir import graph as ir
from convscope.model.guard import ModelCodeError, model_code, module_label
from convscope.model.materialize import materialize
from convscope.model.modes import set_eval
from convscope.model.state import keeps_global_state
from convscope.passes.keys import RECEPTIVE_FIELD
from convscope.passes.receptive.structure import NodeRF, ReceptiveField, receptive_field

__all__ = ["ERFResult", "LayerCheck", "VerifyResult", "effective_rf", "verify_rf"]

Extent = tuple[int, int]


# ---------------------------------------------------------------------------------------
# results


@dataclass(frozen=True)
class LayerCheck:
    """One verified layer: extents per spatial axis, inclusive input-pixel indices."""

    layer: str
    position: tuple[int, ...]  # the pixel shown: the centre, or the first that disagrees
    analytic: tuple[Extent, ...] | None  # analytic extent clipped to the image; None: empty
    measured: tuple[Extent, ...] | None  # bounding box of the non-zero gradient; None: none
    is_global: bool
    exact: bool  # exact intervals (no guessed geometry upstream): strict comparison
    agree: bool  # at every checked position
    note: str = ""
    # every output pixel back-propagated: centre, borders and each phase of the stride pattern
    positions: tuple[tuple[int, ...], ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "layer": self.layer,
            "position": list(self.position),
            "analytic": [list(e) for e in self.analytic] if self.analytic else None,
            "measured": [list(e) for e in self.measured] if self.measured else None,
            "global": self.is_global,
            "exact": self.exact,
            "agree": self.agree,
            "note": self.note,
            "positions_checked": len(self.positions) or 1,
        }


@dataclass(frozen=True)
class VerifyResult:
    """Per-layer agreement of analytic and measured receptive fields."""

    input_size: tuple[int, ...]
    checks: tuple[LayerCheck, ...]
    skipped: tuple[tuple[str, str], ...] = ()  # (layer, reason)
    notes: tuple[str, ...] = ()
    dtype: str = "float64"

    @property
    def all_agree(self) -> bool:
        return all(c.agree for c in self.checks)

    @property
    def disagreements(self) -> tuple[LayerCheck, ...]:
        return tuple(c for c in self.checks if not c.agree)

    def check(self, layer: str) -> LayerCheck:
        for c in self.checks:
            if c.layer == layer:
                return c
        raise KeyError(layer)

    def summary_dict(self) -> dict[str, Any]:
        return {
            "input_size": list(self.input_size),
            "all_agree": self.all_agree,
            "checked": len(self.checks),
            "disagree": len(self.disagreements),
            "layers": [c.as_dict() for c in self.checks],
            "skipped": [{"layer": k, "reason": r} for k, r in self.skipped],
            "notes": list(self.notes),
        }

    def layer_dict(self, path: str) -> dict[str, Any] | None:
        for c in self.checks:
            if c.layer == path:
                return c.as_dict()
        return None

    def render(self) -> str:
        """Plain-text table."""
        axes = _axis_names(len(self.input_size))
        head = ["layer", "pixel", "analytic", "measured", "result"]
        rows = [head]
        for c in self.checks:
            result = "agree" if c.agree else "DISAGREE"
            if c.is_global:
                result += " (global)"
            rows.append(
                [
                    c.layer or "(root)",
                    _pos(c.position),
                    _extents(c.analytic, axes),
                    _extents(c.measured, axes),
                    result + (f" {c.note}" if c.note else ""),
                ]
            )
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        lines = ["  ".join(r[i].ljust(widths[i]) for i in range(4)) + "  " + r[4] for r in rows]
        lines.insert(1, "-" * (sum(widths) + 8 + len(head[4])))
        inp = "×".join(str(s) for s in self.input_size)
        n_bad = len(self.disagreements)
        verdict = "all agree" if not n_bad else f"{n_bad} disagree"
        lines.append(
            f"receptive fields verified on {len(self.checks)} layer(s), input {inp} "
            f"({self.dtype}, positive weights): {verdict}"
        )
        for layer, reason in self.skipped:
            lines.append(f"skipped {layer or '(root)'}: {reason}")
        lines.extend(self.notes)
        return "\n".join(lines)


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
            f"effective RF of {self.layer or '(root)'} at {_pos(self.position)} "
            f"(input {inp}, {self.samples} samples): {parts} px around {_pos(self.center)}"
        )
        if self.analytic_size:
            text += f"; theoretical RF {'×'.join(f'{s:g}' for s in self.analytic_size)}"
        return text


def _axis_names(n: int) -> list[str]:
    return {1: ["L"], 2: ["H", "W"], 3: ["D", "H", "W"]}.get(n, [f"a{i}" for i in range(n)])


def _pos(p: Sequence[int]) -> str:
    return "(" + ",".join(str(x) for x in p) + ")"


def _extents(e: Sequence[Extent] | None, axes: Sequence[str]) -> str:
    if not e:
        return "—"
    return " ".join(f"{a}[{lo},{hi}]" for a, (lo, hi) in zip(axes, e, strict=False))


# ---------------------------------------------------------------------------------------
# the positive copy


_ACTIVATIONS: tuple[type[nn.Module], ...] = (
    nn.ReLU,
    nn.ReLU6,
    nn.LeakyReLU,
    nn.PReLU,
    nn.RReLU,
    nn.ELU,
    nn.SELU,
    nn.CELU,
    nn.GELU,
    nn.SiLU,
    nn.Mish,
    nn.Hardswish,
    nn.Hardsigmoid,
    nn.Hardtanh,
    nn.Sigmoid,
    nn.Tanh,
    nn.Softplus,
    nn.Softsign,
    nn.Tanhshrink,
    nn.Threshold,
    nn.LogSigmoid,
    nn.Hardshrink,
    nn.Softshrink,
)
_NORMS: tuple[type[nn.Module], ...] = (
    nn.GroupNorm,
    nn.LayerNorm,
    nn.LocalResponseNorm,
    nn.modules.instancenorm._InstanceNorm,
) + ((nn.RMSNorm,) if hasattr(nn, "RMSNorm") else ())

_IDENTITY_FUNCS: frozenset[Callable[..., Any]] = frozenset(
    {
        F.relu,
        F.relu_,
        torch.relu,
        torch.relu_,
        torch.Tensor.relu,
        torch.Tensor.relu_,
        F.relu6,
        F.hardtanh,
        F.hardtanh_,
        F.elu,
        F.elu_,
        F.selu,
        F.celu,
        F.leaky_relu,
        F.leaky_relu_,
        F.gelu,
        F.silu,
        F.mish,
        F.hardswish,
        F.hardsigmoid,
        F.softplus,
        F.softsign,
        F.threshold,
        torch.threshold_,
        F.logsigmoid,
        F.hardshrink,
        F.softshrink,
        F.tanhshrink,
        F.rrelu,
        F.prelu,
        torch.sigmoid,
        torch.sigmoid_,
        torch.Tensor.sigmoid,
        torch.Tensor.sigmoid_,
        F.sigmoid,
        torch.tanh,
        torch.tanh_,
        torch.Tensor.tanh,
        torch.Tensor.tanh_,
        F.tanh,
    }
)
_MAXPOOLS: Mapping[Callable[..., Any], tuple[int, bool]] = {
    F.max_pool1d: (1, False),
    F.max_pool2d: (2, False),
    F.max_pool3d: (3, False),
    F.max_pool1d_with_indices: (1, True),
    F.max_pool2d_with_indices: (2, True),
    F.max_pool3d_with_indices: (3, True),
    torch.max_pool1d: (1, False),
    torch.max_pool2d: (2, False),
    torch.max_pool3d: (3, False),
}
_ADAPTIVE_MAX: Mapping[Callable[..., Any], tuple[int, bool]] = {
    F.adaptive_max_pool1d: (1, False),
    F.adaptive_max_pool2d: (2, False),
    F.adaptive_max_pool3d: (3, False),
    F.adaptive_max_pool1d_with_indices: (1, True),
    F.adaptive_max_pool2d_with_indices: (2, True),
    F.adaptive_max_pool3d_with_indices: (3, True),
}


def _tup(v: Any, n: int, default: int) -> tuple[int, ...]:
    if v is None:
        return (default,) * n
    if isinstance(v, int):
        return (v,) * n
    vals = tuple(int(x) for x in v)
    if not vals:
        return (default,) * n
    return vals * n if len(vals) == 1 else vals


def _positive_pool(
    x: torch.Tensor,
    nd: int,
    kernel: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
) -> torch.Tensor:
    """Mean over the same windows as a max pool (same output size), via a depthwise conv."""
    k = _tup(kernel, nd, 1)
    s = _tup(stride, nd, 0)
    s = tuple(si or ki for si, ki in zip(s, k, strict=True))
    p = _tup(padding, nd, 0)
    d = _tup(dilation, nd, 1)
    unbatched = x.dim() == nd + 1
    if unbatched:
        x = x.unsqueeze(0)
    spatial = x.shape[2:]
    extra: list[int] = []
    for size, ki, si, pi, di in zip(spatial, k, s, p, d, strict=True):
        out = fm.pool_output_size(int(size), ki, si, pi, di, bool(ceil_mode))
        need = (out - 1) * si + di * (ki - 1) + 1 - (int(size) + 2 * pi)
        extra.append(max(0, need))
    if any(extra):
        pads: list[int] = []
        for e in reversed(extra):
            pads += [0, e]
        x = F.pad(x, pads)
    c = x.shape[1]
    w = torch.full((c, 1, *k), 1.0 / math.prod(k), dtype=x.dtype, device=x.device)
    conv = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[nd]
    y = conv(x, w, None, s, p, d, c)
    return y.squeeze(0) if unbatched else y


class _PositivePool(nn.Module):
    """Stand-in for ``nn.MaxPoolNd``: same windows, mean instead of max."""

    def __init__(self, nd: int, pool: nn.Module) -> None:
        super().__init__()
        self.nd = nd
        self.kernel_size: Any = pool.kernel_size
        self.stride: Any = pool.stride
        self.padding: Any = pool.padding
        self.dilation: Any = pool.dilation
        self.ceil_mode = bool(pool.ceil_mode)
        self.return_indices = bool(pool.return_indices)
        self.pool = pool

    def forward(self, x: torch.Tensor) -> Any:
        y = _positive_pool(
            x, self.nd, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode
        )
        if self.return_indices:
            with torch.no_grad():
                _, idx = self.pool(x.detach())
            return y, idx
        return y


class _PositiveMode(TorchFunctionMode):
    """Functional nonlinearities → identity, functional max pooling → positive mean."""

    def __init__(self) -> None:
        super().__init__()
        self.replaced: set[str] = set()

    def __torch_function__(
        self,
        func: Any,
        types: Any,
        args: Sequence[Any] = (),
        kwargs: Mapping[str, Any] | None = None,
    ) -> Any:
        kwargs = dict(kwargs or {})
        try:
            if func in _IDENTITY_FUNCS:
                x = args[0] if args else kwargs.get("input")
                if isinstance(x, torch.Tensor):
                    self.replaced.add(getattr(func, "__name__", str(func)))
                    return x
            if func in _MAXPOOLS:
                nd, with_idx = _MAXPOOLS[func]
                return self._maxpool(func, nd, with_idx, args, kwargs)
            if func in _ADAPTIVE_MAX:
                nd, with_idx = _ADAPTIVE_MAX[func]
                out_size = args[1] if len(args) > 1 else kwargs["output_size"]
                pool = {
                    1: F.adaptive_avg_pool1d,
                    2: F.adaptive_avg_pool2d,
                    3: F.adaptive_avg_pool3d,
                }[nd]
                y = pool(args[0], out_size)
                if with_idx or kwargs.get("return_indices"):
                    with torch.no_grad():
                        _, idx = (
                            func(args[0].detach(), out_size, return_indices=True)
                            if not with_idx
                            else func(args[0].detach(), out_size)
                        )
                    return y, idx
                return y
        except TypeError:  # unhashable func or odd arguments: run it unchanged
            pass
        return func(*args, **kwargs)

    def _maxpool(
        self, func: Any, nd: int, with_idx: bool, args: Sequence[Any], kwargs: dict[str, Any]
    ) -> Any:
        names = [
            "input",
            "kernel_size",
            "stride",
            "padding",
            "dilation",
            "ceil_mode",
            "return_indices",
        ]
        bound = dict(zip(names, args, strict=False))
        bound.update(kwargs)
        x = bound["input"]
        y = _positive_pool(
            x,
            nd,
            bound["kernel_size"],
            bound.get("stride"),
            bound.get("padding", 0),
            bound.get("dilation", 1),
            bool(bound.get("ceil_mode", False)),
        )
        self.replaced.add(f"max_pool{nd}d")
        if with_idx or bound.get("return_indices"):
            with torch.no_grad():
                real = {
                    1: F.max_pool1d_with_indices,
                    2: F.max_pool2d_with_indices,
                    3: F.max_pool3d_with_indices,
                }[nd]
                _, idx = real(
                    x.detach(),
                    bound["kernel_size"],
                    bound.get("stride"),
                    bound.get("padding", 0),
                    bound.get("dilation", 1),
                    bool(bound.get("ceil_mode", False)),
                    True,
                )
            return y, idx
        return y


def _real_copy(model: nn.Module, seed: int = 0) -> nn.Module:
    """A CPU copy in eval mode with real storage (seeded random weights for a meta model)."""
    return set_eval(materialize(model, seed=seed).module)


def _replace(root: nn.Module, path: str, new: nn.Module) -> None:
    parent_path, _, name = path.rpartition(".")
    parent = root.get_submodule(parent_path) if parent_path else root
    setattr(parent, name, new)


def _positive_copy(model: nn.Module) -> nn.Module:
    """The verification copy: positive weights, identity norms and nonlinearities."""
    m = _real_copy(model)
    handled: set[int] = set()
    with torch.no_grad():
        for path, mod in list(m.named_modules()):
            if not path:
                continue
            if isinstance(mod, nn.modules.conv._ConvNd):
                w = mod.weight
                if isinstance(mod, nn.modules.conv._ConvTransposeNd):
                    fan = (w.shape[0] // mod.groups) * math.prod(w.shape[2:])
                    fan = max(1, fan // math.prod(mod.stride))
                else:
                    fan = max(1, w[0].numel())
                w.fill_(1.0 / fan)
                handled.add(id(w))
                if mod.bias is not None:
                    mod.bias.zero_()
                    handled.add(id(mod.bias))
            elif isinstance(mod, nn.Linear):
                mod.weight.fill_(1.0 / max(1, mod.in_features))
                handled.add(id(mod.weight))
                if mod.bias is not None:
                    mod.bias.zero_()
                    handled.add(id(mod.bias))
            elif (
                isinstance(mod, nn.modules.batchnorm._BatchNorm)
                and mod.track_running_stats
                and mod.running_mean is not None
                and mod.running_var is not None
            ):
                if mod.weight is not None:
                    mod.weight.fill_(1.0)
                    handled.add(id(mod.weight))
                if mod.bias is not None:
                    mod.bias.zero_()
                    handled.add(id(mod.bias))
                mod.running_mean.zero_()
                mod.running_var.fill_(1.0 - mod.eps)
            elif isinstance(mod, (nn.modules.batchnorm._BatchNorm, *_NORMS, *_ACTIVATIONS)):
                _replace(m, path, nn.Identity())
            elif isinstance(mod, (nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d)):
                nd = (
                    1
                    if isinstance(mod, nn.MaxPool1d)
                    else 2
                    if isinstance(mod, nn.MaxPool2d)
                    else 3
                )
                _replace(m, path, _PositivePool(nd, mod))
            elif (
                isinstance(mod, (nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool3d))
                and not mod.return_indices
            ):
                cls = {
                    nn.AdaptiveMaxPool1d: nn.AdaptiveAvgPool1d,
                    nn.AdaptiveMaxPool2d: nn.AdaptiveAvgPool2d,
                    nn.AdaptiveMaxPool3d: nn.AdaptiveAvgPool3d,
                }[type(mod)]
                _replace(m, path, cls(mod.output_size))
        # anything else learnable (layer scale, embeddings...): positive, so nothing cancels
        for p in m.parameters():
            if id(p) not in handled and p.is_floating_point():
                p.abs_().add_(1e-3)
    return set_eval(m)


# ---------------------------------------------------------------------------------------
# inputs and hooks


def _materialise(
    inputs: Sequence[Any],
    dtype: torch.dtype,
    make: Callable[..., torch.Tensor],
) -> tuple[Any, ...]:
    out: list[Any] = []
    for x in inputs:
        if isinstance(x, torch.Tensor):
            if x.is_floating_point():
                out.append(make(tuple(x.shape), dtype))
            elif x.is_meta:
                out.append(torch.zeros(tuple(x.shape), dtype=x.dtype))
            else:
                out.append(x.detach().to("cpu"))
        else:
            out.append(x)
    return tuple(out)


def _as_inputs(inputs: Any) -> tuple[Any, ...]:
    return as_inputs(inputs)


@contextmanager
def _capture(model: nn.Module, paths: Sequence[str]) -> Iterator[dict[str, torch.Tensor]]:
    """Forward hooks keeping the last output tensor of each module path."""
    found: dict[str, torch.Tensor] = {}
    modules = dict(model.named_modules())
    handles = []
    for path in paths:
        mod = modules.get(path)
        if mod is None:
            continue

        def hook(_m: nn.Module, _a: Any, out: Any, path: str = path) -> None:
            tensors = [t for t in tree_flatten(out)[0] if isinstance(t, torch.Tensor)]
            if tensors:
                found[path] = tensors[0]

        handles.append(mod.register_forward_hook(hook))
    try:
        yield found
    finally:
        for h in handles:
            h.remove()


def _seed(out: torch.Tensor, dims: Sequence[int], position: Sequence[int]) -> torch.Tensor:
    """Weighted sum over the non-spatial dims of batch element 0 at one position."""
    t = out[0]
    sp = [d - 1 for d in dims]
    rest = [d for d in range(t.dim()) if d not in sp]
    t = t.permute(*rest, *sp)
    t = t.reshape(-1, *t.shape[len(rest) :])
    index: tuple[Any, ...] = (slice(None), *position)
    v = t[index]
    w = 1.0 + torch.arange(v.numel(), dtype=v.dtype) / max(1, v.numel())
    return (v.reshape(-1) * w).sum()


def _support(grad: torch.Tensor | None, nd: int) -> tuple[Extent, ...] | None:
    """Bounding box of the non-zero gradient (the last ``nd`` dims are spatial; only batch
    element 0 is seeded, and the other elements are independent of it)."""
    if grad is None:
        return None
    g = grad.abs().reshape(-1, *grad.shape[-nd:]).sum(0)
    nz = g != 0
    if not bool(nz.any()):
        return None
    out: list[Extent] = []
    for a in range(nd):
        other = [d for d in range(nd) if d != a]
        line = nz.any(dim=tuple(other)) if other else nz
        idx = torch.nonzero(line).flatten()
        out.append((int(idx.min()), int(idx.max())))
    return tuple(out)


# ---------------------------------------------------------------------------------------
# verify_rf


def _analytic(
    rf: NodeRF, position: Sequence[int], size: Sequence[int], tol: Sequence[float]
) -> tuple[tuple[float, float], ...]:
    out = []
    for a in range(len(size)):
        lo, hi = rf.interval(a, position[a])
        out.append((lo - tol[a], hi + tol[a]))
    return tuple(out)


def _exact_axes(rf: NodeRF, nd: int) -> tuple[bool, ...]:
    return tuple(bool(rf.positions and rf.positions[a] is not None) for a in range(nd))


def _check_positions(rf: NodeRF, shape: Sequence[int]) -> list[tuple[int, ...]]:
    """Centre first, then the borders and one period of the stride pattern per axis,
    paired across axes (position k takes each axis' k-th index, cycling)."""
    per_axis: list[list[int]] = []
    for a, n in enumerate(shape):
        centre = n // 2
        per = min(max(1, rf.period(a)), 16)
        start = min(max(0, (centre // per) * per), max(0, n - per))
        idx = [centre, 0, 1, n - 2, n - 1, *range(start, start + per)]
        per_axis.append(list(dict.fromkeys(i for i in idx if 0 <= i < n)))
    count = max((len(v) for v in per_axis), default=0)
    return list(dict.fromkeys(tuple(v[k % len(v)] for v in per_axis) for k in range(count)))


def _compare(
    rf: NodeRF,
    position: Sequence[int],
    size: Sequence[int],
    tol: Sequence[float],
    exact: bool,
    measured: tuple[Extent, ...] | None,
) -> tuple[tuple[Extent, ...] | None, bool, str]:
    if rf.is_global:
        full = tuple((0, n - 1) for n in size)
        return full, measured == full, "" if measured == full else "(gradient misses part of it)"
    raw = _analytic(rf, position, size, tol)
    clipped: list[Extent] = []
    for (lo, hi), n in zip(raw, size, strict=True):
        lo_i, hi_i = max(0, math.floor(lo + 1e-9)), min(n - 1, math.ceil(hi - 1e-9))
        if lo_i > hi_i:
            return None, measured is None, ""
        clipped.append((lo_i, hi_i))
    analytic = tuple(clipped)
    if measured is None:
        # Only possible when every path of the pixel ends in padding, which needs a window
        # that leaves the image (a clipped side).
        clipped_side = any(lo < 0 or hi > n - 1 for (lo, hi), n in zip(raw, size, strict=True))
        return (
            analytic,
            clipped_side,
            "(reads only padding)" if clipped_side else "(no gradient reaches the input)",
        )
    inside = all(lo >= 0 and hi <= n - 1 for (lo, hi), n in zip(raw, size, strict=True))
    if rf.positions is not None:  # exact positions know which paths reach padding
        inside = inside and not any(
            rf.positions[a] is not None and rf.reads_padding(a, position[a])
            for a in range(len(size))
        )
    contained = all(
        c_lo <= m_lo and m_hi <= c_hi
        for (m_lo, m_hi), (c_lo, c_hi) in zip(measured, analytic, strict=True)
    )
    if exact and inside:
        return analytic, measured == analytic, ""
    return analytic, contained, "(clipped by the image)" if exact else "(within tolerance)"


def _default_layers(analysis: Analysis, rf: ReceptiveField, limit: int) -> list[str]:
    paths = [r.path for r in analysis.rows if r.path in rf.per_layer and r.path in rf.layer_dims]
    if len(paths) <= limit:
        return paths
    step = (len(paths) - 1) / (limit - 1) if limit > 1 else 0
    picked = sorted({round(i * step) for i in range(limit)})
    return [paths[i] for i in picked]


def _decades(graph: ir.Graph) -> float:
    """Upper bound on how many powers of ten the smallest non-zero gradient of the positive
    copy can fall below 1: every averaging op divides an extreme path by its fan-in."""
    total = 0.0
    for n in graph.nodes:
        a = n.attrs
        if isinstance(a, ir.ConvAttrs):
            total += math.log10(max(1, math.prod(a.kernel) * max(1, a.in_channels // a.groups)))
        elif isinstance(a, ir.PoolAttrs):
            total += math.log10(max(1, math.prod(a.kernel)))
        elif isinstance(a, (ir.AdaptivePoolAttrs, ir.ReduceAttrs, ir.UpsampleAttrs)):
            shape = (
                graph.tensor[n.inputs[0]].shape if n.inputs and n.inputs[0] in graph.tensor else ()
            )
            total += math.log10(max(1, math.prod(shape[2:]) if shape else 1)) + 1
        elif isinstance(a, ir.LinearAttrs):
            total += math.log10(max(1, a.k))
    return total


@keeps_global_state
@torch.enable_grad()  # gradients are the measurement, even under a caller's no_grad
def verify_rf(
    model: nn.Module,
    inputs: Any,
    analysis: Analysis,
    *,
    layers: Sequence[str] | None = None,
    max_layers: int = 32,
) -> VerifyResult:
    """Check the analytic receptive field of ``layers`` (module paths; default: up to
    ``max_layers`` analysis rows spread over the network) against gradients.

    ``inputs`` as for :func:`convscope.analyze` (tensors, meta tensors or shapes);
    ``analysis`` the :class:`Analysis` of the same model and input shapes (its
    ``RECEPTIVE_FIELD`` section is used when present). ``model`` is not modified.
    """
    rf = analysis.section(RECEPTIVE_FIELD)
    if rf is None:
        rf = receptive_field(analysis.graph)
    size = rf.input_size
    nd = len(size)
    if nd == 0:
        return VerifyResult(input_size=(), checks=(), notes=("the input has no spatial axes",))
    wanted = list(layers) if layers is not None else _default_layers(analysis, rf, max_layers)
    skipped: list[tuple[str, str]] = []
    ok_paths: list[str] = []
    for p in wanted:
        if p not in rf.per_layer:
            skipped.append((p, "no receptive field (not a module that ran on the input)"))
        elif p not in rf.layer_dims:
            skipped.append((p, "output dims do not hold the spatial axes one by one"))
        else:
            ok_paths.append(p)
    notes: list[str] = []
    last_error: Exception | None = None
    # float32 is much faster; use it when the smallest path gradient cannot underflow
    # Interpolation weights that are exactly 0 in exact arithmetic (a source coordinate on
    # a pixel) come out as ~1e-8 in float32 and show up as support: measure in float64.
    interpolates = any(
        isinstance(n.attrs, ir.UpsampleAttrs) and n.attrs.mode != "nearest"
        for n in analysis.graph.nodes
    )
    order = (
        (torch.float32, torch.float64)
        if _decades(analysis.graph) < 30 and not interpolates
        else (torch.float64, torch.float32)
    )
    for dtype in order:
        try:
            checks, mode_replaced, missing = _run_verify(model, inputs, rf, ok_paths, dtype)
        except ModelCodeError:  # exit, interrupt or timeout: never retried or hidden
            raise
        except Exception as exc:  # retry in float32 (hard-coded dtypes)
            last_error = exc
            continue
        if mode_replaced:
            notes.append(
                "functional ops replaced while measuring: " + ", ".join(sorted(mode_replaced))
            )
        for p in missing:
            skipped.append((p, "module did not run or returned no tensor"))
        return VerifyResult(
            input_size=tuple(size),
            checks=tuple(checks),
            skipped=tuple(skipped),
            notes=tuple(notes),
            dtype=str(dtype).removeprefix("torch."),
        )
    raise RuntimeError(f"receptive-field verification could not run the model: {last_error}")


def _run_verify(
    model: nn.Module, inputs: Any, rf: ReceptiveField, paths: Sequence[str], dtype: torch.dtype
) -> tuple[list[LayerCheck], set[str], list[str]]:
    nd = len(rf.input_size)
    gen = torch.Generator().manual_seed(0)

    def positive(shape: tuple[int, ...], dt: torch.dtype) -> torch.Tensor:
        return torch.ones(shape, dtype=dt) + 0.1 * torch.rand(shape, generator=gen, dtype=dt)

    net = _positive_copy(model).to(dtype)
    args = _materialise(_as_inputs(inputs), dtype, positive)
    x = next(a for a in args if isinstance(a, torch.Tensor) and a.is_floating_point())
    x.requires_grad_(True)
    mode = _PositiveMode()
    with (
        _capture(net, paths) as found,
        torch.enable_grad(),
        mode,
        model_code("forward", module_label(model)),
    ):
        net(*args)
    checks: list[LayerCheck] = []
    missing: list[str] = []
    for p in paths:
        out = found.get(p)
        if out is None or not out.requires_grad:
            missing.append(p)
            continue
        dims = rf.layer_dims[p]
        layer_rf = rf.per_layer[p]
        known = _exact_axes(layer_rf, nd)
        # axes with exact per-position intervals need no tolerance
        tol = tuple(
            0.0 if k else t
            for k, t in zip(known, rf.layer_tolerance.get(p, (0.0,) * nd), strict=True)
        )
        exact = all(t == 0 for t in tol) and p not in rf.approximate
        positions = _check_positions(layer_rf, [int(out.shape[d]) for d in dims])
        shown: tuple[Any, ...] | None = None
        for position in positions:
            (grad,) = torch.autograd.grad(
                _seed(out, dims, position), x, retain_graph=True, allow_unused=True
            )
            measured = _support(grad, nd)
            analytic, agree, note = _compare(
                layer_rf, position, rf.input_size, tol, exact, measured
            )
            if shown is None or (shown[3] and not agree):
                shown = (position, analytic, measured, agree, note)
        assert shown is not None
        checks.append(
            LayerCheck(
                layer=p,
                position=shown[0],
                analytic=shown[1],
                measured=shown[2],
                is_global=layer_rf.is_global,
                exact=exact,
                agree=shown[3],
                note=shown[4],
                positions=tuple(positions),
            )
        )
    return checks, mode.replaced, missing


# ---------------------------------------------------------------------------------------
# effective receptive field


def _record_outputs(net: nn.Module, args: Sequence[Any]) -> list[tuple[str, torch.Tensor]]:
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
            net(*args)
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
    net = _real_copy(model, seed)
    args = _as_inputs(inputs)
    gen = torch.Generator().manual_seed(seed)

    def normal(shape: tuple[int, ...], dt: torch.dtype) -> torch.Tensor:
        return torch.randn(shape, generator=gen, dtype=dt)

    total: torch.Tensor | None = None
    chosen: tuple[str, tuple[int, ...]] | None = None
    paths = [p for p, _ in net.named_modules()]
    for _ in range(max(1, samples)):
        real = _materialise(args, torch.float32, normal)
        x = next(a for a in real if isinstance(a, torch.Tensor) and a.is_floating_point())
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
