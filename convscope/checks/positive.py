"""The positive copy: a model whose input gradient is non-zero exactly where a path connects.

On a CPU copy of the model (the user's model is never touched) every conv / linear weight
becomes the positive constant ``1/fan_in`` with zero bias, BatchNorm the identity (weight 1,
bias 0, running mean 0, running var ``1 − eps``), other norms and activation modules
``nn.Identity``, max pooling a positive average over the same window geometry (kernel,
stride, padding, dilation, ceil_mode), and any other learnable tensor positive. With a
positive input no two paths can cancel, so an input pixel has a non-zero gradient exactly
when some path connects it to the output pixel. Functional calls in ``forward``
(``F.relu``, ``torch.sigmoid``, ``F.max_pool2d``...) are replaced the same way through a
``TorchFunctionMode`` (:class:`PositiveMode`); a nonlinearity reached in some other way
stays (ReLU-like ones are harmless with positive values, saturating ones may hide pixels).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode

from convscope import formulas as fm
from convscope.checks.probe import real_copy
from convscope.model.modes import set_eval

__all__ = ["PositiveMode", "positive_copy"]


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


class PositiveMode(TorchFunctionMode):
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


def _replace(root: nn.Module, path: str, new: nn.Module) -> None:
    parent_path, _, name = path.rpartition(".")
    parent = root.get_submodule(parent_path) if parent_path else root
    setattr(parent, name, new)


def positive_copy(model: nn.Module) -> nn.Module:
    """The verification copy: positive weights, identity norms and nonlinearities."""
    m = real_copy(model)
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
