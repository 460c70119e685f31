"""Module-wide states for the duration of a call: train/eval flags, global hooks, and the
plain attributes a forward assigns.

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


# ``Module`` bookkeeping a forward legitimately changes in place (hooks, submodules): the
# attributes restored are the others, what a forward assigns as ``self.x = ...``.
_MODULE_INTERNALS = frozenset(
    {"_parameters", "_buffers", "_modules", "training"}
    | {k for k in vars(torch.nn.Module()) if k.startswith("_")}
)


_MISSING = object()


@contextmanager
def kept_attributes(model: torch.nn.Module) -> Iterator[None]:
    """Each module's plain attributes as they were before the block, restored after it.

    A forward may cache what it computed on the module (a detection head keeps its anchor
    grid as ``self.anchors`` and reuses it while the input size stays the same). Run on
    meta tensors, that cache would hold meta tensors and break the user's next real run, so
    what the block assigned is put back and what it added is removed."""
    saved = [
        (m, {k: v for k, v in vars(m).items() if k not in _MODULE_INTERNALS})
        for m in model.modules()
    ]
    try:
        yield
    finally:
        for m, before in saved:
            now = vars(m)
            for key in [k for k in now if k not in _MODULE_INTERNALS and k not in before]:
                del now[key]
            for key, value in before.items():
                if now.get(key, _MISSING) is not value:
                    now[key] = value
