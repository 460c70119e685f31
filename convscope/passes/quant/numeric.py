"""The torch side of the quantization pass: BatchNorm folding, channel ranges, fake
quantization, SQNR, cross-layer-equalization scales and calibration.

The formulas are stated in :mod:`convscope.passes.quant`. Everything here works
on detached
CPU copies (weights are read, never written: ``calibrate`` runs on a deep copy of the model)
and keeps folded weights in float32, as a deployed model stores them (fake quantization on
float32 weights and scales); fold factors and ranges are float64.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from convscope.ir import graph as ir
from convscope.model.guard import model_code, module_label
from convscope.model.modes import set_eval
from convscope.passes.quant.activations import ActivationStats, LayerActivation
from convscope.passes.quant.grid import per_tensor_bits
from convscope.passes.quant.options import DEFAULT_BN_EPS, QuantOptions
from convscope.passes.quant.report import QuantReport, skipped
from convscope.passes.quant.sites import LayerSite, PairSite, find_layers, find_pairs
from convscope.passes.quant.weights import Equalization, FoldStats, LayerQuant

Tensor = torch.Tensor


# --------------------------------------------------------------------------- tensors


def resolve(graph: ir.Graph, tensors: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """``tensors`` keyed by every name of the graph's parameters and buffers (canonical
    names and aliases), so lookups do not depend on which name the trace recorded."""
    out = dict(tensors)
    for owner in graph.params:
        names = (owner.name, *owner.aliases)
        value = next((tensors[n] for n in names if n in tensors), None)
        if value is not None:
            for n in names:
                out.setdefault(n, value)
    return out


def missing_values(graph: ir.Graph, tensors: Mapping[str, Tensor]) -> str | None:
    """Why ``tensors`` holds no usable weight values, or None when it does."""
    if not tensors:
        return "the model has no parameters or buffers to read"
    meta = [n for n, t in tensors.items() if t.is_meta]
    if meta:
        return (
            "the weights are on the meta device and hold no values (the model was built "
            "without weights; pass --weights CKPT)"
        )
    return None


def out_major(w: Tensor, conv: ir.ConvAttrs | None) -> Tensor:
    """The weight with output channels on dim 0: ``[C_out, C_in / groups, *kernel]``.

    A transposed conv stores ``[C_in, C_out / groups, *kernel]``; its groups are regrouped
    so that row ``o`` holds every weight that writes output channel ``o``.
    """
    if conv is None or not conv.transposed:
        return w
    g = conv.groups
    c_in, cog = w.shape[0], w.shape[1]
    rest = tuple(w.shape[2:])
    return w.reshape(g, c_in // g, cog, *rest).transpose(1, 2).reshape(g * cog, c_in // g, *rest)


def _row_absmax(w2d: Tensor) -> Tensor:
    """``max |row|`` of a 2-d tensor without materializing ``|w|``."""
    lo, hi = torch.aminmax(w2d, dim=1)
    return torch.maximum(-lo, hi)


def channel_ranges(w: Tensor) -> Tensor:
    """``r_o = max |w[o]|`` per output channel (dim 0), returned as float64."""
    return _row_absmax(w.detach().reshape(w.shape[0], -1)).to(torch.float64)


def input_channel_ranges(w: Tensor, groups: int) -> Tensor:
    """``max |w[:, i]|`` per *input* channel ``i`` of an out-major weight with ``groups``:
    input channel ``i = g · (C_in / groups) + j`` is read by output channels of group ``g``
    at position ``j``."""
    c_out, cig = w.shape[0], w.shape[1]
    v = w.detach().abs().reshape(groups, c_out // groups, cig, -1).amax(dim=(1, 3))
    return v.reshape(groups * cig).to(torch.float64)


def median(x: Tensor) -> float:
    """The lower median: the ``⌈n/2⌉``-th smallest value, always a real channel's."""
    flat = x.detach().reshape(-1).to(torch.float64)
    return float(flat.sort().values[(flat.numel() - 1) // 2])


def spread(ranges: Tensor) -> float:
    """``max r / lower-median r`` (inf when the lower median is 0, nan-free)."""
    med = median(ranges)
    top = float(ranges.max())
    if med > 0:
        return top / med
    return math.inf if top > 0 else 1.0


def effective_bits(ranges: Tensor, bits: int = 8) -> Tensor:
    """``log2(2 · m_o + 1)``, ``m_o = min(qmax, round(r_o / s))``, under the per-tensor scale
    ``s = R / qmax``: :func:`~convscope.passes.quant.grid.per_tensor_bits` on a tensor."""
    return torch.tensor(per_tensor_bits(ranges.tolist(), bits), dtype=torch.float64)


def input_channel_bits(w: Tensor, groups: int, bits: int = 8) -> tuple[float, ...]:
    """Bits of each input channel of an out-major weight under per-output-channel scales
    ``s_o = r_o / qmax``: ``log2(2 · m_i + 1)`` with ``m_i = max_o |round(W[o, i] / s_o)|``
    over the output channels that read input channel ``i`` (those of its group)."""
    qmax = 2 ** (bits - 1) - 1
    c_out, cig = w.shape[0], w.shape[1]
    a = w.detach().to(torch.float64).abs().reshape(c_out, cig, -1).amax(dim=2)
    r = a.amax(dim=1)
    scale = torch.where(r > 0, r / qmax, torch.ones_like(r))
    q = torch.round(a / scale[:, None]).clamp(max=qmax)
    m = q.reshape(groups, c_out // groups, cig).amax(dim=1).reshape(-1)
    return tuple(math.log2(2.0 * float(v) + 1.0) for v in m.tolist())


def fake_quant_per_tensor(w: Tensor, bits: int = 8, top: float | None = None) -> Tensor:
    """Symmetric per-tensor fake quantization with ``torch.fake_quantize_per_tensor_affine``:
    ``s = R / qmax`` (``R = max|w|``, or ``top`` when the caller knows it), levels ±qmax,
    zero point 0."""
    qmax = 2 ** (bits - 1) - 1
    w32 = w.detach().to(torch.float32)
    if top is None:
        top = float(_row_absmax(w32.reshape(1, -1))[0]) if w32.numel() else 0.0
    if top == 0:
        return w32.clone()
    return torch.fake_quantize_per_tensor_affine(w32, top / qmax, 0, -qmax, qmax)


def fake_quant_per_channel(w: Tensor, bits: int = 8, ranges: Tensor | None = None) -> Tensor:
    """Symmetric per-output-channel (dim 0) fake quantization with
    ``torch.fake_quantize_per_channel_affine``: ``s_o = r_o / qmax``, zero points 0;
    all-zero channels get scale 1 (they quantize exactly)."""
    qmax = 2 ** (bits - 1) - 1
    w32 = w.detach().to(torch.float32)
    r = (ranges if ranges is not None else channel_ranges(w32)).to(torch.float32)
    scale = torch.where(r > 0, r / qmax, torch.ones_like(r))
    zero = torch.zeros(w32.shape[0], dtype=torch.int32)
    return torch.fake_quantize_per_channel_affine(w32, scale, zero, 0, -qmax, qmax)


def energy(w: Tensor) -> float:
    """``‖w‖²`` (float32 dot product: relative error ~1e-5, i.e. < 1e-4 dB in an SQNR)."""
    flat = w.detach().to(torch.float32).reshape(-1)
    return float(torch.dot(flat, flat))


def row_energy(x: Tensor) -> Tensor:
    """``‖x[o]‖²`` per output channel (dim 0), summed in float32, returned as float64."""
    x2 = x.detach().to(torch.float32).reshape(x.shape[0], -1)
    return (x2 * x2).sum(dim=1).to(torch.float64)


def row_noise(w: Tensor, q: Tensor) -> Tensor:
    """``‖w[o] − q[o]‖²`` per output channel, float64."""
    return row_energy(torch.sub(w.detach().to(torch.float32), q.detach().to(torch.float32)))


def channel_sqnr_db(
    w: Tensor, q: Tensor, signal: Tensor | None = None, noise: Tensor | None = None
) -> Tensor:
    """Per-output-channel SQNR (dB) ``10 · log10(‖w[o]‖² / ‖w[o] − q[o]‖²)``, float64:
    inf where channel ``o`` quantizes exactly, nan where it is all zero. ``signal`` /
    ``noise`` reuse known per-channel energies."""
    sig = row_energy(w) if signal is None else signal
    err = row_noise(w, q) if noise is None else noise
    out = 10.0 * torch.log10(sig / err)
    return torch.where(sig > 0, out, torch.full_like(out, math.nan))


def _db_from(signal: float, noise: float) -> float | None:
    if signal == 0:
        return None
    return math.inf if noise == 0 else 10.0 * math.log10(signal / noise)


def median_finite_or_inf(values: Tensor) -> float | None:
    """Median over the non-nan entries (inf counts as a large value); None when none."""
    vals = [v for v in values.tolist() if not math.isnan(v)]
    if not vals:
        return None
    vals.sort()
    n = len(vals)
    mid = vals[n // 2] if n % 2 else (vals[n // 2 - 1] + vals[n // 2]) / 2
    return float(mid)


def sqnr_db(w: Tensor, q: Tensor, signal: float | None = None) -> float | None:
    """``10 · log10(‖w‖² / ‖w − q‖²)``; inf when exact, None for ``w = 0``. ``signal``
    reuses a known ``‖w‖²``."""
    w32 = w.detach().to(torch.float32)
    sig = energy(w32) if signal is None else signal
    if sig == 0:
        return None
    noise = energy(torch.sub(w32, q.detach().to(torch.float32)))
    return math.inf if noise == 0 else 10.0 * math.log10(sig / noise)


def fold_factors(gamma: Tensor | None, var: Tensor, eps: float) -> Tensor:
    """``f = γ / sqrt(var + eps)`` (γ = 1 for a non-affine BatchNorm), float64."""
    v = var.detach().to(torch.float64)
    g = gamma.detach().to(torch.float64) if gamma is not None else torch.ones_like(v)
    return g / torch.sqrt(v + eps)


def fold(
    w: Tensor,
    bias: Tensor | None,
    gamma: Tensor | None,
    beta: Tensor | None,
    mean: Tensor,
    var: Tensor,
    eps: float,
) -> tuple[Tensor, Tensor]:
    """Inference BatchNorm folding of an out-major weight: ``W_fold[o] = f_o · W[o]``,
    ``b_fold = (b − mean) · f + β``. The factors are computed in float64; the folded
    weight is float32, as a deployed model stores it; the bias is float64."""
    f = fold_factors(gamma, var, eps)
    w32 = w.detach().to(torch.float32)
    shape = (-1,) + (1,) * (w32.dim() - 1)
    b = bias.detach().to(torch.float64) if bias is not None else torch.zeros_like(f)
    bt = beta.detach().to(torch.float64) if beta is not None else torch.zeros_like(f)
    b_fold = (b - mean.detach().to(torch.float64)) * f + bt
    return w32 * f.to(torch.float32).reshape(shape), b_fold


# --------------------------------------------------------------------------- per layer


def measure_layer(
    site: LayerSite,
    tensors: Mapping[str, Tensor],
    bn_eps: Mapping[str, float],
    options: QuantOptions,
) -> tuple[LayerQuant, Tensor] | str:
    """Figures of one layer, and its folded out-major float32 weight; or why not."""
    w = tensors.get(site.weight)
    if w is None:
        return f"no value for its weight `{site.weight}` in the given weights"
    w_om = out_major(w.detach().to("cpu", torch.float32), site.conv)
    if w_om.shape[0] != site.out_channels:
        return (
            f"weight `{site.weight}` has shape {tuple(w.shape)}, which does not match "
            f"{site.out_channels} output channels"
        )
    fold_stats: FoldStats | None = None
    spread_unfolded: float | None = None
    w_fold = w_om
    bn = site.bn
    if bn is not None:
        parts = {
            k: (tensors.get(n) if n is not None else None)
            for k, n in (("gamma", bn.gamma), ("beta", bn.beta), ("mean", bn.mean), ("var", bn.var))
        }
        mean, var = parts["mean"], parts["var"]
        if mean is None or var is None or mean.numel() != site.out_channels:
            return f"BatchNorm `{bn.path}` statistics are missing or do not match the layer"
        eps = bn_eps.get(bn.path)
        eps_source = "module" if eps is not None else "default"
        eps = float(eps) if eps is not None else DEFAULT_BN_EPS
        bias = tensors.get(site.bias) if site.bias is not None else None
        w_fold, _ = fold(w_om, bias, parts["gamma"], parts["beta"], mean, var, eps)
        f = fold_factors(parts["gamma"], var, eps)
        gamma = (
            parts["gamma"].detach().to(torch.float64)
            if parts["gamma"] is not None
            else torch.ones_like(f)
        )
        fold_stats = FoldStats(
            bn=bn.path,
            eps=eps,
            eps_source=eps_source,
            gamma=_floats(gamma),
            var=_floats(var.detach().to(torch.float64)),
            factors=_floats(f),
        )
    ranges = channel_ranges(w_fold)
    unfolded: tuple[float, ...] | None = None
    if fold_stats is not None:
        raw = channel_ranges(w_om)
        spread_unfolded = spread(raw)
        unfolded = _floats(raw)
    top = float(ranges.max())
    depthwise = bool(site.conv is not None and site.conv.is_depthwise)
    # Per-channel energies once; whole-tensor figures are their sums.
    sig = row_energy(w_fold)
    noise_t = row_noise(w_fold, fake_quant_per_tensor(w_fold, options.bits, top))
    noise_c = row_noise(w_fold, fake_quant_per_channel(w_fold, options.bits, ranges))
    total = float(sig.sum())
    lq = LayerQuant(
        path=site.path,
        weight=site.weight,
        kind=site.kind,
        description=site.description,
        depthwise=depthwise,
        out_channels=site.out_channels,
        accumulation=site.accumulation,
        channel_ranges=_floats(ranges),
        tensor_range=top,
        median_range=median(ranges),
        spread=spread(ranges),
        spread_unfolded=spread_unfolded,
        sqnr_per_tensor_db=_db_from(total, float(noise_t.sum())),
        sqnr_per_channel_db=_db_from(total, float(noise_c.sum())),
        median_channel_sqnr_per_tensor_db=median_finite_or_inf(
            channel_sqnr_db(w_fold, w_fold, sig, noise_t)
        ),
        median_channel_sqnr_per_channel_db=median_finite_or_inf(
            channel_sqnr_db(w_fold, w_fold, sig, noise_c)
        ),
        fold=fold_stats,
        bits=options.bits,
        bn_note=site.bn_note,
        unfolded_ranges=unfolded,
        input_bits=None if depthwise else input_channel_bits(w_fold, site.groups, options.bits),
    )
    return lq, w_fold


def _floats(t: Tensor) -> tuple[float, ...]:
    return tuple(float(v) for v in t.reshape(-1).tolist())


# --------------------------------------------------------------------------- equalization


def equalization_scales(r1: Tensor, r2: Tensor) -> Tensor:
    """``s_i = (1 / r2_i) · sqrt(r1_i · r2_i) = sqrt(r1_i / r2_i)``; 1 where either is 0."""
    ok = (r1 > 0) & (r2 > 0)
    safe_r2 = torch.where(ok, r2, torch.ones_like(r2))
    return torch.where(ok, torch.sqrt(r1 / safe_r2), torch.ones_like(r1))


def equalize(pair: PairSite, w1: Tensor, w2: Tensor, options: QuantOptions) -> Equalization:
    """Apply cross-layer equalization to copies of two folded out-major weights and report
    the scales and the spread / per-tensor SQNR of both layers before and after."""
    g2 = pair.second.groups
    r1 = channel_ranges(w1)
    r2 = input_channel_ranges(w2, g2)
    s = equalization_scales(r1, r2)
    s32 = s.to(torch.float32)
    w1_eq = w1 / s32.reshape((-1,) + (1,) * (w1.dim() - 1))
    c_out2, cig = w2.shape[0], w2.shape[1]
    grouped = w2.reshape(g2, c_out2 // g2, cig, -1)
    w2_eq = (grouped * s32.reshape(g2, 1, cig, 1)).reshape(w2.shape)
    bits = options.bits
    return Equalization(
        first=pair.first.path,
        second=pair.second.path,
        activation=pair.activation,
        scale_min=float(s.min()),
        scale_max=float(s.max()),
        first_spread_before=spread(r1),
        first_spread_after=spread(channel_ranges(w1_eq)),
        second_spread_before=spread(channel_ranges(w2)),
        second_spread_after=spread(channel_ranges(w2_eq)),
        first_sqnr_before_db=sqnr_db(w1, fake_quant_per_tensor(w1, bits)),
        first_sqnr_after_db=sqnr_db(w1_eq, fake_quant_per_tensor(w1_eq, bits)),
        second_sqnr_before_db=sqnr_db(w2, fake_quant_per_tensor(w2, bits)),
        second_sqnr_after_db=sqnr_db(w2_eq, fake_quant_per_tensor(w2_eq, bits)),
        bits=bits,
        first_ranges_after=_floats(channel_ranges(w1_eq)),
        second_ranges_after=_floats(channel_ranges(w2_eq)),
        second_input_bits_after=(
            None
            if pair.second.conv is not None and pair.second.conv.is_depthwise
            else input_channel_bits(w2_eq, g2, bits)
        ),
    )


# --------------------------------------------------------------------------- calibration


@dataclass(frozen=True)
class CalibTarget:
    """One layer to observe: its module path, weight name, the module whose output is the
    layer's (folded) output, the output-channel dim there, and the BatchNorm fold factors
    (so that the *folded* weight is what gets quantized)."""

    path: str
    weight: str
    observe: str
    channel_dim: int = 1
    factors: tuple[float, ...] | None = None


def random_batches(shape: Sequence[int], n: int = 2, seed: int = 0) -> list[Tensor]:
    """``n`` batches of N(0, 1) data of ``shape`` (seeded): tests mechanics only."""
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(tuple(shape), generator=g) for _ in range(n)]


def _first_tensor(out: object) -> Tensor | None:
    if isinstance(out, Tensor):
        return out
    if isinstance(out, (tuple, list)):
        for item in out:
            if isinstance(item, Tensor):
                return item
    return None


def _run(model: torch.nn.Module, batch: object) -> None:
    with model_code("forward", module_label(model)):
        if isinstance(batch, (tuple, list)):
            model(*batch)
        else:
            model(batch)


def _per_channel(x: Tensor, dim: int) -> Tensor:
    """``|x|`` as ``[C, everything else]`` for channel dim ``dim``."""
    dim = dim % x.dim()
    return x.detach().abs().transpose(0, dim).reshape(x.shape[dim], -1).to(torch.float32)


def default_targets(model: torch.nn.Module) -> list[CalibTarget]:
    """Every conv / linear module with a ``weight`` parameter, observed at its own output
    (used when :func:`calibrate` gets no targets from a quantization report)."""
    out = []
    for path, mod in model.named_modules():
        w = getattr(mod, "weight", None)
        if isinstance(mod, (torch.nn.modules.conv._ConvNd, torch.nn.Linear)) and isinstance(
            w, torch.nn.Parameter
        ):
            dim = -1 if isinstance(mod, torch.nn.Linear) else 1
            out.append(
                CalibTarget(
                    path=path,
                    weight=f"{path}.weight" if path else "weight",
                    observe=path,
                    channel_dim=dim,
                )
            )
    return out


def quantized_weight(weight: Tensor, factors: tuple[float, ...] | None, bits: int) -> Tensor:
    """The weight whose layer computes with the folded weight quantized per tensor:
    ``q(W · f) / f`` per output channel (``W`` itself where ``f = 0``), or ``q(W)`` when
    nothing folds."""
    w = weight.detach().to(torch.float32)
    if factors is None:
        return fake_quant_per_tensor(w.cpu(), bits).to(w.device)
    f = torch.tensor(factors, dtype=torch.float64).to(device=w.device, dtype=torch.float32)
    f = f.reshape((-1,) + (1,) * (w.dim() - 1))
    qf = fake_quant_per_tensor((w * f).cpu(), bits).to(w.device)
    live = f != 0
    return torch.where(live, qf / torch.where(live, f, torch.ones_like(f)), w)


def _channel_view(v: Tensor, dim: int, ndim: int) -> Tensor:
    """A per-channel vector shaped to broadcast along ``dim`` of an ``ndim``-d tensor."""
    shape = [1] * ndim
    shape[dim % ndim] = -1
    return v.reshape(shape)


def calibrate(
    model: torch.nn.Module,
    batches: Iterable[object],
    *,
    targets: Sequence[CalibTarget] | None = None,
    options: QuantOptions | None = None,
    source: str = "given batches",
    random: bool = False,
    output_sqnr: bool = True,
) -> ActivationStats:
    """Per-channel activation ranges, outlier ratios and per-layer output SQNR.

    Runs on ``copy.deepcopy(model)`` in eval mode under ``torch.no_grad()``: hooks and
    weight swaps never touch the user's model. For each target the statistics are taken at
    the layer module's output (channel dim ``channel_dim``).

    Output SQNR ``10 · log10(Σ y² / Σ (y − y_q)²)``: ``y`` is the output of ``observe`` (the
    folded BatchNorm when there is one), ``y_q`` the same output when only this layer's
    weight is replaced by :func:`quantized_weight` (its folded weight quantized per tensor).
    Because upstream layers are unchanged, the layer's input is the same in both runs, so
    ``y_q`` is computed by calling the layer once more on its recorded input with the
    swapped weight (then restored); an inference BatchNorm maps a change ``Δ`` of its input
    channel ``o`` to ``f_o · Δ``, so the error after the BatchNorm is ``f ⊙ (layer_q − layer)``.
    """
    opts = options or QuantOptions()
    data = list(batches)
    if not data:
        raise ValueError("calibration needs at least one batch")
    work = set_eval(copy.deepcopy(model))
    params = dict(work.named_parameters(remove_duplicate=False))
    modules = dict(work.named_modules())
    chosen = list(targets) if targets is not None else default_targets(work)
    unobserved: list[tuple[str, str]] = []
    usable: list[CalibTarget] = []
    for t in chosen:
        if t.path not in modules or t.observe not in modules or t.weight not in params:
            unobserved.append((t.path or "(root)", "no module / weight of that name to hook"))
        else:
            usable.append(t)

    device = next((p.device for p in params.values()), torch.device("cpu"))

    def to_device(batch: object) -> object:
        if isinstance(batch, Tensor):
            return batch.to(device)
        if isinstance(batch, (tuple, list)):
            return type(batch)(to_device(b) for b in batch)
        return batch

    data = [to_device(b) for b in data]
    q = opts.outlier_percentile
    maxima: dict[str, Tensor] = {}
    ratio_sum: dict[str, Tensor] = {}
    ratio_cnt: dict[str, Tensor] = {}
    signal: dict[str, float] = {}
    noise: dict[str, float] = {}
    broken: set[str] = set()

    def layer_hook(t: CalibTarget, wq: Tensor | None):  # type: ignore[no-untyped-def]
        weight = params[t.weight]
        factors = (
            torch.tensor(t.factors, dtype=torch.float32, device=device)
            if t.factors is not None
            else None
        )

        def hook(
            mod: torch.nn.Module, args: tuple[object, ...], kwargs: dict[str, object], out: object
        ) -> None:
            y = _first_tensor(out)
            if y is None:
                return
            v = _per_channel(y, t.channel_dim)
            top = v.amax(dim=1)
            k = max(1, math.ceil(q * v.shape[1]))
            p = v.kthvalue(k, dim=1).values
            ok = p > 0
            ratio = torch.where(
                ok, top / torch.where(ok, p, torch.ones_like(p)), torch.zeros_like(p)
            )
            maxima[t.path] = torch.maximum(maxima[t.path], top) if t.path in maxima else top
            ratio_sum[t.path] = ratio_sum.get(t.path, torch.zeros_like(p)) + ratio.double()
            ratio_cnt[t.path] = ratio_cnt.get(t.path, torch.zeros_like(p)) + ok.double()
            if wq is None:
                return
            saved = weight.data  # swap the storage of our copy's parameter, no copies
            try:
                weight.data = wq
                yq = _first_tensor(mod.forward(*args, **kwargs))  # forward(): no hooks re-run
            finally:
                weight.data = saved
            if yq is None or yq.shape != y.shape:
                broken.add(t.path)
                return
            err = (yq - y).to(torch.float32)
            if t.observe != t.path and factors is not None:
                err = err * _channel_view(factors, t.channel_dim, err.dim())
            noise[t.path] = noise.get(t.path, 0.0) + float((err * err).sum())
            if t.observe == t.path:
                y32 = y.to(torch.float32)
                signal[t.path] = signal.get(t.path, 0.0) + float((y32 * y32).sum())

        return hook

    def observe_hook(t: CalibTarget):  # type: ignore[no-untyped-def]
        def hook(_m: torch.nn.Module, _i: object, out: object) -> None:
            y = _first_tensor(out)
            if y is None:
                return
            y32 = y.to(torch.float32)
            signal[t.path] = signal.get(t.path, 0.0) + float((y32 * y32).sum())

        return hook

    with torch.no_grad():
        handles = []
        for t in usable:
            w = params[t.weight]
            wq = quantized_weight(w, t.factors, opts.bits).to(w.dtype) if output_sqnr else None
            handles.append(
                modules[t.path].register_forward_hook(layer_hook(t, wq), with_kwargs=True)
            )
            if output_sqnr and t.observe != t.path:
                handles.append(modules[t.observe].register_forward_hook(observe_hook(t)))
        samples = 0
        try:
            for batch in data:
                first = batch[0] if isinstance(batch, (tuple, list)) else batch
                samples += int(first.shape[0]) if isinstance(first, Tensor) and first.dim() else 1
                _run(work, batch)
        finally:
            for h in handles:
                h.remove()

    layers = []
    for t in usable:
        if t.path not in maxima:
            unobserved.append((t.path or "(root)", "the module produced no tensor output"))
            continue
        cnt = ratio_cnt[t.path]
        mean_ratio = ratio_sum[t.path] / cnt.clamp(min=1)
        sqnr: float | None = None
        if output_sqnr and t.path not in broken and t.path in noise:
            sqnr = _db_from(signal.get(t.path, 0.0), noise[t.path])
        layers.append(
            LayerActivation(
                path=t.path,
                observed_at=t.observe,
                channels=int(maxima[t.path].numel()),
                channel_ranges=_floats(maxima[t.path].double()),
                outlier_ratios=tuple(
                    float(r) if c > 0 else None
                    for r, c in zip(mean_ratio.tolist(), cnt.tolist(), strict=True)
                ),
                output_sqnr_db=sqnr,
            )
        )
    return ActivationStats(
        source=source,
        random=random,
        batches=len(data),
        samples=samples,
        percentile=q,
        outlier_ratio=opts.outlier_ratio,
        layers=tuple(layers),
        unobserved=tuple(unobserved),
    )


def quant(
    graph: ir.Graph,
    tensors: Mapping[str, torch.Tensor] | None,
    *,
    bn_eps: Mapping[str, float] | None = None,
    options: QuantOptions | None = None,
    model: str = "",
) -> QuantReport:
    """Measure weight-quantization fragility of every conv / linear layer of ``graph``.

    ``tensors`` maps parameter and buffer names (as in ``graph.params``, aliases allowed)
    to real tensors; ``None`` or meta tensors give a skipped report. ``bn_eps`` maps
    BatchNorm module paths to their ``eps`` (1e-5 is assumed, and said, where missing).
    Neither the graph nor the tensors are modified.
    """
    opts = options or QuantOptions()
    if tensors is None:
        return skipped(
            model,
            "no weights were given (pass --weights CKPT or a model with real parameters)",
            opts,
        )
    reason = missing_values(graph, tensors)
    if reason is not None:
        return skipped(model, reason, opts)
    tensors = resolve(graph, tensors)
    sites, unsupported = find_layers(graph)
    layers: list[LayerQuant] = []
    folded: dict[str, Any] = {}
    left_out = list(unsupported)
    for site in sites:
        result = measure_layer(site, tensors, bn_eps or {}, opts)
        if isinstance(result, str):
            left_out.append((site.path or "(root)", result))
            continue
        lq, w_fold = result
        layers.append(lq)
        folded[site.weight] = w_fold
    equalizations = []
    for pair in find_pairs(graph, sites):
        # Every pair: the rules decide with their own thresholds whether to suggest it.
        if pair.first.weight in folded and pair.second.weight in folded:
            equalizations.append(
                equalize(pair, folded[pair.first.weight], folded[pair.second.weight], opts)
            )
    return QuantReport(
        model=model,
        options=opts,
        layers=tuple(layers),
        equalizations=tuple(equalizations),
        unsupported=tuple(left_out),
    )
