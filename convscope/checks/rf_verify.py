"""Empirical receptive fields: prove the analytic RF against the network itself.

:func:`verify_rf` (``--verify-rf``) measures the *exact input support* of one output
pixel on the positive copy of the model (:mod:`convscope.checks.positive`) fed a positive
input (``1 + 0.1·U(0, 1)``), in float64 (float32 when the network is too shallow for the
smallest path gradient to underflow): an input pixel has a non-zero gradient exactly when
some path connects it to the output pixel.

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
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.utils._pytree import tree_flatten

from convscope.analysis.build import Analysis
from convscope.analysis.run import as_inputs
from convscope.checks.positive import PositiveMode, positive_copy
from convscope.checks.probe import draw_inputs, first_float, position_text
from convscope.ir import graph as ir
from convscope.model.guard import ModelCodeError, model_code, module_label
from convscope.model.state import keeps_global_state
from convscope.passes.keys import RECEPTIVE_FIELD
from convscope.passes.receptive.result import NodeRF, ReceptiveField
from convscope.passes.receptive.walk import receptive_field

__all__ = ["LayerCheck", "VerifyResult", "verify_rf"]


Extent = tuple[int, int]


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
                    position_text(c.position),
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


def _axis_names(n: int) -> list[str]:
    return {1: ["L"], 2: ["H", "W"], 3: ["D", "H", "W"]}.get(n, [f"a{i}" for i in range(n)])


def _extents(e: Sequence[Extent] | None, axes: Sequence[str]) -> str:
    if not e:
        return "—"
    return " ".join(f"{a}[{lo},{hi}]" for a, (lo, hi) in zip(axes, e, strict=False))


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

    net = positive_copy(model).to(dtype)
    args = draw_inputs(as_inputs(inputs), dtype, positive)
    x = first_float(args)
    x.requires_grad_(True)
    mode = PositiveMode()
    with (
        _capture(net, paths) as found,
        torch.enable_grad(),
        mode,
        model_code("forward", module_label(model)),
    ):
        args.call(net)
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
