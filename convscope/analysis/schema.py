"""The versioned JSON document of an analysis: the one data model every renderer and
``diff`` reads. Deterministic (no timestamps, fixed key order, floats rounded) so two runs
of the same model produce byte-identical files.

Schema (``schema_version`` 1) — all counts are integers, bytes are bytes:

``model``, ``tool`` {name, version}, ``trace`` {mode: "meta"|"cpu", fallback_reason},
``inputs`` / ``outputs`` (shapes), ``dtype`` (re-pricing dtype or null),
``totals`` {params, trainable_params, frozen_params, buffers, param_bytes, macs, flops,
other_flops, activation_bytes, bytes_read, bytes_written, traffic_bytes, intensity,
peak_activation_bytes, fused_traffic_bytes},
``mixing`` {params: {class: n}, macs: {class: n}},
``unknown_ops`` [{op, count, layers}],
``layers`` [{path, type, depth, calls, output_shape, params, trainable_params, buffers,
param_bytes, macs, flops, other_flops, activation_bytes, bytes_read, bytes_written,
intensity, mixing, unknown_ops}] — plus optional sections, present only when they have
content: ``data_dependent_ops`` [{op, count, layers}], ``useful_work`` [{layer, op, macs,
useful_macs, convention}], and those added by other passes (``receptive_field`` at top
level and ``rf`` per layer).

Counting conventions that differ from "useful work":

* ``data_dependent_ops``: ops whose work depends on the data (``torchvision::nms``: boxes
  kept; ``roi_align``: regions and, for an adaptive sampling ratio, their sizes). They are
  priced from the sizes this run produced; another input or trained weights change them.
* transposed convolutions count every kernel tap, also those that land in the border that
  ``padding`` crops (as fvcore and ``FlopCounterMode`` do, so totals agree with them);
  ``useful_work`` gives the count without those taps for each such layer.
* ``nn.Fold`` (``col2im``) counts one addition per block tap that lands inside the output,
  not one per output element; taps in the padding are dropped, not counted.
* antialiased interpolation counts the taps of its widened filter (support
  ``interp/2 · scale`` per separable pass), not the 4 or 16 of plain bilinear / bicubic.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from convscope._version import __version__
from convscope.analysis.build import Analysis, LayerRow, Totals
from convscope.passes.keys import RECEPTIVE_FIELD
from convscope.sections import SectionKey

SCHEMA_VERSION = 1


class Section(Protocol):
    """An optional section of an analysis (:meth:`Analysis.with_section`) that knows its
    JSON form: ``summary_dict()`` is the top-level field named by its key,
    ``layer_dict(path)`` the per-layer one."""

    def summary_dict(self) -> dict[str, Any]: ...

    def layer_dict(self, path: str) -> dict[str, Any] | None: ...


def _f(x: float) -> float:
    return round(float(x), 6)


def totals_dict(t: Totals) -> dict[str, Any]:
    return {
        "params": t.params,
        "trainable_params": t.trainable_params,
        "frozen_params": t.frozen_params,
        "buffers": t.buffers,
        "param_bytes": t.param_bytes,
        "macs": t.macs,
        "flops": t.flops,
        "other_flops": t.other_flops,
        "activation_bytes": t.activation_bytes,
        "bytes_read": t.bytes_read,
        "bytes_written": t.bytes_written,
        "traffic_bytes": t.traffic,
        "intensity": _f(t.intensity),
        "peak_activation_bytes": t.peak_activation_bytes,
        "fused_traffic_bytes": t.fused_traffic_bytes,
    }


def layer_dict(r: LayerRow, extras: Mapping[SectionKey[Any], Any]) -> dict[str, Any]:
    d: dict[str, Any] = {
        "path": r.path,
        "type": r.type_name,
        "depth": r.depth,
        "calls": r.calls,
        "output_shape": list(r.output_shape) if r.output_shape is not None else None,
        "params": r.params,
        "trainable_params": r.trainable_params,
        "buffers": r.buffers,
        "param_bytes": r.param_bytes,
        "macs": r.macs,
        "flops": r.flops,
        "other_flops": r.other_flops,
        "activation_bytes": r.activation_bytes,
        "bytes_read": r.bytes_read,
        "bytes_written": r.bytes_written,
        "intensity": _f(r.intensity),
        "mixing": r.mixing.value,
        "unknown_ops": list(r.unknown_ops),
    }
    for key, section in _by_name(extras):
        per_layer = getattr(section, "layer_dict", None)
        if per_layer is not None:
            value = per_layer(r.path)
            if value is not None:
                d[_LAYER_FIELDS.get(key, key.name)] = value
    return d


#: The per-layer JSON field of a section, where it is not the section's name.
_LAYER_FIELDS: Mapping[SectionKey[Any], str] = {RECEPTIVE_FIELD: "rf"}


def _by_name(extras: Mapping[SectionKey[Any], Any]) -> list[tuple[SectionKey[Any], Any]]:
    """The sections in the document's order: by name."""
    return sorted(extras.items(), key=lambda item: item[0].name)


def to_dict(a: Analysis) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "convscope", "version": __version__},
        "model": a.model,
        "trace": {"mode": a.graph.mode, "fallback_reason": a.graph.fallback_reason},
        "inputs": [list(s) for s in a.input_shapes],
        "outputs": [list(s) for s in a.output_shapes],
        "dtype": a.dtype,
        "totals": totals_dict(a.totals),
        "mixing": {"params": dict(a.mixing.params), "macs": dict(a.mixing.macs)},
        "unknown_ops": [
            {"op": u.op, "count": u.count, "layers": list(u.layers)} for u in a.unknown
        ],
        "layers": [layer_dict(r, a.extras) for r in a.rows],
    }
    if a.data_dependent:
        doc["data_dependent_ops"] = [
            {"op": u.op, "count": u.count, "layers": list(u.layers)} for u in a.data_dependent
        ]
    if a.useful_work:
        doc["useful_work"] = [
            {
                "layer": w.layer,
                "op": w.op,
                "macs": w.macs,
                "useful_macs": w.useful_macs,
                "convention": w.convention,
            }
            for w in a.useful_work
        ]
    for key, section in _by_name(a.extras):
        summary = getattr(section, "summary_dict", None)
        if summary is not None:
            doc[key.name] = summary()
    return doc
