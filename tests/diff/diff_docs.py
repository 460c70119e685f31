"""Hand-built analysis reports for the diff tests, and the golden pair of tests/golden/."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

GOLDEN = Path(__file__).resolve().parents[1] / "golden"


def layer(
    path: str,
    type_name: str = "Conv2d",
    *,
    params: int = 0,
    macs: int = 0,
    shape: list[int] | None = None,
    read: int = 0,
    written: int = 0,
) -> dict[str, Any]:
    return {
        "path": path,
        "type": type_name,
        "depth": path.count(".") + 1,
        "calls": 1,
        "output_shape": shape or [1, 8, 4, 4],
        "params": params,
        "macs": macs,
        "flops": 2 * macs,
        "activation_bytes": written,
        "bytes_read": read,
        "bytes_written": written,
    }


def report(
    *,
    params: int = 1000,
    macs: int = 10_000,
    traffic: int = 4096,
    peak: int = 2048,
    layers: list[dict[str, Any]] | None = None,
    rf: list[int] | None = None,
    batches: list[dict[str, Any]] | None = None,
    inputs: list[list[int]] | None = None,
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "schema_version": 1,
        "model": "m",
        "inputs": inputs or [[1, 3, 8, 8]],
        "dtype": None,
        "trace": {"mode": "meta", "fallback_reason": None},
        "totals": {
            "params": params,
            "macs": macs,
            "flops": 2 * macs,
            "traffic_bytes": traffic,
            "peak_activation_bytes": peak,
        },
        "layers": layers if layers is not None else [],
    }
    if rf is not None:
        doc["receptive_field"] = {"size": rf}
    if batches is not None:
        doc["profile"] = {"device": "cpu", "batches": batches}
    return doc


def batch(p10: float, median: float, p90: float, size: int = 1) -> dict[str, Any]:
    return {"batch_size": size, "p10_ms": p10, "median_ms": median, "p90_ms": p90}


def golden_pair() -> tuple[dict[str, Any], dict[str, Any]]:
    base = json.loads((GOLDEN / "diff-base.json").read_text(encoding="utf-8"))
    head = json.loads((GOLDEN / "diff-head.json").read_text(encoding="utf-8"))
    return base, head


GOLDEN_GATES = "params:+100%,macs:+50%,rf:+8,latency:+5%"
