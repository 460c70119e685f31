"""Reconcile convscope's counts with fvcore and torch's ``FlopCounterMode``, per module.

``convscope analyze MODEL --crosscheck`` runs two independent counters beside convscope
and prints a table that explains every difference from the measured numbers. The three
tools follow different conventions:

==================  ==========================================================================
counter             what it counts
==================  ==========================================================================
convscope           MACs of conv, linear/matmul and attention; ``flops = 2 × macs``. Norms,
                    pooling, activations, elementwise ops and upsampling are *other-op FLOPs*,
                    reported separately and never mixed into MACs.
FlopCounterMode     FLOPs ``= 2 × MACs`` of convolution, ``mm``/``addmm``/``bmm``/``baddbmm``
                    and the fused attention kernels it has formulas for; nothing else.
fvcore              one "flop" per MAC for conv/linear/matmul/einsum, *plus* its own handlers
                    for batch/layer/group/instance norm, adaptive average pooling, upsampling
                    and grid sampling; a fixed list of ops (relu, cat, views...) is ignored and
                    every other op is "unsupported" and skipped (not in its total).
==================  ==========================================================================

So, on the same model: FlopCounterMode's total should equal ``2 × convscope MACs``, and
fvcore's conv/linear/matmul part should equal convscope's MACs; fvcore's total is larger
by the norm/pool work it counts as flops and smaller by whatever it does not support
(e.g. ``scaled_dot_product_attention``). The notes state these facts with the numbers
measured on the model, never from a per-model table.

Where each counter runs: FlopCounterMode runs on the execution path convscope traced
(meta tensors, or real CPU tensors when convscope fell back to CPU), so that both see the
same ATen ops — on real CPU tensors PyTorch may pick fused inference kernels (e.g.
``_native_multi_head_attention``) that FlopCounterMode has no formula for. fvcore traces
with TorchScript and cannot run on meta, so it always runs a real CPU model on seeded random
inputs of the same shapes: the model itself, or for a model on meta a copy with seeded
random weights (:func:`convscope.model.materialize.materialize`); the explanations say
which. Both run in eval mode, and what a forward caches on its modules (a detection head's
anchor grid, made of meta tensors by a meta run) is undone after each run, so no run sees
another's tensors.

Conventions that differ from "useful work" are listed among the explanations with the
useful figure beside the counted one: transposed convs count the taps that land in the
border ``padding`` crops (as both peers do), ``nn.Fold`` counts only in-bounds
scatter-adds, antialiased resampling its widened filter, and data-dependent ops (NMS,
RoI align) are priced from the sizes of this run.

Per-module counts: each counter attributes an op to every enclosing module; a module's
*own* count is its total minus the totals of its nearest descendants that have a count,
which matches convscope's rows (an op belongs to the innermost module running it).
Modules are matched by their canonical path (the first name ``named_modules()`` gives):
convscope's rows for each place a shared module runs are summed under it, as the peers count.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode

from convscope.analysis.build import Analysis
from convscope.errors import ConvscopeError, describe
from convscope.ir import graph as ir
from convscope.ir.text import packet
from convscope.model.arguments import GivenInputs, ModelInputs
from convscope.model.guard import ModelCodeError
from convscope.model.load import load_model
from convscope.model.materialize import has_meta, materialize
from convscope.model.materialize import real_inputs as real_inputs_of
from convscope.model.modes import eval_mode, kept_attributes

# fvcore's handler names (the keys of ``by_module_and_operator()``) for contractions: fvcore
# counts one flop per multiply-accumulate for these, the same unit as convscope's MACs.
FVCORE_CONTRACTIONS = frozenset({"conv", "linear", "addmm", "bmm", "mm", "matmul", "einsum"})

# A norm as convscope records it: (norm kind, whether its statistics come from the input).
_NormKey = tuple[str, bool]

# fvcore handlers for non-contraction ops, and the convscope op kinds (and recorded norms)
# that hold the same work as other-op FLOPs — used to put the two numbers side by side,
# never to adjust either. An adaptive average pool to 1×1 reaches ATen as ``mean`` (a
# reduce). Instance norm reaches ATen as a batch norm over a (1, N·C, …) view that takes
# its statistics from the input (``training`` set although the trace runs in eval mode):
# that recorded op is fvcore's ``instance_norm``. A norm matches a family when its kind is
# listed with its statistics source, or with None (either source).
_NORMS: Mapping[str, frozenset[tuple[str, bool | None]]] = {
    "batch_norm": frozenset({("batch", None)}),
    "group_norm": frozenset({("group", None)}),
    "layer_norm": frozenset({("layer", None)}),
    "instance_norm": frozenset({("instance", None), ("batch", True)}),
}
_FVCORE_OTHER_KIND: Mapping[str, frozenset[ir.OpKind]] = {
    **{family: frozenset({ir.OpKind.NORM}) for family in _NORMS},
    "adaptive_avg_pool2d": frozenset({ir.OpKind.ADAPTIVE_POOL, ir.OpKind.REDUCE}),
    "upsample_nearest2d": frozenset({ir.OpKind.UPSAMPLE}),
    "upsample_bilinear2d": frozenset({ir.OpKind.UPSAMPLE}),
}


def _norm_matches(family: str, norm: _NormKey | None) -> bool:
    """Whether a recorded norm (None for any other op) is the work of fvcore's ``family``."""
    listed = _NORMS.get(family)
    if listed is None:
        return True  # not a norm family: the op kind decides
    return norm is not None and any(
        kind == norm[0] and (stats is None or stats == norm[1]) for kind, stats in listed
    )


# The ATen ops (as convscope records them on meta) each fvcore contraction handler covers.
_FVCORE_ATEN: Mapping[str, frozenset[str]] = {
    "conv": frozenset({"convolution", "_convolution", "conv2d", "conv1d", "conv3d"}),
    "linear": frozenset({"addmm", "mm", "linear"}),
    "addmm": frozenset({"addmm"}),
    "mm": frozenset({"mm"}),
    "bmm": frozenset({"bmm", "baddbmm"}),
    "matmul": frozenset({"mm", "bmm", "matmul"}),
    "einsum": frozenset({"mm", "bmm", "einsum"}),
}

_INSTALL_HINT = (
    "fvcore is not installed; the cross-check needs it: pip install 'convscope[crosscheck]'"
)


@dataclass(frozen=True)
class CrossRow:
    """One module: convscope's MACs, fvcore's "flops" (None when fvcore failed) and
    FlopCounterMode's FLOPs, all counting only that module's own ops."""

    module: str  # canonical module path, "" for the root module
    convscope_macs: int
    fvcore_flops: int | None
    flopcounter_flops: int
    note: str  # why the numbers differ; "" when fvcore == MACs and FlopCounterMode == 2×MACs

    @property
    def flopcounter_diff(self) -> int:
        """FlopCounterMode FLOPs minus ``2 × convscope MACs`` (0 when they agree)."""
        return self.flopcounter_flops - 2 * self.convscope_macs

    @property
    def fvcore_diff(self) -> int | None:
        """fvcore "flops" minus convscope MACs (fvcore counts one flop per MAC)."""
        return None if self.fvcore_flops is None else self.fvcore_flops - self.convscope_macs


@dataclass(frozen=True)
class CrossCheck:
    """The reconciliation of one model. ``totals`` keys: ``convscope_macs``,
    ``convscope_flops`` (2×MACs), ``convscope_other_flops``, ``flopcounter_flops``,
    ``fvcore_flops``, ``fvcore_contraction_flops`` and ``fvcore_other_flops`` (the fvcore
    entries are None when fvcore failed)."""

    model: str
    rows: tuple[CrossRow, ...]
    totals: dict[str, int | None]
    explanations: tuple[str, ...]
    fvcore_error: str | None

    def summary_dict(self) -> dict[str, Any]:
        """The ``crosscheck`` section of the JSON report."""
        return {
            "totals": dict(self.totals),
            "explanations": list(self.explanations),
            "fvcore_error": self.fvcore_error,
            "modules": [
                {
                    "module": r.module,
                    "convscope_macs": r.convscope_macs,
                    "fvcore_flops": r.fvcore_flops,
                    "flopcounter_flops": r.flopcounter_flops,
                    "note": r.note,
                }
                for r in self.rows
            ],
        }

    def layer_dict(self, path: str) -> dict[str, Any] | None:
        return None


# -- loading -------------------------------------------------------------------------------


def _require_fvcore() -> Any:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # TorchScript deprecation warnings at import
            from fvcore.nn import FlopCountAnalysis  # optional: the crosscheck extra
    except ImportError as exc:
        raise ConvscopeError(_INSTALL_HINT) from exc
    return FlopCountAnalysis


def reconcile(
    spec: str,
    shapes: GivenInputs | None,
    *,
    weights: str | None = None,
    trust_pickle: bool = False,
    analysis: Analysis,
) -> CrossCheck:
    """Load ``spec`` as a real CPU model and reconcile ``analysis`` (convscope's result for
    the same spec and shapes) with fvcore and FlopCounterMode.

    Raises :class:`ConvscopeError` when fvcore is not installed; an fvcore failure on the
    model is recorded in ``fvcore_error`` and the FlopCounterMode comparison still runs.
    """
    _require_fvcore()

    loaded = load_model(
        spec, input_shapes=shapes, weights=weights, trust_pickle=trust_pickle, device="cpu"
    )
    return reconcile_module(loaded.module, loaded.inputs, analysis=analysis, name=spec)


def reconcile_module(
    model: torch.nn.Module,
    inputs: ModelInputs | Sequence[Any],
    *,
    analysis: Analysis,
    name: str | None = None,
) -> CrossCheck:
    """Reconcile ``analysis`` with fvcore and FlopCounterMode run on ``model(*inputs)``.

    fvcore's TorchScript trace needs real tensors: a ``model`` on meta is counted on a CPU
    copy with seeded random weights (the one materializer's), and the explanations say
    which. ``inputs`` (positional, or :class:`ModelInputs` with keyword ones) may be meta
    tensors (they are replaced by seeded random tensors of the same shapes). The model is
    left as it was.
    """
    flop_count_analysis = _require_fvcore()
    real_inputs = real_inputs_of(ModelInputs.of(inputs))
    fv_where = "real CPU tensors, the model's own weights"
    if has_meta(model):
        model = materialize(model, seed=0).module
        fv_where = "real CPU tensors, a copy of the model on meta with seeded random weights"
    canonical = {id(m): path for path, m in model.named_modules()}
    order = list(canonical.values())

    with eval_mode(model):
        fc_counts, fc_mode_note = _flopcounter(model, real_inputs, analysis.graph.mode)
        fv_counts: dict[str, dict[str, int]] | None = None
        fv_unsupported: dict[str, dict[str, int]] = {}
        fv_total: int | None = None
        fvcore_error: str | None = None
        try:
            fv_counts, fv_unsupported, fv_total = _fvcore(flop_count_analysis, model, real_inputs)
        except ModelCodeError:  # exit, interrupt or timeout: never retried or hidden
            raise
        except Exception as exc:  # fvcore failing is reported, not fatal
            fvcore_error = describe(exc)

    fc_own = _resolve(_own(fc_counts), model, canonical)
    fv_own = _own(fv_counts) if fv_counts is not None else {}
    fv_unsup_own = _own(fv_unsupported)
    cs = _ConvscopeView(analysis, lambda p: _canonical(model, p, canonical))

    paths = list(
        dict.fromkeys(list(cs.macs) + order + sorted(set(fc_own) | set(fv_own) | set(fv_unsup_own)))
    )
    rows: list[CrossRow] = []
    for path in paths:
        macs = cs.macs.get(path, 0)
        fc = sum(fc_own.get(path, {}).values())
        fv = sum(fv_own.get(path, {}).values()) if fv_counts is not None else None
        unsup = {op: n for op, n in fv_unsup_own.get(path, {}).items() if n > 0}
        if not (macs or fc or fv or unsup):
            continue
        note = _row_note(
            path,
            macs,
            fc_own.get(path, {}),
            fv_own.get(path, {}) if fv_counts is not None else None,
            unsup,
            cs,
        )
        rows.append(
            CrossRow(
                module=path, convscope_macs=macs, fvcore_flops=fv, flopcounter_flops=fc, note=note
            )
        )

    fc_total = sum(sum(c.values()) for c in fc_own.values())
    totals: dict[str, int | None] = {
        "convscope_macs": analysis.totals.macs,
        "convscope_flops": analysis.totals.flops,
        "convscope_other_flops": analysis.totals.other_flops,
        "flopcounter_flops": fc_total,
        "fvcore_flops": fv_total,
        "fvcore_contraction_flops": None,
        "fvcore_other_flops": None,
    }
    fv_by_op: dict[str, int] = {}
    if fv_counts is not None:
        fv_by_op = _sum_ops(fv_own.values())
        totals["fvcore_contraction_flops"] = sum(
            n for op, n in fv_by_op.items() if op in FVCORE_CONTRACTIONS
        )
        totals["fvcore_other_flops"] = sum(
            n for op, n in fv_by_op.items() if op not in FVCORE_CONTRACTIONS
        )
    explanations = _explain(
        analysis,
        cs,
        totals,
        fc_counts,
        fc_mode_note,
        fv_own,
        fv_unsupported.get("", {}),
        fvcore_error,
        rows,
        fv_where,
    )
    return CrossCheck(
        model=name or analysis.model,
        rows=tuple(rows),
        totals=totals,
        explanations=tuple(explanations),
        fvcore_error=fvcore_error,
    )


# -- running the counters ----------------------------------------------------------------


def _meta_stand_ins(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """A meta tensor per unique parameter/buffer, shared by its aliases (tied weights)."""
    made: dict[int, torch.Tensor] = {}
    out: dict[str, torch.Tensor] = {}
    named = [
        *model.named_parameters(remove_duplicate=False),
        *model.named_buffers(remove_duplicate=False),
    ]
    for name, t in named:
        if id(t) not in made:
            made[id(t)] = torch.empty(t.shape, dtype=t.dtype, device="meta")
        out[name] = made[id(t)]
    return out


def _flopcounter(
    model: torch.nn.Module, inputs: ModelInputs, mode: str
) -> tuple[dict[str, dict[str, int]], str]:
    """FlopCounterMode per-module subtree counts ``{path: {aten op: flops}}`` (paths relative
    to the root, "" for the root), and the device it ran on, in words."""

    def run(call: Callable[[], Any]) -> dict[str, dict[str, int]]:
        # kept_attributes: what a forward caches on its modules (meta tensors here) must not
        # reach the next run
        with kept_attributes(model), torch.no_grad(), FlopCounterMode(display=False) as counter:
            call()
        return _strip_root(counter.get_flop_counts(), type(model).__name__)

    if mode == "meta":
        meta = inputs.map_tensors(lambda x: torch.empty(x.shape, dtype=x.dtype, device="meta"))
        try:
            counts = run(
                lambda: torch.func.functional_call(
                    model,
                    _meta_stand_ins(model),
                    meta.args,
                    dict(meta.kwargs),
                    strict=False,
                    tie_weights=True,
                )
            )
            return counts, "meta tensors, the execution path convscope traced"
        except ModelCodeError:  # exit, interrupt or timeout: never retried or hidden
            raise
        except Exception as exc:  # fall back to real tensors, and say so
            reason = describe(exc)
            return run(lambda: inputs.call(model)), f"real CPU tensors (meta failed: {reason})"
    return run(lambda: inputs.call(model)), "real CPU tensors, as convscope's CPU fallback trace"


def _strip_root(counts: Mapping[str, Mapping[Any, int]], root: str) -> dict[str, dict[str, int]]:
    """FlopCounterMode keys are ``Global``, ``<RootType>`` and ``<RootType>.a.b``; keep the
    module ones as root-relative paths. Keys of modules created inside ``forward`` (named by
    their type alone) are dropped: their FLOPs stay in their caller's count."""
    out: dict[str, dict[str, int]] = {}
    for key, ops in counts.items():
        if key == root:
            path = ""
        elif key.startswith(root + "."):
            path = key[len(root) + 1 :]
        else:
            continue
        out[path] = {str(op): int(n) for op, n in ops.items()}
    return out


class _KeywordCall(torch.nn.Module):
    """``model(*args, **kwargs)`` as a call with positional inputs only, which is all that
    fvcore's TorchScript trace passes on; the model sits under the name ``model``."""

    def __init__(self, model: torch.nn.Module, positional: int, names: Sequence[str]) -> None:
        super().__init__()
        self.model = model
        self.positional = positional
        self.names = tuple(names)

    def forward(self, *flat: Any) -> Any:
        args, values = flat[: self.positional], flat[self.positional :]
        return self.model(*args, **dict(zip(self.names, values, strict=True)))


def _unwrap(counts: Mapping[str, Mapping[str, int]]) -> dict[str, dict[str, int]]:
    """Counts of a :class:`_KeywordCall` run as the model's own paths."""
    out: dict[str, dict[str, int]] = {}
    for path, ops in counts.items():
        if path == "model" or path.startswith("model."):
            out[path[len("model.") :] if path != "model" else ""] = dict(ops)
    return out


def _fvcore(
    flop_count_analysis: Any, model: torch.nn.Module, inputs: ModelInputs
) -> tuple[dict[str, dict[str, int]], dict[str, dict[str, int]], int]:
    """fvcore's per-module subtree counts by handler, unsupported ops by module, and total."""
    if inputs.kwargs:
        wrapped = _KeywordCall(model, len(inputs.args), list(inputs.kwargs))
        counts, unsupported, total = _fvcore(
            flop_count_analysis, wrapped, ModelInputs((*inputs.args, *inputs.kwargs.values()))
        )
        return _unwrap(counts), _unwrap(unsupported), total
    with warnings.catch_warnings(), kept_attributes(model):
        warnings.simplefilter("ignore")  # TorchScript deprecation and tracer warnings
        fa = flop_count_analysis(model, inputs.args)
        fa.unsupported_ops_warnings(False)
        fa.uncalled_modules_warnings(False)
        fa.tracer_warnings("none")
        by_module = fa.by_module_and_operator()
        counts = {path: {op: int(n) for op, n in ops.items()} for path, ops in by_module.items()}
        unsupported = {
            path: {op: int(n) for op, n in fa.unsupported_ops(path).items()} for path in by_module
        }
        return counts, unsupported, int(fa.total())


# -- per-module arithmetic -----------------------------------------------------------------


def _ancestor(path: str, present: set[str]) -> str | None:
    """The nearest proper ancestor of ``path`` among ``present`` ("" is the root)."""
    if path == "":
        return None
    parts = path.split(".")
    for i in range(len(parts) - 1, 0, -1):
        candidate = ".".join(parts[:i])
        if candidate in present:
            return candidate
    return "" if "" in present else None


def _own(subtree: Mapping[str, Mapping[str, int]]) -> dict[str, dict[str, int]]:
    """Subtree counts → each module's own counts (minus its nearest counted descendants)."""
    own = {path: dict(ops) for path, ops in subtree.items()}
    present = set(subtree)
    for path, ops in subtree.items():
        parent = _ancestor(path, present)
        if parent is None:
            continue
        for op, n in ops.items():
            own[parent][op] = own[parent].get(op, 0) - n
    return {path: {op: n for op, n in ops.items() if n} for path, ops in own.items()}


def _resolve(
    own: Mapping[str, Mapping[str, int]], model: torch.nn.Module, canonical: Mapping[int, str]
) -> dict[str, dict[str, int]]:
    """Map names (possibly a shared module's second name) to canonical module paths."""
    out: dict[str, dict[str, int]] = {}
    for path, ops in own.items():
        merged = out.setdefault(_canonical(model, path, canonical), {})
        for op, n in ops.items():
            merged[op] = merged.get(op, 0) + n
    return out


def _canonical(model: torch.nn.Module, path: str, canonical: Mapping[int, str]) -> str:
    """The first name of the module at ``path`` (``path`` itself for a module made inside
    ``forward``, which has no name)."""
    try:
        return canonical.get(id(model.get_submodule(path)), path)
    except AttributeError:
        return path


def _sum_ops(counters: Iterable[Mapping[str, int]]) -> dict[str, int]:
    total: dict[str, int] = {}
    for ops in counters:
        for op, n in ops.items():
            total[op] = total.get(op, 0) + n
    return total


class _ConvscopeView:
    """convscope's numbers per row: MACs, MACs by op kind and by ATen op, and other FLOPs
    by (op kind, norm kind)."""

    def __init__(self, a: Analysis, canon: Callable[[str], str] = lambda p: p) -> None:
        # ``canon``: a row's path → the name the peers use (a shared module's first name:
        # convscope's rows for each place it runs are summed there, as the peers count)
        nodes = {n.id: n for n in a.graph.nodes}
        self.macs: dict[str, int] = {}
        self.other: dict[str, int] = {}
        self.macs_by_kind: dict[str, dict[str, int]] = {}
        self.macs_by_op: dict[str, dict[str, int]] = {}
        self.other_by_key: dict[str, dict[tuple[ir.OpKind, _NormKey | None], int]] = {}
        for r in a.rows:
            path = canon(r.path)
            self.macs[path] = self.macs.get(path, 0) + r.macs
            self.other[path] = self.other.get(path, 0) + r.other_flops
            by_kind = self.macs_by_kind.setdefault(path, {})
            by_op = self.macs_by_op.setdefault(path, {})
            other = self.other_by_key.setdefault(path, {})
            for nid in r.nodes:
                node, c = nodes[nid], a.node_cost[nid]
                if c.macs:
                    by_kind[node.kind.value] = by_kind.get(node.kind.value, 0) + c.macs
                    by_op[node.op] = by_op.get(node.op, 0) + c.macs
                if c.other_flops:
                    attrs = node.attrs
                    norm = (attrs.kind, attrs.training) if isinstance(attrs, ir.NormAttrs) else None
                    other[(node.kind, norm)] = other.get((node.kind, norm), 0) + c.other_flops

    def other_for(self, path: str, family: str) -> int:
        """convscope other-op FLOPs in row ``path`` of the work fvcore's handler ``family``
        counts."""
        kinds = _FVCORE_OTHER_KIND[family]
        return sum(
            n
            for (kind, norm), n in self.other_by_key.get(path, {}).items()
            if kind in kinds and _norm_matches(family, norm)
        )


# -- notes -------------------------------------------------------------------------------


def _fmt_ops(ops: Mapping[str, int], sep: str = " ") -> str:
    return ", ".join(f"{op}{sep}{n:,}" for op, n in sorted(ops.items(), key=lambda kv: -kv[1]))


def _missed_ops(fv_ops: Mapping[str, int], cs_ops: Mapping[str, int]) -> list[str] | None:
    """The convscope ATen ops (with MACs) that fvcore's contraction counts leave out.

    Each fvcore contraction handler is matched to a set of convscope ops it can stand for
    (``_FVCORE_ATEN``) whose MACs sum exactly to its count; what is left over is what fvcore
    missed. None when no exact matching exists.
    """
    remaining = dict(cs_ops)
    for fv_op, count in sorted(fv_ops.items(), key=lambda kv: kv[1]):
        if fv_op not in FVCORE_CONTRACTIONS or not count:
            continue
        allowed = _FVCORE_ATEN.get(fv_op, frozenset())
        candidates = [op for op in remaining if packet(op) in allowed]
        match = next(
            (
                combo
                for k in range(1, len(candidates) + 1)
                for combo in itertools.combinations(candidates, k)
                if sum(remaining[op] for op in combo) == count
            ),
            None,
        )
        if match is None:
            return None
        for op in match:
            del remaining[op]
    return sorted(remaining)


def _gap_source(gap: int, fv_ops: Mapping[str, int], cs_ops: Mapping[str, int]) -> str:
    """Name the convscope ops whose MACs make up ``gap`` (MACs fvcore did not count)."""
    if gap <= 0:
        return ""
    missed = _missed_ops(fv_ops, cs_ops)
    if not missed or sum(cs_ops[op] for op in missed) != gap:
        return ""
    return (
        f"; the gap is exactly convscope's MACs in {', '.join(missed)}, which fvcore does not count"
    )


def _row_note(
    path: str,
    macs: int,
    fc_ops: Mapping[str, int],
    fv_ops: Mapping[str, int] | None,
    unsup: Mapping[str, int],
    cs: _ConvscopeView,
) -> str:
    """Explain, from this module's numbers, why the counters differ (or "")."""
    parts: list[str] = []
    fc = sum(fc_ops.values())
    if fc != 2 * macs:
        mine = _fmt_ops(cs.macs_by_op.get(path, {})) or "none"
        theirs = _fmt_ops(fc_ops) or "none"
        parts.append(
            f"FlopCounterMode {fc:,} vs 2×MACs {2 * macs:,}: it counted {theirs}; "
            f"convscope MACs come from {mine}"
        )
    if fv_ops is not None:
        contraction = sum(n for op, n in fv_ops.items() if op in FVCORE_CONTRACTIONS)
        if contraction != macs:
            text = (
                f"fvcore conv/linear/matmul {contraction:,} vs convscope MACs {macs:,} "
                f"({contraction - macs:+,})"
            )
            text += _gap_source(macs - contraction, fv_ops, cs.macs_by_op.get(path, {}))
            parts.append(text)
        for op, n in sorted(fv_ops.items()):
            if op in FVCORE_CONTRACTIONS or not n:
                continue
            if op in _FVCORE_OTHER_KIND:
                parts.append(
                    f"fvcore counts {op} as {n:,} flops; convscope reports it as "
                    f"other-op FLOPs ({cs.other_for(path, op):,}), not MACs"
                )
            else:
                parts.append(f"fvcore counts {op} as {n:,} flops; convscope keeps it out of MACs")
    if unsup:
        other = cs.other.get(path, 0)
        parts.append(
            f"fvcore skips unsupported {_fmt_ops(unsup, ' ×')}"
            + (f" (convscope other-op FLOPs here: {other:,})" if other else "")
        )
    return "; ".join(parts)


def _explain(
    a: Analysis,
    cs: _ConvscopeView,
    totals: Mapping[str, int | None],
    fc_counts: Mapping[str, Mapping[str, int]],
    fc_where: str,
    fv_own: Mapping[str, Mapping[str, int]],
    fv_unsup: Mapping[str, int],
    fvcore_error: str | None,
    rows: Sequence[CrossRow],
    fv_where: str = "real CPU tensors",
) -> list[str]:
    """Model-level statements, each computed from the totals and per-op breakdowns."""
    out: list[str] = []
    macs = a.totals.macs
    fv_by_op = _sum_ops(fv_own.values())

    def convscope_other(family: str) -> int:
        """convscope's other-op FLOPs for the family, in the modules where fvcore counted it."""
        return sum(cs.other_for(path, family) for path, ops in fv_own.items() if ops.get(family))

    fc = totals["flopcounter_flops"] or 0
    fc_ops = _fmt_ops(fc_counts.get("", {})) or "nothing"
    if fc == 2 * macs:
        out.append(
            f"FlopCounterMode (run on {fc_where}) totals {fc:,} FLOPs = 2 × convscope "
            f"MACs {macs:,}: both count FLOPs = 2×MACs for contractions "
            f"(it counted {fc_ops})."
        )
    else:
        bad = [r.module or "(root)" for r in rows if r.flopcounter_diff]
        out.append(
            f"FlopCounterMode (run on {fc_where}) totals {fc:,} FLOPs, 2 × convscope "
            f"MACs is {2 * macs:,} ({fc - 2 * macs:+,}); it counted {fc_ops}; modules "
            f"that differ: {', '.join(bad[:6]) or 'none (attribution only)'}"
            + (" ..." if len(bad) > 6 else "")
            + "."
        )
    out += conventions(a)
    if fvcore_error is not None:
        out.append(
            f"fvcore (run on {fv_where}) failed on this model ({fvcore_error}); only "
            "FlopCounterMode was compared."
        )
        return out
    fv = totals["fvcore_flops"] or 0
    con = totals["fvcore_contraction_flops"] or 0
    oth = totals["fvcore_other_flops"] or 0
    out.append(
        f'fvcore (run on {fv_where}) totals {fv:,} "flops" = {con:,} from conv/linear/matmul '
        f"(one flop per MAC) + {oth:,} from other handlers."
    )
    if con == macs:
        out.append(f"fvcore's conv/linear/matmul count equals convscope's MACs ({macs:,}).")
    else:
        gap = macs - con
        text = (
            f"fvcore's conv/linear/matmul count differs from convscope's MACs by {-gap:+,} "
            f"({con / macs:.4f}×)"
            if macs
            else f"fvcore counts {con:,} conv/linear/matmul flops where convscope has no MACs"
        )
        text += _gap_source(gap, fv_by_op, _sum_ops(cs.macs_by_op.values()))
        out.append(text + ".")
    for op, n in sorted(fv_by_op.items()):
        if op in FVCORE_CONTRACTIONS or not n:
            continue
        if op in _FVCORE_OTHER_KIND:
            mine = convscope_other(op)
            ratio = f", {n / mine:.2f}× convscope's" if mine else ""
            out.append(
                f"fvcore counts {op} as {n:,} flops; convscope reports that work as "
                f"other-op FLOPs ({mine:,}{ratio}), never as MACs."
            )
        else:
            out.append(f"fvcore counts {op} as {n:,} flops; convscope keeps it out of MACs.")
    if fv_unsup:
        out.append(
            f"fvcore skipped ops it has no handler for (absent from its total): "
            f"{_fmt_ops(fv_unsup, ' ×')}."
        )
    counted = sum(convscope_other(op) for op in fv_by_op if op in _FVCORE_OTHER_KIND)
    rest = a.totals.other_flops - counted
    if rest > 0:
        out.append(
            f"convscope other-op FLOPs total {a.totals.other_flops:,}; {rest:,} of them "
            "(activations, elementwise, pooling fvcore ignores or does not support) "
            "have no counterpart in fvcore."
        )
    return out


_PLAIN_TAPS = {"bilinear": 4, "bicubic": 16}


def conventions(a: Analysis) -> list[str]:
    """Where the counted number follows a convention that differs from the useful work,
    one sentence per layer with both figures (empty when there is nothing to say)."""
    out: list[str] = []
    for w in a.useful_work:
        out.append(
            f"{w.layer} ({w.op}): {w.macs:,} MACs counted, every kernel tap, as fvcore and "
            f"FlopCounterMode count them; {w.useful_macs:,} useful: the other "
            f"{w.macs - w.useful_macs:,} land in the border that padding crops."
        )
    g = a.graph
    for n in g.nodes:
        c = a.node_cost[n.id]
        first = g.tensor.get(n.inputs[0]) if n.inputs else None
        where = n.module or "(root)"
        if isinstance(n.attrs, ir.FoldAttrs) and first is not None:
            out.append(
                f"{where} ({n.op}): {c.other_flops:,} FLOPs counted, one addition per block "
                f"tap that lands inside the output; {first.numel:,} taps in all, the rest "
                "fall in the padding and are dropped."
            )
        elif (
            isinstance(n.attrs, ir.UpsampleAttrs)
            and n.attrs.antialias
            and n.outputs
            and n.attrs.mode in _PLAIN_TAPS
        ):
            plain = 2 * _PLAIN_TAPS[n.attrs.mode] * n.outputs[0].numel
            out.append(
                f"{where} ({n.op}): {c.other_flops:,} FLOPs counted for the antialiasing "
                f"filter's taps (separable, widened by the downscale factor); plain "
                f"{n.attrs.mode} would be {plain:,}. Neither peer counts interpolation."
            )
    for u in a.data_dependent:
        out.append(
            f"{u.op} ×{u.count}: data-dependent, priced from the sizes this run produced "
            "(boxes kept, regions); another input or trained weights change it. Neither "
            "peer counts it."
        )
    return out
