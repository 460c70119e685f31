"""The ``diff --format json`` document."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from convscope.diff.gate import GateResult
from convscope.diff.metrics import Number
from convscope.diff.result import Diff, FieldValue, Side

DIFF_VERSION = 1  # version of the document :func:`as_dict` returns


def as_dict(diff: Diff, results: Sequence[GateResult] = ()) -> dict[str, Any]:
    """The ``--format json`` document (``diff_version`` 1)."""

    def side(s: Side) -> dict[str, Any]:
        return {
            "label": s.label,
            "model": s.model,
            "inputs": [list(i) for i in s.inputs],
            "dtype": s.dtype,
            "trace_mode": s.trace_mode,
        }

    def num(x: Number | None) -> Number | None:
        return round(x, 6) if isinstance(x, float) else x

    lat = diff.latency
    return {
        "diff_version": DIFF_VERSION,
        "base": side(diff.base),
        "head": side(diff.head),
        "totals": {
            t.name: {
                "base": num(t.base),
                "head": num(t.head),
                "delta": num(t.delta),
                "delta_pct": None if t.relative is None else round(100 * t.relative, 4),
            }
            for t in diff.totals
        },
        "latency": None if lat is None else lat.as_dict(),
        **({"predicted_latency": diff.predicted.as_dict()} if diff.predicted is not None else {}),
        "gates": [
            {
                "metric": r.metric,
                "threshold": r.threshold.limit_text,
                "exceeded": r.exceeded,
                "detail": r.detail,
            }
            for r in results
        ],
        "exceeded": any(r.exceeded for r in results),
        "layers": {
            "added": diff.count("added"),
            "removed": diff.count("removed"),
            "changed": diff.count("changed"),
            "unchanged": diff.unchanged_layers,
            "rows": [
                {
                    "path": layer.path,
                    "status": layer.status,
                    "fields": {
                        f.name: {"base": _json_value(f.base), "head": _json_value(f.head)}
                        for f in layer.fields
                        if f.changed
                    },
                }
                for layer in diff.layers
            ],
        },
        "notes": list(diff.notes),
    }


def _json_value(v: FieldValue) -> Any:
    return list(v) if isinstance(v, tuple) else v
