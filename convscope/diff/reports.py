"""Reading one side of a comparison: a saved JSON report or a model spec analyzed now,
validated as a report this version can compare."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from convscope.analysis import schema
from convscope.analysis.schema import SCHEMA_VERSION  # the version this module reads
from convscope.diff.errors import DiffError
from convscope.diff.metrics import TOTALS
from convscope.errors import describe
from convscope.validate import TOO_DEEP

if TYPE_CHECKING:  # annotations only: comparing saved reports needs no torch
    from convscope.model.arguments import GivenInputs


def validate_report(doc: Any, label: str) -> Mapping[str, Any]:
    """Check that ``doc`` is a convscope analysis report this version can compare.

    Raises :class:`DiffError` naming ``label`` (the file or spec) otherwise."""
    if not isinstance(doc, Mapping) or "schema_version" not in doc:
        raise DiffError(
            f"{label} is not a convscope JSON report (no schema_version; make one "
            "with `convscope analyze MODEL --format json -o FILE`)"
        )
    version = doc["schema_version"]
    if type(version) is not int or version != SCHEMA_VERSION:  # JSON true == 1 in Python
        raise DiffError(
            f"{label} has schema_version {version!r}; this convscope compares "
            f"version {SCHEMA_VERSION} reports (re-run `convscope analyze`)"
        )
    totals = doc.get("totals")
    if not isinstance(totals, Mapping):
        raise DiffError(f"{label}: 'totals' is missing or not an object")
    for metric in TOTALS:
        value = totals.get(metric.name)
        if value is not None and not is_number(value):
            raise DiffError(
                f"{label}: totals.{metric.name} is not a number in range: {_shown(value)}"
            )
    inputs = doc.get("inputs")
    if inputs is not None and not (
        isinstance(inputs, list)
        and all(
            isinstance(s, list) and all(is_number(d) and isinstance(d, int) for d in s)
            for s in inputs
        )
    ):
        raise DiffError(f"{label}: 'inputs' must be a list of shapes, got {_shown(inputs)}")
    layers = doc.get("layers")
    if not isinstance(layers, list):
        raise DiffError(f"{label}: 'layers' is missing or not a list")
    for i, layer in enumerate(layers):
        if not isinstance(layer, Mapping) or not isinstance(layer.get("path"), str):
            raise DiffError(f"{label}: layers[{i}] has no 'path'")
        for key in ("params", "macs", "flops", "activation_bytes", "bytes_read", "bytes_written"):
            value = layer.get(key)
            if value is not None and not is_number(value):
                raise DiffError(
                    f"{label}: layers[{i}].{key} is not a number in range: {_shown(value)}"
                )
    return doc


# Counts beyond a signed 64-bit integer come from no real model, and a float() of an
# integer past ~1e308 raises OverflowError.
_MAX_COUNT = 2**63


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:37]}..."


def is_number(x: Any) -> bool:
    if isinstance(x, bool):
        return False
    if isinstance(x, int):
        return abs(x) < _MAX_COUNT
    return isinstance(x, float) and math.isfinite(x) and abs(x) < _MAX_COUNT


def load_report(path: str | Path) -> Mapping[str, Any]:
    """Read and validate a saved JSON report; one-line :class:`DiffError` on failure."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DiffError(f"report not found: {p}") from None
    except IsADirectoryError:
        raise DiffError(f"{p} is a directory, not a JSON report") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DiffError(f"cannot read {p}: {describe(exc)}") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DiffError(
            f"{p} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except RecursionError:
        raise DiffError(f"{p}: {TOO_DEEP}") from None
    return validate_report(doc, str(p))


def is_report_path(arg: str) -> bool:
    """``BASE``/``HEAD`` naming a saved report (``*.json``) rather than a model spec."""
    return arg.lower().endswith(".json")


def load_side(
    arg: str,
    *,
    input_shapes: GivenInputs | None = None,
    trust_pickle: bool = False,
) -> Mapping[str, Any]:
    """A report for ``arg``: a saved ``.json`` report, or a model spec analyzed now (with
    receptive fields, exactly as ``convscope analyze --format json`` writes it)."""
    if is_report_path(arg):
        return load_report(arg)
    # analyzing a spec imports torch (about 2.5 s): comparing saved reports never needs it
    from convscope.analysis.rf import with_receptive_field
    from convscope.analysis.run import analyze_spec

    result = with_receptive_field(
        analyze_spec(arg, input_shapes=input_shapes, trust_pickle=trust_pickle)
    )
    return validate_report(schema.to_dict(result), arg)
