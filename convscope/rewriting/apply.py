"""Build the rewritten model and initialize its weights (torch).

Separable factorization (per input channel ``c``)
-------------------------------------------------
The dense kernel ``W`` has shape ``[C_out, C_in, *K]``; let ``k² = ∏K``. For each input
channel ``c`` the slice ``M_c = W[:, c]`` reshaped to ``C_out × k²`` has the SVD
``M_c = U Σ Vᵀ``. Keeping the ``m`` largest singular values gives

* depthwise filter ``c·m + j`` (output channel of the depthwise conv, whose groups are the
  input channels) = ``sqrt(σ_j) · Vᵀ[j]`` reshaped to ``K``;
* pointwise weight ``[o, c·m + j]`` = ``sqrt(σ_j) · U[o, j]``;

so ``Σ_j pw[o, c·m+j] · dw[c·m+j] = (U_m Σ_m V_mᵀ)[o]``, the best rank-m approximation of
``M_c`` (Eckart–Young). Because convolution is linear in the kernel and the depthwise conv
keeps the original stride, padding, dilation and padding mode, the pair computes exactly
``conv(x, Ŵ)``. The relative error ``‖W − Ŵ‖_F / ‖W‖_F`` equals
``sqrt(Σ_c Σ_{j ≥ m} σ_{c,j}²) / ‖W‖_F``; with ``m ≥ min(C_out, k²)`` it is zero (up to
float rounding). The SVD runs in float64; the weights are stored in the conv's dtype.

The original model is never modified: :func:`apply_plan` works on a deep copy.
"""

from __future__ import annotations

import copy
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from convscope import _io
from convscope.errors import describe
from convscope.model.arguments import ModelInputs
from convscope.model.modes import eval_mode
from convscope.rewriting.plan import SPATIAL_KERNEL, ExportError, LayerPlan, Plan, RewriteError

__all__ = [
    "Factorization",
    "apply_plan",
    "apply_plan_inplace",
    "build_separable",
    "build_spatialized",
    "export_program",
    "reconstruct",
    "separable_factors",
    "state_dict_path",
]

_CONV_CLASSES: tuple[type[nn.Module], ...] = (nn.Conv1d, nn.Conv2d, nn.Conv3d)


@dataclass(frozen=True, eq=False)
class Factorization:
    """Depthwise ``[C_in·m, 1, *K]`` and pointwise ``[C_out, C_in·m, 1, …]`` weights.

    ``singular_values`` is ``[C_in, min(C_out, k²)]`` (float64, descending per channel);
    ``predicted_error`` is ``sqrt(discarded σ²) / ‖W‖_F`` from them.
    """

    depthwise: torch.Tensor
    pointwise: torch.Tensor
    singular_values: torch.Tensor
    predicted_error: float


def separable_factors(weight: torch.Tensor, multiplier: int = 1) -> Factorization:
    """Best depth-multiplier-``m`` separable approximation of a dense conv kernel.

    Computed from the eigen-decomposition of each slice's small ``k² × k²`` Gram matrix
    ``M_cᵀ M_c = V Σ² Vᵀ`` (50× faster than batched SVD on CPU): the kept part is
    ``M_c V_m V_mᵀ = U_m Σ_m V_mᵀ``, split as depthwise ``sqrt(σ_j)·v_j`` and pointwise
    ``M_c v_j / sqrt(σ_j)`` (= ``sqrt(σ_j)·u_j``).
    """
    if weight.dim() < 3:
        raise RewriteError(f"expected a conv kernel [C_out, C_in, *K], got {tuple(weight.shape)}")
    c_out, c_in, *kernel = weight.shape
    kk = math.prod(kernel)
    m = multiplier
    w = weight.detach().to(device="cpu", dtype=torch.float64)
    slices = w.transpose(0, 1).reshape(c_in, c_out, kk)  # M_c = W[:, c] as C_out × k²
    gram = slices.transpose(1, 2) @ slices  # [C_in, k², k²]
    eigvals, eigvecs = torch.linalg.eigh(gram)  # ascending
    eigvals, eigvecs = eigvals.flip(-1), eigvecs.flip(-1)  # descending
    rank = min(c_out, kk)
    sigma = eigvals[:, :rank].clamp_min(0).sqrt()  # [C_in, r]
    keep = min(m, rank)
    v = eigvecs[:, :, :keep]  # [C_in, k², keep]
    top = sigma[:, :keep]
    tiny = top <= 1e-12 * sigma[:, :1].clamp_min(1e-300)
    root = torch.where(tiny, torch.zeros_like(top), top.sqrt())
    inv_root = torch.where(tiny, torch.zeros_like(top), 1 / top.clamp_min(1e-300).sqrt())
    dw = torch.zeros(c_in, m, kk, dtype=torch.float64)
    dw[:, :keep] = v.transpose(1, 2) * root[..., None]
    pw = torch.zeros(c_out, c_in, m, dtype=torch.float64)
    pw[:, :, :keep] = ((slices @ v) * inv_root[:, None, :]).permute(1, 0, 2)
    total = float(w.square().sum())
    kept = float(top.square().sum())
    discarded = max(total - kept, float(sigma[:, keep:].square().sum()), 0.0)
    return Factorization(
        depthwise=dw.reshape(c_in * m, 1, *kernel).to(weight.dtype),
        pointwise=pw.reshape(c_out, c_in * m, *([1] * len(kernel))).to(weight.dtype),
        singular_values=sigma,
        predicted_error=math.sqrt(discarded / total) if total else 0.0,
    )


def reconstruct(depthwise: torch.Tensor, pointwise: torch.Tensor, in_channels: int) -> torch.Tensor:
    """The dense kernel ``Ŵ`` that a depthwise + pointwise pair computes (float64)."""
    mid = depthwise.shape[0]
    m = mid // in_channels
    kernel = depthwise.shape[2:]
    dw = depthwise.detach().double().reshape(in_channels, m, -1)
    pw = pointwise.detach().double().reshape(pointwise.shape[0], in_channels, m)
    return torch.einsum("ocj,cjk->ock", pw, dw).reshape(pointwise.shape[0], in_channels, *kernel)


def _relative_error(weight: torch.Tensor, approx: torch.Tensor) -> float:
    w = weight.detach().double()
    norm = float(torch.linalg.vector_norm(w))
    return float(torch.linalg.vector_norm(w - approx)) / norm if norm else 0.0


def _plain_conv(module: nn.Module, path: str) -> nn.Module:
    if type(module) not in _CONV_CLASSES:
        raise RewriteError(
            f"layer '{path}' is a {type(module).__name__}, not a plain "
            "Conv1d/Conv2d/Conv3d; it cannot be rewritten"
        )
    return module


def build_separable(
    conv: nn.Module,
    multiplier: int = 1,
    *,
    frozen_spatial: bool = False,
    generator: torch.Generator | None = None,
) -> tuple[nn.Sequential, float | None]:
    """``conv`` → ``Sequential(depthwise, pointwise)`` and the relative weight error.

    With ``frozen_spatial`` the depthwise filters are random (kaiming normal) and frozen,
    the pointwise conv keeps PyTorch's default initialization, and the error is ``None``.
    """
    conv = _plain_conv(conv, "conv")
    assert isinstance(conv, (nn.Conv1d, nn.Conv2d, nn.Conv3d))
    weight = conv.weight
    cls: Any = type(conv)  # Conv1d / Conv2d / Conv3d: one constructor, per-rank tuple types
    c_in, c_out = conv.in_channels, conv.out_channels
    mid = c_in * multiplier
    kw: dict[str, Any] = {"device": weight.device, "dtype": weight.dtype}
    depthwise = cls(
        c_in,
        mid,
        conv.kernel_size,
        stride=conv.stride,
        padding=conv.padding,
        dilation=conv.dilation,
        groups=c_in,
        bias=False,
        padding_mode=conv.padding_mode,
        **kw,
    )
    pointwise = cls(mid, c_out, 1, bias=conv.bias is not None, **kw)
    error: float | None
    with torch.no_grad():
        if frozen_spatial:
            nn.init.kaiming_normal_(depthwise.weight, generator=generator)
            nn.init.kaiming_uniform_(pointwise.weight, a=math.sqrt(5), generator=generator)
            if pointwise.bias is not None:
                bound = 1 / math.sqrt(mid)
                nn.init.uniform_(pointwise.bias, -bound, bound, generator=generator)
            error = None
        else:
            f = separable_factors(weight, multiplier)
            depthwise.weight.copy_(f.depthwise)
            pointwise.weight.copy_(f.pointwise)
            if conv.bias is not None and pointwise.bias is not None:
                pointwise.bias.copy_(conv.bias)
            error = _relative_error(weight, reconstruct(depthwise.weight, pointwise.weight, c_in))
    # Frozen weights stay frozen; frozen_spatial freezes the depthwise filters.
    depthwise.weight.requires_grad_(weight.requires_grad and not frozen_spatial)
    pointwise.weight.requires_grad_(weight.requires_grad)
    if pointwise.bias is not None and conv.bias is not None:
        pointwise.bias.requires_grad_(conv.bias.requires_grad)
    seq = nn.Sequential(depthwise, pointwise)
    seq.train(conv.training)
    return seq, error


def build_spatialized(
    conv: nn.Module, *, frozen_spatial: bool = False, generator: torch.Generator | None = None
) -> nn.Sequential:
    """``conv`` (1×1) → ``Sequential(depthwise 3×3, conv)``.

    The depthwise conv (padding 1, no bias) is the identity (centre tap 1) unless
    ``frozen_spatial`` (random kaiming normal, frozen). A strided 1×1 conv passes its
    stride to the depthwise conv: same output shape, and the 3×3 sees every input pixel.
    """
    conv = _plain_conv(conv, "conv")
    assert isinstance(conv, (nn.Conv1d, nn.Conv2d, nn.Conv3d))
    if any(k != 1 for k in conv.kernel_size):
        raise RewriteError(f"spatialize needs a 1×1 conv, got kernel {conv.kernel_size}")
    cls: Any = type(conv)
    c_in = conv.in_channels
    d = len(conv.kernel_size)
    strided = any(s != 1 for s in conv.stride)
    depthwise = cls(
        c_in,
        c_in,
        SPATIAL_KERNEL,
        stride=conv.stride if strided else 1,
        padding=SPATIAL_KERNEL // 2,
        groups=c_in,
        bias=False,
        device=conv.weight.device,
        dtype=conv.weight.dtype,
    )
    with torch.no_grad():
        if frozen_spatial:
            nn.init.kaiming_normal_(depthwise.weight, generator=generator)
        else:
            depthwise.weight.zero_()
            centre: tuple[Any, ...] = (slice(None), 0, *([SPATIAL_KERNEL // 2] * d))
            depthwise.weight[centre] = 1.0
    depthwise.weight.requires_grad_(not frozen_spatial)
    pointwise = copy.deepcopy(conv)
    if strided:
        pointwise.stride = (1,) * d
    seq = nn.Sequential(depthwise, pointwise)
    seq.train(conv.training)
    return seq


def _all_paths(model: nn.Module, target: nn.Module) -> list[str]:
    """Every path under which ``target`` is registered (shared modules have several)."""
    return [name for name, m in model.named_modules(remove_duplicate=False) if m is target]


def apply_plan_inplace(
    model: nn.Module, plan: Plan | Sequence[LayerPlan], *, seed: int = 0
) -> dict[str, float | None]:
    """Replace the planned layers of ``model`` itself; returns the weight error per path.

    Use :func:`apply_plan` to keep the original: this one mutates ``model``.
    """
    layers = plan.layers if isinstance(plan, Plan) else tuple(plan)
    generator = torch.Generator().manual_seed(seed)
    errors: dict[str, float | None] = {}
    # New convs run their default init, which draws from the global RNG: every value we
    # keep comes from ``generator``, so fork the global one and leave the caller's alone.
    with torch.random.fork_rng(devices=[]):
        return _apply_layers(model, layers, generator, errors)


def _apply_layers(
    model: nn.Module,
    layers: Sequence[LayerPlan],
    generator: torch.Generator,
    errors: dict[str, float | None],
) -> dict[str, float | None]:
    for p in layers:
        try:
            conv = model.get_submodule(p.path)
        except AttributeError as exc:
            raise RewriteError(f"layer '{p.path}' not found in the model") from exc
        conv = _plain_conv(conv, p.path)
        replacement: nn.Module
        if p.mode == "separable":
            replacement, errors[p.path] = build_separable(
                conv, p.multiplier, frozen_spatial=p.frozen_spatial, generator=generator
            )
        else:
            replacement = build_spatialized(
                conv, frozen_spatial=p.frozen_spatial, generator=generator
            )
            errors[p.path] = None
        for path in _all_paths(model, conv):
            model.set_submodule(path, replacement)
    return errors


def apply_plan(
    model: nn.Module, plan: Plan | Sequence[LayerPlan], *, seed: int = 0
) -> tuple[nn.Module, dict[str, float | None]]:
    """A rewritten deep copy of ``model`` and the weight error per path (``model`` untouched).

    ``model`` must hold real weights (see :func:`convscope.rewriting.materialize`).
    """
    new = copy.deepcopy(model)
    return new, apply_plan_inplace(new, plan, seed=seed)


# --------------------------------------------------------------------------- saving


def state_dict_path(out: str | Path) -> Path:
    """``model.pt2`` → ``model.state_dict.pt`` (saved beside the program)."""
    return Path(out).with_suffix(".state_dict.pt")


def _export(model: nn.Module, given: ModelInputs) -> Any:
    """``torch.export`` with a dynamic batch dimension where the model allows one.

    Export specializes size-1 dimensions, so the example batch is doubled first and dim 0 of
    every tensor input marked ``Dim.AUTO``; a model whose code fixes the batch size (a
    reshape with a literal batch, say) falls back to a program for the example's shapes.
    Keyword inputs are exported with their shapes (static)."""
    inputs, kwargs = given.args, dict(given.kwargs)
    if kwargs:
        program = torch.export.export(model, inputs, kwargs)
        program.example_inputs = (inputs, kwargs)
        return program
    doubled = tuple(
        torch.cat([t, t]) if isinstance(t, torch.Tensor) and t.dim() > 0 else t for t in inputs
    )
    dims = tuple(
        {0: torch.export.Dim.AUTO} if isinstance(t, torch.Tensor) and t.dim() > 0 else None
        for t in inputs
    )
    try:
        program = torch.export.export(model, doubled, dynamic_shapes=dims)
    except Exception:  # batch-specific code: a static program still serves the example
        return torch.export.export(model, inputs)
    # keep the user's example (``convscope analyze FILE.pt2`` traces on it)
    program.example_inputs = (inputs, {})
    return program


def export_program(
    model: nn.Module,
    inputs: ModelInputs | Sequence[Any],
    out: str | Path,
    *,
    inputs_read: _io.Inputs = (),
) -> tuple[Path, Path]:
    """Save ``model`` (in eval mode) as a ``torch.export`` program and its state dict.

    ``out`` must end with ``.pt2``; the state dict goes to :func:`state_dict_path`. Both are
    checked first (neither may be a directory or one of ``inputs_read``, the files the run
    read), then written to temporary files in the target directory and renamed into place
    only once export and serialization succeeded, so a failure leaves nothing behind. The
    module's train/eval flags are restored.
    """
    target = Path(out)
    if target.suffix != ".pt2":
        raise RewriteError(f"output must end with .pt2 (a torch.export program), got '{out}'")
    sd_target = state_dict_path(target)
    inputs_read = list(inputs_read)
    for path in (target, sd_target):
        _io.check_output_path(path, inputs_read)
    try:
        with eval_mode(model):
            program = _export(model, ModelInputs.of(inputs))
        buf = io.BytesIO()
        torch.export.save(program, buf)
    except Exception as exc:
        raise ExportError(f"torch.export failed on the rewritten model: {describe(exc)}") from exc
    sd_buf = io.BytesIO()
    torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, sd_buf)
    _io.write_all([(target, buf.getvalue()), (sd_target, sd_buf.getvalue())], inputs_read)
    return target, sd_target
