"""Library entry points of the quantization-fragility analysis.

``quant_report(model, inputs)`` measures a model with real weights;
``with_quant(analysis, model)`` attaches the result to an
:class:`~convscope.analysis.build.Analysis`
as its ``QUANT`` section (and ``CALIBRATION`` when calibration ran), which the JSON
schema, the reporters and the QF lint rules read. A model without real weights (built on
the meta device, as ``convscope analyze`` does without ``--weights``) gives a report whose
``skipped_reason`` says so and that holds no numbers.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from convscope.analysis.build import Analysis
from convscope.analysis.run import analyze
from convscope.errors import InputError, first_line
from convscope.ir import graph as ir
from convscope.model.state import keeps_global_state
from convscope.passes.keys import CALIBRATION, QUANT
from convscope.passes.quant import numeric as quant_numeric
from convscope.passes.quant.activations import ActivationStats
from convscope.passes.quant.numeric import CalibTarget
from convscope.passes.quant.options import QuantOptions
from convscope.passes.quant.report import QuantReport

__all__ = [
    "ActivationStats",
    "QuantOptions",
    "QuantReport",
    "calibration_batches",
    "quant_report",
    "report_from_weights",
    "with_quant",
]

#: Random calibration: how many N(0, 1) batches of the model's input shape.
RANDOM_BATCHES = 2
#: A calibration file holding one ``[N, ...]`` tensor is cut into batches of this size.
FILE_BATCH_SIZE = 8

Calibration = str | Path | torch.Tensor | Sequence[torch.Tensor] | None


def model_tensors(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """Every parameter and buffer under every name (tied weights included), detached."""
    out: dict[str, torch.Tensor] = {}
    for name, p in model.named_parameters(remove_duplicate=False):
        out[name] = p.detach()
    for name, b in model.named_buffers(remove_duplicate=False):
        out[name] = b.detach()
    return out


def bn_eps(model: torch.nn.Module) -> dict[str, float]:
    """``eps`` of every module that has a float ``eps`` (BatchNorm among them), by path."""
    return {
        path: float(m.eps)
        for path, m in model.named_modules()
        if isinstance(getattr(m, "eps", None), float)
    }


def load_calibration_file(calibration: str | Path) -> Any:
    """``torch.load(path, weights_only=True)`` of a calibration file; :class:`InputError`
    naming the file when it is missing or refused. Callers validate the contents."""
    path = Path(calibration)
    if not path.is_file():
        raise InputError(
            f"calibration file {calibration} does not exist (give a saved tensor file or 'random')"
        )
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # any load failure becomes one user-facing line
        first = (first_line(exc) or type(exc).__name__).split(". ", 1)[0]  # torch adds advice
        raise InputError(
            f"cannot load calibration data {calibration} with weights_only=True: {first}"
        ) from None
    if not (
        isinstance(data, torch.Tensor)
        or (
            isinstance(data, (list, tuple))
            and data
            and all(isinstance(t, torch.Tensor) for t in data)
        )
    ):
        raise InputError(
            f"calibration data {calibration} must be a tensor [N, ...] or a list of "
            f"batch tensors, not {type(data).__name__}"
        )
    return data


def calibration_batches(
    calibration: Calibration, input_shape: Sequence[int] | None
) -> tuple[list[torch.Tensor], str, bool]:
    """Turn a calibration argument into ``(batches, source description, is_random)``.

    ``"random"``: :data:`RANDOM_BATCHES` seeded N(0, 1) batches of ``input_shape``. A path:
    ``torch.load(path, weights_only=True)`` of one tensor ``[N, ...]`` (cut into batches of
    :data:`FILE_BATCH_SIZE`) or a list / tuple of batch tensors. A tensor or a list of
    tensors is used the same way. Bad input raises :class:`InputError` with one line.
    """

    shape = tuple(input_shape) if input_shape else (1, 3, 224, 224)
    if isinstance(calibration, str) and calibration == "random":
        n = RANDOM_BATCHES
        dims = "×".join(str(d) for d in shape)
        return quant_numeric.random_batches(shape, n), f"random N(0,1), {n} batches of {dims}", True
    source = "given tensors"
    data: Any = calibration
    if isinstance(calibration, (str, Path)):
        source = str(calibration)
        data = load_calibration_file(calibration)
    if isinstance(data, torch.Tensor):
        _check_tensor(data, shape, source)
        batches = list(data.split(FILE_BATCH_SIZE, dim=0))
    elif (
        isinstance(data, (list, tuple)) and data and all(isinstance(t, torch.Tensor) for t in data)
    ):
        for t in data:
            _check_tensor(t, shape, source)
        batches = list(data)
    else:
        raise InputError(
            f"calibration data {source} must be a tensor [N, ...] or a list of "
            f"batch tensors, not {type(data).__name__}"
        )
    n = sum(int(b.shape[0]) for b in batches)
    label = f"{source} ({n} sample{'s' if n != 1 else ''} in {len(batches)} batches)"
    return batches, label, False


def _check_tensor(t: torch.Tensor, shape: tuple[int, ...], source: str) -> None:
    if not t.is_floating_point():
        raise InputError(f"calibration data {source} has dtype {t.dtype}; expected floats")
    if t.dim() != len(shape) or tuple(t.shape[1:]) != shape[1:] or t.shape[0] == 0:
        want = "×".join(["N", *(str(d) for d in shape[1:])])
        raise InputError(
            f"calibration data {source} has shape "
            f"{'×'.join(str(d) for d in t.shape)}; expected {want} to match "
            f"the model input"
        )


def _targets(graph: ir.Graph, report: QuantReport) -> list[Any]:
    """Calibration targets for the measured layers: observe the folded BatchNorm's output
    when it is a leaf module, else the layer's own output."""

    counts: dict[str, int] = {}
    for lq in report.layers:
        counts[lq.path] = counts.get(lq.path, 0) + 1
    out = []
    for lq in report.layers:
        info = graph.module.get(lq.path)
        if counts[lq.path] > 1 or info is None or not info.is_leaf or not lq.path:
            continue
        observe = lq.path
        if lq.fold is not None:
            bn = graph.module.get(lq.fold.bn)
            if bn is not None and bn.is_leaf:
                observe = lq.fold.bn
        out.append(
            CalibTarget(
                path=lq.path,
                weight=lq.weight,
                observe=observe,
                channel_dim=1 if lq.kind == "conv" else -1,
                factors=lq.fold.factors if lq.fold is not None else None,
            )
        )
    return out


@keeps_global_state
def quant_report(
    model: torch.nn.Module,
    inputs: Any = None,
    *,
    calibration: Calibration = None,
    analysis: Analysis | None = None,
    options: QuantOptions | None = None,
) -> QuantReport:
    """Quantization fragility of ``model``'s weights (BatchNorm folded), optionally with
    calibration (``"random"``, a saved tensor file, a tensor or a list of batch tensors).

    ``analysis`` reuses an existing trace (its graph must come from this model); otherwise
    the model is traced on ``inputs`` with :func:`convscope.api.analyze`. The model is not
    modified (calibration runs on a deep copy).
    """
    opts = options or QuantOptions()
    if analysis is None:
        analysis = analyze(model, inputs)
    name = analysis.model
    tensors = model_tensors(model)
    report = quant_numeric.quant(
        analysis.graph, tensors, bn_eps=bn_eps(model), options=opts, model=name
    )
    if calibration is None or report.skipped:
        if calibration is not None:
            return dataclasses.replace(
                report,
                skipped_reason=(f"{report.skipped_reason}; calibration needs real weights too"),
            )
        return report

    shape = _input_shape(inputs, analysis)
    batches, source, is_random = calibration_batches(calibration, shape)
    targets = _targets(analysis.graph, report)
    stats = quant_numeric.calibrate(
        model, batches, targets=targets, options=opts, source=source, random=is_random
    )
    hooked = {t.path for t in targets}
    missing = tuple(
        (
            lq.path or "(root)",
            "the layer is not a leaf module of its own, so no hook sees its output alone",
        )
        for lq in report.layers
        if lq.path not in hooked
    )
    stats = dataclasses.replace(stats, unobserved=stats.unobserved + missing)
    return dataclasses.replace(report, activations=stats)


def _input_shape(inputs: Any, analysis: Analysis) -> tuple[int, ...] | None:
    if isinstance(inputs, torch.Tensor):
        return tuple(inputs.shape)
    if analysis.input_shapes:
        return analysis.input_shapes[0]
    return None


@keeps_global_state
def with_quant(
    analysis: Analysis,
    model: torch.nn.Module,
    calibration: Calibration = None,
    *,
    options: QuantOptions | None = None,
) -> Analysis:
    """A copy of ``analysis`` with the ``QUANT`` section (a :class:`QuantReport`) and, when
    calibration ran, ``CALIBRATION`` (its :class:`ActivationStats`, read by rule QF005)."""
    report = quant_report(model, calibration=calibration, analysis=analysis, options=options)
    analysis = analysis.with_section(QUANT, report)
    if report.activations is not None:
        analysis = analysis.with_section(CALIBRATION, report.activations)
    return analysis


# --------------------------------------------------------------------------- lint support


def report_from_weights(analysis: Analysis, weights: Any) -> QuantReport | None:
    """The quantization report the QF rules read (the lint engine's ``quant`` provider):
    measured on ``weights`` (a live module, or a mapping name → tensor). None when there
    are no usable weights, so the rules are skipped with a note."""
    if isinstance(weights, torch.nn.Module):
        report = quant_report(weights, analysis=analysis)
    elif isinstance(weights, Mapping):
        report = quant_numeric.quant(analysis.graph, weights, model=analysis.model)
    else:
        return None
    return None if report.skipped else report
