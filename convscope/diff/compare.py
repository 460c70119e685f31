"""Compare two analyses: model-level totals, latency at a common batch size, and every
layer matched by module path."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from convscope.diff.metrics import METRICS, RF, Metric, Number
from convscope.diff.reports import is_number, validate_report
from convscope.diff.result import (
    LAYER_FIELDS,
    Diff,
    FieldDelta,
    FieldValue,
    LatencyDelta,
    LatencyStats,
    LayerDelta,
    MetricDelta,
    PredictedDelta,
    Side,
)


def diff_reports(
    base: Mapping[str, Any],
    head: Mapping[str, Any],
    *,
    base_label: str | None = None,
    head_label: str | None = None,
) -> Diff:
    """Compare two JSON reports (``schema_version`` 1). Labels name the sides in messages
    and reports (default: their ``model``)."""
    base_label = base_label or str(base.get("model", "base"))
    head_label = head_label or str(head.get("model", "head"))
    validate_report(base, base_label)
    validate_report(head, head_label)
    sb, sh = _side(base, base_label), _side(head, head_label)
    totals = tuple(MetricDelta(m, _metric(base, m), _metric(head, m)) for m in METRICS)
    latency, latency_note = _latency(base, head)
    aligned = align_layers(base["layers"], head["layers"])
    notes: list[str] = []
    if sb.inputs != sh.inputs:
        notes.append(f"inputs differ: base {_shapes(sb.inputs)}, head {_shapes(sh.inputs)}")
    if sb.dtype != sh.dtype:
        notes.append(
            f"bytes priced differently: base dtype {sb.dtype or 'as built'}, "
            f"head dtype {sh.dtype or 'as built'}"
        )
    if latency_note:
        notes.append(latency_note)
    predicted, missing = _predicted(base, head, base_label, head_label)
    if predicted is not None and predicted.base_target != predicted.head_target:
        notes.append(
            f"latency predicted for different targets: base {predicted.base_target}, "
            f"head {predicted.head_target}"
        )
    return Diff(sb, sh, totals, latency, aligned, tuple(notes), predicted, missing)


def _predicted_ms(doc: Mapping[str, Any]) -> tuple[float, str | None] | None:
    section = doc.get("latency")
    if not isinstance(section, Mapping) or not is_number(section.get("predicted_ms")):
        return None
    target = section.get("target")
    return float(section["predicted_ms"]), str(target) if target is not None else None


def _predicted(
    base: Mapping[str, Any], head: Mapping[str, Any], base_label: str, head_label: str
) -> tuple[PredictedDelta | None, str | None]:
    """Both sides' predicted latency, or None and which side lacks it."""
    b, h = _predicted_ms(base), _predicted_ms(head)
    if b is not None and h is not None:
        return PredictedDelta(b[0], h[0], b[1], h[1]), None
    if b is None and h is None:
        return None, "no predicted latency in either report"
    which, label = ("base", base_label) if b is None else ("head", head_label)
    return None, f"no predicted latency in {which} ({label})"


def _shapes(shapes: Sequence[Sequence[int]]) -> str:
    return ", ".join("×".join(str(d) for d in s) for s in shapes) or "none"


def _side(doc: Mapping[str, Any], label: str) -> Side:
    inputs = doc.get("inputs") or []
    trace = doc.get("trace")
    return Side(
        label=label,
        model=str(doc.get("model", label)),
        inputs=tuple(tuple(int(d) for d in s) for s in inputs if isinstance(s, list)),
        dtype=doc.get("dtype"),
        trace_mode=trace.get("mode") if isinstance(trace, Mapping) else None,
    )


def _metric(doc: Mapping[str, Any], m: Metric) -> Number | None:
    if m is RF:
        return _rf_size(doc.get("receptive_field"))
    value = doc["totals"].get(m.name)
    return value if is_number(value) else None


def _rf_size(section: Any) -> int | float | None:
    """Largest side of an RF dict (``receptive_field`` summary or a layer's ``rf``)."""
    if not isinstance(section, Mapping):
        return None
    size = section.get("size")
    if not isinstance(size, list) or not size or not all(is_number(s) for s in size):
        return None
    biggest: int | float = max(size)
    return biggest


def _profile_batches(doc: Mapping[str, Any]) -> list[LatencyStats] | None:
    prof = doc.get("profile")
    if not isinstance(prof, Mapping) or not isinstance(prof.get("batches"), list):
        return None
    out: list[LatencyStats] = []
    for b in prof["batches"]:
        if not isinstance(b, Mapping):
            continue
        values: list[Any] = [b.get(k) for k in ("median_ms", "p10_ms", "p90_ms")]
        if isinstance(b.get("batch_size"), int) and all(is_number(v) for v in values):
            out.append(LatencyStats(b["batch_size"], *(float(v) for v in values)))
    return out or None


def _device(doc: Mapping[str, Any]) -> str | None:
    prof = doc.get("profile")
    if not isinstance(prof, Mapping):
        return None
    name = prof.get("device_name") or prof.get("device")
    return str(name) if name is not None else None


def _latency(
    base: Mapping[str, Any], head: Mapping[str, Any]
) -> tuple[LatencyDelta | None, str | None]:
    # imports torch (about 2 s): only reports that carry a profile section get here
    from convscope.profiling.run import DEFAULT_GATE_PCT, latency_verdict

    bb, hb = _profile_batches(base), _profile_batches(head)
    if bb is None and hb is None:
        return None, None
    if bb is None or hb is None:
        which = "head" if bb is None else "base"
        return None, f"latency measured only in {which}; not compared"
    by_size = {b.batch_size: b for b in hb}
    for b in bb:  # the first batch size both sides measured, in base's order
        h = by_size.get(b.batch_size)
        if h is not None:
            verdict = latency_verdict(b.as_mapping(), h.as_mapping(), DEFAULT_GATE_PCT)
            bd, hd = _device(base), _device(head)
            note = (
                f"latency measured on different devices: base {bd}, head {hd}" if bd != hd else None
            )
            return LatencyDelta(b, h, bd, hd, verdict), note
    sizes_b = ",".join(str(b.batch_size) for b in bb)
    sizes_h = ",".join(str(h.batch_size) for h in hb)
    return None, (f"latency not compared: no common batch size (base {sizes_b}, head {sizes_h})")


def _layer_values(layer: Mapping[str, Any] | None) -> dict[str, FieldValue]:
    if layer is None:
        return dict.fromkeys(LAYER_FIELDS)
    shape = layer.get("output_shape")
    read: Any = layer.get("bytes_read")
    written: Any = layer.get("bytes_written")
    return {
        "type": str(layer.get("type", "")),
        "output_shape": tuple(shape) if isinstance(shape, list) else None,
        "params": layer.get("params"),
        "macs": layer.get("macs"),
        "flops": layer.get("flops"),
        "activation_bytes": layer.get("activation_bytes"),
        "traffic_bytes": (read + written if is_number(read) and is_number(written) else None),
    }


def align_layers(
    base: Sequence[Mapping[str, Any]], head: Sequence[Mapping[str, Any]]
) -> tuple[LayerDelta, ...]:
    """Every layer of either report's ``layers``, matched by path, with its status.

    Order: head's, with each removed layer placed after the base layer that preceded it
    (so a removed block shows where it used to be). ``diff`` lists the layers that differ;
    the side-by-side comparison page shows them all."""
    base_by: dict[str, Mapping[str, Any]] = {}
    for layer in base:
        base_by.setdefault(layer["path"], layer)
    head_by: dict[str, Mapping[str, Any]] = {}
    for layer in head:
        head_by.setdefault(layer["path"], layer)

    removed_after: dict[str | None, list[str]] = {}
    anchor: str | None = None
    for path in base_by:
        if path in head_by:
            anchor = path
        else:
            removed_after.setdefault(anchor, []).append(path)

    order: list[str] = list(removed_after.get(None, []))
    for path in head_by:
        order.append(path)
        order.extend(removed_after.get(path, []))

    out: list[LayerDelta] = []
    for path in order:
        b, h = base_by.get(path), head_by.get(path)
        bv, hv = _layer_values(b), _layer_values(h)
        fields = tuple(FieldDelta(k, bv[k], hv[k]) for k in LAYER_FIELDS)
        if b is None:
            out.append(LayerDelta(path, "added", fields))
        elif h is None:
            out.append(LayerDelta(path, "removed", fields))
        elif any(f.changed for f in fields):
            out.append(LayerDelta(path, "changed", fields))
        else:
            out.append(LayerDelta(path, "same", fields))
    return tuple(out)
