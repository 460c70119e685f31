"""The ``QUANT`` section of an analysis: every layer's figures, the equalization pairs,
the calibration, and the suggestions and summaries read off them."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from convscope.passes.quant.activations import ActivationStats
from convscope.passes.quant.grid import rounded, share_text
from convscope.passes.quant.options import QuantOptions
from convscope.passes.quant.weights import (
    Equalization,
    LayerQuant,
    fold_starves,
    starved_layer,
)


@dataclass(frozen=True)
class QuantReport:
    """The ``QUANT`` section of an analysis (``quant`` in the JSON document)."""

    model: str
    options: QuantOptions = field(default_factory=QuantOptions)
    layers: tuple[LayerQuant, ...] = ()
    equalizations: tuple[Equalization, ...] = ()
    unsupported: tuple[tuple[str, str], ...] = ()  # (layer, reason it was left out)
    activations: ActivationStats | None = None
    skipped_reason: str | None = None

    # ---------------------------------------------------------------- queries

    @property
    def skipped(self) -> bool:
        return self.skipped_reason is not None

    def layer(self, path: str) -> LayerQuant | None:
        for lq in self.layers:
            if lq.path == path:
                return lq
        return None

    def starved_flagged(self, *, per_channel: bool = False) -> tuple[LayerQuant, ...]:
        """Layers that fail QF001's test at the pass options (see :func:`starved_layer`)."""
        return tuple(
            lq for lq in self.layers if starved_layer(lq, self.options, per_channel=per_channel)
        )

    def fold_flagged(self) -> tuple[LayerQuant, ...]:
        """Layers whose BatchNorm has dead / constant channels or whose folding starves
        channels (QF002's tests at the pass options)."""
        o = self.options
        return tuple(
            lq
            for lq in self.layers
            if lq.fold is not None
            and (
                fold_starves(lq, o)
                or lq.fold.dead_channels(o.gamma_eps)
                or lq.fold.constant_channels(o.var_eps, o.gamma_eps)
            )
        )

    def equalization_for(self, path: str, *, as_second: bool = False) -> Equalization | None:
        """The pair in which ``path`` is the first layer, else the one where it is second
        (the other way round with ``as_second``: an input-channel problem is fixed with
        the layer before)."""
        order = ("second", "first") if as_second else ("first", "second")
        for side in order:
            found = next((e for e in self.equalizations if getattr(e, side) == path), None)
            if found is not None:
                return found
        return None

    def suggestions(self, lq: LayerQuant) -> tuple[str, ...]:
        """Concrete fixes for one layer, most effective first; empty when nothing is wrong."""
        o = self.options
        mb, limit = o.min_bits, o.max_starved_share
        out: list[str] = []
        out_bad = lq.starved_share(mb) > limit
        in_bad = lq.input_starved_share(mb) > limit
        if out_bad:
            pt, pc = lq.sqnr_per_tensor_db, lq.sqnr_per_channel_db
            gain = f" (weight SQNR {_db(pt)} → {_db(pc)})" if pt is not None else ""
            out.append(f"quantize the weights per output channel{gain}")
        if out_bad or in_bad:
            eq = self.equalization_for(lq.path, as_second=in_bad and not out_bad)
            if eq is not None:
                out.extend(equalization_text(eq, lq.path, mb))
            else:
                out.append(
                    "no cross-layer equalization partner (the layer does not feed, or is not "
                    "fed by, a single conv/linear through a ReLU-like activation)"
                )
        if lq.fold is not None:
            dead = lq.fold.dead_channels(o.gamma_eps)
            const = lq.fold.constant_channels(o.var_eps, o.gamma_eps)
            if dead or const:
                n = len(dead) + len(const)
                idx = ", ".join(str(i) for i in sorted(dead + const)[:8])
                more = "…" if n > 8 else ""
                out.append(
                    f"zero the folded weights of {n} dead/constant channel"
                    f"{'s' if n != 1 else ''} ({idx}{more}) and keep their folded bias: "
                    "their output is constant, and their folded weights only widen the range"
                )
        return tuple(out)

    # ---------------------------------------------------------------- JSON / text

    def summary_dict(self) -> dict[str, Any]:
        """Top-level ``quant`` section of the JSON report."""
        o = self.options
        d: dict[str, Any] = {
            "status": "skipped" if self.skipped else "ok",
            "skipped_reason": self.skipped_reason,
            "options": o.as_dict(),
        }
        if self.skipped:
            return d
        pt = [lq.sqnr_per_tensor_db for lq in self.layers if lq.sqnr_per_tensor_db is not None]
        pc = [lq.sqnr_per_channel_db for lq in self.layers if lq.sqnr_per_channel_db is not None]
        d.update(
            {
                "layers": len(self.layers),
                "starved_flagged": [lq.path for lq in self.starved_flagged()],
                "fold_flagged": [lq.path for lq in self.fold_flagged()],
                "sqnr_per_tensor_db": _stats(pt),
                "sqnr_per_channel_db": _stats(pc),
                "worst": _worst(self.layers, o.min_bits),
                "equalization": [e.as_dict_at(o.min_bits) for e in self.equalizations],
                "unsupported": [{"layer": p, "reason": r} for p, r in self.unsupported],
                "calibration": (
                    self.activations.summary_dict() if self.activations is not None else None
                ),
            }
        )
        return d

    def layer_dict(self, path: str) -> dict[str, Any] | None:
        """Per-layer ``quant`` key: the layer's figures and suggestions; a folded
        BatchNorm gets ``{"folded_into": layer}``."""
        if self.skipped:
            return None
        matches = [lq for lq in self.layers if lq.path == path]
        if not matches:
            host = next(
                (lq for lq in self.layers if lq.fold is not None and lq.fold.bn == path), None
            )
            return {"folded_into": host.path} if host is not None else None
        lq = matches[0]
        d = lq.as_dict(self.options)
        d["suggestions"] = list(self.suggestions(lq))
        if len(matches) > 1:
            d["other_weights"] = [m.weight for m in matches[1:]]
        if self.activations is not None:
            la = self.activations.layer(path)
            if la is not None:
                d["activation"] = la.as_dict(self.activations.outlier_ratio)
        return d

    def summary_text(self) -> str:
        """A few plain lines for terminals and logs."""
        if self.skipped:
            return f"quantization analysis skipped: {self.skipped_reason}"
        o = self.options
        n = len(self.layers)
        flagged = self.starved_flagged()
        dw = [lq for lq in self.layers if lq.depthwise]
        dw_flagged = [lq for lq in flagged if lq.depthwise]
        pt = [
            v
            for v in (lq.sqnr_per_tensor_db for lq in self.layers)
            if v is not None and not math.isinf(v)
        ]
        pc = [
            v
            for v in (lq.sqnr_per_channel_db for lq in self.layers)
            if v is not None and not math.isinf(v)
        ]
        lines = [
            f"INT{o.bits} weights ({n} layers, BatchNorm folded): {len(flagged)} with more "
            f"than {share_text(o.max_starved_share)} of their channels below {o.min_bits:g} bits "
            "(output channels per tensor, input channels per channel)"
            + (f" ({len(dw_flagged)} of {len(dw)} depthwise)" if dw else ""),
        ]
        if pt and pc:
            lines.append(
                f"median weight SQNR {statistics.median(pt):.1f} dB per-tensor vs "
                f"{statistics.median(pc):.1f} dB per-channel (layers quantized "
                f"exactly left out); worst per-tensor {min(pt):.1f} dB"
            )
        folds = self.fold_flagged()
        if folds:
            verb = "blows" if len(folds) == 1 else "blow"
            lines.append(
                f"{len(folds)} BatchNorm fold{'s' if len(folds) != 1 else ''} {verb} "
                "up weight ranges (folding starves channels, or dead/constant channels)"
            )
        if self.unsupported:
            lines.append(
                f"{len(self.unsupported)} layer(s) left out: "
                + "; ".join(f"{p}: {r}" for p, r in self.unsupported[:3])
            )
        acts = self.activations
        if acts is not None:
            with_out = [la for la in acts.layers if la.outlier_channels(acts.outlier_ratio)]
            lines.append(
                f"calibration ({acts.source}): {len(with_out)} of {len(acts.layers)} "
                f"layers have channels with max/P{100 * acts.percentile:g} > "
                f"{acts.outlier_ratio:g}"
            )
            if acts.note:
                lines.append(f"note: {acts.note}")
        return "\n".join(lines)


def equalization_text(eq: Equalization, path: str, min_bits: float = 4.0) -> list[str]:
    """Suggestion lines for a cross-layer-equalization pair, seen from layer ``path``: the
    range of the scales and the share of ``path``'s channels below ``min_bits`` after it."""
    out: list[str] = []
    if eq.needs_relu:
        out.append(
            f"replace the ReLU6 between `{eq.first}` and `{eq.second}` by ReLU before "
            "equalizing (rescaling a channel moves ReLU6's clip point)"
        )
    after = f"{share_text(eq.starved_share_after(path, min_bits))} of this layer's output channels"
    in_after = eq.input_starved_share_after(min_bits) if path == eq.second else None
    if in_after is not None:
        after += f" and {share_text(in_after)} of its input channels"
    out.append(
        f"cross-layer equalization of `{eq.first}` → `{eq.second}` with "
        f"s_i = sqrt(r1_i / r2_i) in [{eq.scale_min:.3g}, {eq.scale_max:.3g}] leaves "
        f"{after} below {min_bits:g} bits"
    )
    return out


def _db(v: float | None) -> str:
    if v is None:
        return "n/a"
    return "∞ dB" if math.isinf(v) else f"{v:.1f} dB"


def _stats(values: Sequence[float]) -> dict[str, float | None] | None:
    finite = [v for v in values if not math.isinf(v)]
    if not finite:
        return None
    return {
        "min": rounded(min(finite)),
        "median": rounded(float(statistics.median(finite))),
        "max": rounded(max(finite)),
    }


def _worst(layers: Iterable[LayerQuant], min_bits: float) -> dict[str, Any] | None:
    worst = max(layers, key=lambda lq: (lq.starved_share(min_bits), lq.spread), default=None)
    if worst is None:
        return None
    return {
        "layer": worst.path,
        "starved_share": rounded(worst.starved_share(min_bits)),
        "spread": rounded(worst.spread),
        "sqnr_per_tensor_db": rounded(worst.sqnr_per_tensor_db),
        "sqnr_per_channel_db": rounded(worst.sqnr_per_channel_db),
    }


# --------------------------------------------------------------------------- the pass


def skipped(model: str, reason: str, options: QuantOptions | None = None) -> QuantReport:
    """A report that says why nothing was measured (never invented numbers)."""
    return QuantReport(model=model, options=options or QuantOptions(), skipped_reason=reason)
