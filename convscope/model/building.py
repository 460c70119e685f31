"""Constructing the model a spec names, cheapest way first: on meta, with parameters moved
to meta as they are registered, or on CPU.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch
from torch import nn
from torch.nn.modules import module as module_mod

from convscope.errors import ModelLoadError, describe
from convscope.model.guard import ModelCodeError, model_code
from convscope.model.target import Target
from convscope.model.usercode import download_message, is_download_error, type_name, user_code

__all__ = ["ANY_WAY", "REAL", "WITHOUT_WEIGHTS", "construct", "run_build"]


# Ways to run a constructor, cheapest first (see run_build).
WITHOUT_WEIGHTS = ("meta", "registration")
ANY_WAY = ("meta", "registration", "cpu")
REAL = ("cpu",)


def run_build(build: Callable[[], Any], modes: Sequence[str]) -> Any:
    """Call ``build`` in the first mode that works; re-raise the last mode's error.

    - ``meta``: under ``torch.device("meta")`` every tensor, even config math, is meta.
    - ``registration``: constructors that compute on tensors (RegNet's ``.tolist()`` of
      widths) fail on meta, so run on CPU and move each parameter/buffer to meta as it is
      registered; only one uninitialized (never touched) ``torch.empty`` exists at a time.
    - ``cpu``: a real model, the last resort.
    """
    error: Exception | None = None
    for mode in modes:
        hooks = _meta_registration() if mode == "registration" else contextlib.nullcontext()
        try:
            with torch.device("meta" if mode == "meta" else "cpu"), hooks, user_code():
                return build()
        except Exception as exc:  # user code; the caller reports it as one line
            if is_download_error(exc):
                raise  # another mode would only try (and print "Downloading...") again
            error = exc
    assert error is not None
    raise error


def construct(target: Target, modes: Sequence[str]) -> nn.Module:
    """Build the target and check it is a module; failures become one-line errors."""
    assert target.build is not None
    try:
        with model_code("build", f"{target.name} from {target.origin}"):
            result = run_build(target.build, modes)
    except ModelCodeError:
        raise
    except Exception as exc:
        if is_download_error(exc):
            raise ModelLoadError(
                download_message(f"building {target.name} from {target.origin}", exc)
            ) from exc
        raise ModelLoadError(
            f"building {target.name} from {target.origin} failed: {describe(exc)}"
        ) from exc
    if not isinstance(result, nn.Module):
        raise ModelLoadError(
            f"{target.name} from {target.origin} returned a "
            f"{type_name(result)}, not a torch.nn.Module"
        )
    return result


@contextlib.contextmanager
def _meta_registration() -> Iterator[None]:
    """While active, parameters and buffers move to meta the moment a module registers them."""

    def on_param(_: nn.Module, __: str, param: nn.Parameter | None) -> nn.Parameter | None:
        if param is None or param.is_meta:
            return None
        return nn.Parameter(param.to("meta"), requires_grad=param.requires_grad)

    def on_buffer(_: nn.Module, __: str, buffer: torch.Tensor | None) -> torch.Tensor | None:
        if buffer is None or buffer.is_meta:
            return None
        return buffer.to("meta")

    # torch annotates the hooks as returning None, but documents the replacement return.
    param_hook: Callable[..., Any] = on_param
    buffer_hook: Callable[..., Any] = on_buffer
    handles = [
        module_mod.register_module_parameter_registration_hook(param_hook),
        module_mod.register_module_buffer_registration_hook(buffer_hook),
    ]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()
