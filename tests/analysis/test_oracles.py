"""Whole-model oracles: convscope's counts against torchvision's published metadata and
torch's ``FlopCounterMode``.

For each model, the first entry of its weights enum gives the crop size and the published
numbers, read at run time (no number is written here):

* ``meta["num_params"]`` must equal convscope's parameter total;
* ``meta["_ops"]`` is GMACs of conv + linear + matmul at the crop size, rounded to 3
  decimals: convscope's MACs must round to it;
* ``FlopCounterMode`` on meta counts FLOPs = 2 × MACs of the same ops: it must equal
  ``2 × macs`` exactly.

Models are built under ``torch.device("meta")`` (no weights allocated) except
regnet_y_400mf, whose builder calls ``.tolist()`` on a tensor and so cannot run on meta:
it is built on CPU and passed with real weights (``analyze`` traces it with meta stand-ins).

googlenet is built with ``aux_logits=False, init_weights=False``, the configuration
torchvision uses for its published weights: ``googlenet(weights=...)`` drops the two
auxiliary classifiers unless asked for them, and ``num_params`` excludes them (with the
default ``aux_logits=True`` the model holds about twice as many parameters).
``init_weights=False`` skips the truncated-normal initialisation, which a weights build
does not run either.
"""

from __future__ import annotations

import functools
from typing import Any

import pytest
import torch

torchvision = pytest.importorskip("torchvision")

from convscope.analysis.build import Analysis  # noqa: E402
from convscope.api import analyze  # noqa: E402

MODELS = [
    "resnet50",
    "mobilenet_v2",
    "mobilenet_v3_large",
    "efficientnet_b0",
    "regnet_y_400mf",
    "convnext_tiny",
    "vit_b_16",
    "googlenet",
    "densenet121",
    "squeezenet1_0",
    "shufflenet_v2_x1_0",
]

# Builder keyword arguments matching the configuration torchvision's weights describe.
BUILD_KWARGS: dict[str, dict[str, Any]] = {
    "googlenet": {"aux_logits": False, "init_weights": False},
}
# Builders that cannot run under torch.device("meta").
CPU_BUILD = {"regnet_y_400mf"}


def _crop(weights: Any) -> int:
    crop = weights.transforms().crop_size
    return int(crop[0] if isinstance(crop, (list, tuple)) else crop)


@functools.cache
def _case(name: str) -> tuple[Any, torch.nn.Module, tuple[int, ...], Analysis]:
    """(weights entry, model, input shape, analysis), built once per test process."""
    weights = next(iter(torchvision.models.get_model_weights(name)))
    crop = _crop(weights)
    kwargs = BUILD_KWARGS.get(name, {})
    if name in CPU_BUILD:
        model = torchvision.models.get_model(name, **kwargs)
    else:
        with torch.device("meta"):
            model = torchvision.models.get_model(name, **kwargs)
    shape = (1, 3, crop, crop)
    return weights, model, shape, analyze(model, shape)


def _flop_counter_total(model: torch.nn.Module, shape: tuple[int, ...]) -> int:
    """FlopCounterMode FLOPs of one eval forward on meta tensors."""
    from torch.utils.flop_counter import FlopCounterMode

    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            if any(not p.is_meta for p in model.parameters()):
                stand_ins = {
                    n: torch.empty(t.shape, dtype=t.dtype, device="meta")
                    for n, t in [*model.named_parameters(), *model.named_buffers()]
                }
                torch.func.functional_call(model, stand_ins, (torch.empty(shape, device="meta"),))
            else:
                model(torch.empty(shape, device="meta"))
    finally:
        model.train(was_training)
    return int(counter.get_total_flops())


@pytest.mark.slow
@pytest.mark.parametrize("name", MODELS)
def test_params_match_torchvision_metadata(name: str) -> None:
    weights, _, _, a = _case(name)
    assert a.totals.params == weights.meta["num_params"]


@pytest.mark.slow
@pytest.mark.parametrize("name", MODELS)
def test_macs_match_torchvision_gmacs(name: str) -> None:
    weights, _, shape, a = _case(name)
    assert a.input_shapes == (shape,)
    assert round(a.totals.macs / 1e9, 3) == pytest.approx(weights.meta["_ops"], abs=1e-9)


@pytest.mark.slow
@pytest.mark.parametrize("name", MODELS)
def test_flops_are_twice_macs_per_flop_counter_mode(name: str) -> None:
    _, model, shape, a = _case(name)
    assert 2 * a.totals.macs == _flop_counter_total(model, shape)


@pytest.mark.slow
@pytest.mark.parametrize("name", MODELS)
def test_rows_sum_to_totals(name: str) -> None:
    _, _, _, a = _case(name)
    t = a.totals
    for field in (
        "params",
        "trainable_params",
        "buffers",
        "param_bytes",
        "macs",
        "other_flops",
        "activation_bytes",
        "bytes_read",
        "bytes_written",
    ):
        assert sum(getattr(r, field) for r in a.rows) == getattr(t, field), field
    assert t.macs > 0 and t.other_flops > 0 and t.bytes_read > 0
    assert len({r.path for r in a.rows}) == len(a.rows), "one row per module"
    assert a.graph.mode == "meta"
