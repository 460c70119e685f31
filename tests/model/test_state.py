"""The caller's global settings survive every public entry point of the library."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from convscope import api
from convscope.model.state import global_state, preserved_global_state
from convscope.rewriting.apply import apply_plan_inplace
from convscope.rewriting.plan import make_plan


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.head = nn.Conv2d(8, 8, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.bn(self.conv(x)).relu())


SHAPE = (1, 3, 16, 16)


@pytest.fixture
def unusual_caller_state() -> Iterator[None]:
    """Settings no convscope default shares, so a call that resets one is caught."""
    with preserved_global_state():
        torch.manual_seed(1234)
        random.seed(5)
        np.random.seed(7)
        torch.set_grad_enabled(False)
        torch.set_num_threads(1)
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = True
        yield


def test_the_snapshot_sees_every_setting_change() -> None:
    with preserved_global_state():
        before = global_state()
        torch.rand(1)
        random.random()
        np.random.rand()
        torch.set_grad_enabled(not torch.is_grad_enabled())
        torch.set_default_dtype(torch.float64)
        torch.set_num_threads(torch.get_num_threads() + 1)
        after = global_state()
    assert set(before.same(after)) >= {
        "torch RNG",
        "python random",
        "numpy RNG",
        "grad",
        "default_dtype",
        "threads",
    }


# Each call gets a model and its analysis built beforehand: only the call itself is judged.
CALLS: dict[str, Callable[[nn.Module, Any], Any]] = {
    "analyze": lambda m, a: api.analyze(m, SHAPE, device="cpu"),
    "lint": lambda m, a: api.lint(a, module=m),
    "rewrite": lambda m, a: api.rewrite(m, SHAPE),
    "profile": lambda m, a: api.profile(m, SHAPE, min_time=0.0, max_iters=1, warmup=0),
    "receptive_field": lambda m, a: api.receptive_field(m, SHAPE),
    "verify_rf": lambda m, a: api.verify_rf(m, SHAPE, a),
    "effective_rf": lambda m, a: api.effective_rf(m, SHAPE, samples=1),
    "quant_report": lambda m, a: api.quant_report(m, SHAPE, calibration="random"),
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_public_entry_point_keeps_the_callers_global_state(
    name: str, unusual_caller_state: None
) -> None:
    model = Net()
    analysis = api.with_receptive_field(api.analyze(model, SHAPE))
    before = global_state()
    CALLS[name](model, analysis)
    assert before.same(global_state()) == [], name


def test_every_public_entry_point_is_covered() -> None:
    wanted = {"analyze", "lint", "rewrite", "profile", "receptive_field", "verify_rf"}
    assert wanted | {"effective_rf", "quant_report"} == set(CALLS)
    assert set(CALLS) <= set(api.__all__)


def test_new_layers_of_a_rewrite_do_not_draw_from_the_global_rng() -> None:
    """The cause, not only the guard: building replacements forks the global RNG."""
    model = Net()
    plan = make_plan(api.analyze(model, SHAPE), mode="separable")
    before = torch.get_rng_state()
    apply_plan_inplace(model, plan, seed=0)
    assert torch.equal(torch.get_rng_state(), before)


def test_gradient_checks_work_under_the_callers_no_grad() -> None:
    model = Net()
    analysis = api.with_receptive_field(api.analyze(model, SHAPE))
    with torch.no_grad():
        assert api.verify_rf(model, SHAPE, analysis).checks
        api.effective_rf(model, SHAPE, samples=1)
        assert not torch.is_grad_enabled()
