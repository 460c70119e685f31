"""convscope.model.guard: the user's model code cannot end the process, hang it without
bound, or leave signal handlers changed."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from typing import Any

import pytest
import torch
from torch import nn

from convscope import api
from convscope.errors import ConvscopeError
from convscope.model.guard import (
    MAX_MODULE_DEPTH,
    ModelCodeError,
    ModelTimeoutError,
    check_module_tree,
    model_code,
    time_limit,
)


def test_an_ordinary_exception_passes_through_unchanged() -> None:
    with pytest.raises(ValueError, match="plain"), model_code("forward", "Net"):
        raise ValueError("plain")


@pytest.mark.parametrize(
    ("raised", "shown"),
    [
        (SystemExit(3), "SystemExit(3)"),
        (SystemExit("bye"), "SystemExit: bye"),
        (GeneratorExit("closed"), "GeneratorExit: closed"),
        (KeyboardInterrupt(), "KeyboardInterrupt"),
    ],
)
def test_process_ending_exceptions_become_one_model_code_error(
    raised: BaseException, shown: str
) -> None:
    with pytest.raises(ModelCodeError) as info, model_code("build", "build_model from m.py"):
        raise raised
    message = str(info.value)
    assert message.startswith("build_model from m.py: model code raised " + shown)
    assert "during build" in message
    assert isinstance(info.value, ConvscopeError)


def test_a_real_sigint_stays_an_interrupt_and_says_where() -> None:
    with pytest.raises(KeyboardInterrupt), model_code("forward", "Net"):
        os.kill(os.getpid(), signal.SIGINT)
        signal.pause()  # pragma: no cover - the handler raises first
    assert api.interrupted_in() == ("forward", "Net")


def test_timeout_names_the_phase_and_restores_handlers() -> None:
    def mine(signum: int, frame: Any) -> None:  # pragma: no cover - never fires
        raise AssertionError("the caller's handler must not run")

    previous = signal.signal(signal.SIGALRM, mine)
    int_before = signal.getsignal(signal.SIGINT)
    try:
        with (
            pytest.raises(
                ModelTimeoutError, match=r"Net: forward did not finish within --timeout 0.05 s"
            ),
            time_limit(0.05),
            model_code("forward", "Net"),
        ):
            while True:
                with contextlib.suppress(Exception):  # swallowing exceptions cannot stop it
                    pass
        assert signal.getsignal(signal.SIGALRM) is mine
        assert signal.getsignal(signal.SIGINT) is int_before
        assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    finally:
        signal.signal(signal.SIGALRM, previous)


def test_a_phase_that_finishes_leaves_no_timer_running() -> None:
    with time_limit(30), model_code("import", "m.py"), model_code("build", "m.py"):
        assert signal.getitimer(signal.ITIMER_REAL)[0] > 0  # armed once, by the outer block
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


@pytest.mark.parametrize("bad", [0, -1, float("nan"), float("inf")])
def test_time_limit_must_be_a_positive_finite_number(bad: float) -> None:
    with pytest.raises(ConvscopeError, match="time limit"), time_limit(bad):
        pass  # pragma: no cover


def test_module_tree_with_a_cycle_is_refused() -> None:
    net = nn.Sequential(nn.Conv2d(3, 4, 3))
    net.add_module("again", net)
    with pytest.raises(ConvscopeError, match="module 'again' is one of its own ancestors"):
        check_module_tree(net, "net")


def test_module_tree_deeper_than_the_limit_is_refused_and_shared_modules_are_fine() -> None:
    shared = nn.ReLU()
    check_module_tree(nn.Sequential(shared, nn.Sequential(shared)), "ok")  # not a cycle
    deep: nn.Module = nn.ReLU()
    for _ in range(MAX_MODULE_DEPTH + 1):
        deep = nn.Sequential(deep)
    with pytest.raises(ConvscopeError, match=f"more than {MAX_MODULE_DEPTH} levels"):
        check_module_tree(deep, "deep")


class _Exits(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        sys.exit(4)


def test_library_callers_get_an_error_not_an_exit() -> None:
    with pytest.raises(ModelCodeError, match=r"model code raised SystemExit\(4\) during forward"):
        api.analyze(_Exits(), (1, 3, 8, 8))


def test_an_untimed_outer_block_lets_each_inner_block_have_the_full_limit() -> None:
    with time_limit(30), model_code("forward", "Net", timed=False):
        assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
        for _ in range(2):
            with model_code("forward", "Net"):
                assert signal.getitimer(signal.ITIMER_REAL)[0] > 0
            assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
