"""Module-wide states for the duration of a call: train/eval flags and global hooks.

Train/eval flags are set without calling ``Module.eval()`` / ``train()``.

torch.export's unlifted modules (what ``torch.export.load(...).module()`` returns for a
``.pt2`` file) refuse ``eval()`` and ``train()`` but honour the ``training`` flag, so every
place that needs eval mode goes through here and works on them too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import torch

M = TypeVar("M", bound=torch.nn.Module)


def set_eval(model: M) -> M:
    """Put every submodule of ``model`` in eval mode, in place; returns ``model``."""
    for m in model.modules():
        m.training = False
    return model


@contextmanager
def eval_mode(model: torch.nn.Module) -> Iterator[None]:
    """Eval mode for the duration of the block; each module's own flag restored after."""
    flags = [(m, m.training) for m in model.modules()]
    set_eval(model)
    try:
        yield
    finally:
        for m, flag in flags:
            m.training = flag


PreHook = Callable[[torch.nn.Module, Any], Any]
PostHook = Callable[[torch.nn.Module, Any, Any], Any]


@contextmanager
def global_forward_hooks(pre: PreHook, post: PostHook) -> Iterator[None]:
    """Global forward pre/post hooks for the block: they see every module's call without
    registering anything on the user's modules (nothing to forget to remove on them)."""
    h_pre = torch.nn.modules.module.register_module_forward_pre_hook(pre)
    h_post = torch.nn.modules.module.register_module_forward_hook(post)
    try:
        yield
    finally:
        h_pre.remove()
        h_post.remove()
