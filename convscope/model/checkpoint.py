"""Checkpoints: a weights file read into a plain state dict (safe unpickling unless
trusted), and applied to a module strictly, every kind of mismatch in one line.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeGuard

import torch
from torch import nn

from convscope.errors import ModelLoadError, describe
from convscope.model.materialize import has_meta
from convscope.model.usercode import type_name

__all__ = ["apply_state_dict", "load_state_dict"]


# Wrapper keys under which training scripts commonly store the state dict.
_CHECKPOINT_KEYS = ("state_dict", "model", "model_state_dict")
# Prefixes added by DataParallel/DistributedDataParallel and torch.compile.
_WRAPPER_PREFIXES = ("module.", "_orig_mod.")


def load_state_dict(path: str | Path, *, trust_pickle: bool = False) -> dict[str, torch.Tensor]:
    """Read a checkpoint into a plain state dict on CPU.

    Uses ``weights_only`` unpickling unless ``trust_pickle``: a checkpoint is untrusted input
    and full unpickling runs arbitrary code. Accepts a raw state dict, one wrapped under
    ``state_dict``/``model``, or (trusted only) a pickled module; strips DataParallel's
    ``module.`` prefix.
    """
    ckpt = Path(path).expanduser()
    if not ckpt.is_file():
        raise ModelLoadError(f"checkpoint not found: {ckpt}")
    if ckpt.suffix == ".safetensors":
        raw: Any = _load_safetensors(ckpt)
    else:
        raw = _torch_load(ckpt, trust_pickle)
    state = _unwrap_state_dict(raw, ckpt)
    return _strip_prefixes(state)


def _torch_load(ckpt: Path, trust_pickle: bool) -> Any:
    try:
        return torch.load(ckpt, map_location="cpu", weights_only=not trust_pickle)
    except Exception as exc:  # a corrupt pickle can raise nearly anything (even KeyError)
        message = str(exc)
        if not trust_pickle and "weights only load failed" in message.lower():
            raise ModelLoadError(
                f"checkpoint {ckpt} holds Python objects that safe (weights_only) loading "
                "refuses; pass --trust-pickle only if you trust where the file came from"
            ) from exc
        raise ModelLoadError(
            f"could not read checkpoint {ckpt}: not a PyTorch checkpoint ({describe(exc)})"
        ) from exc


def _load_safetensors(ckpt: Path) -> dict[str, torch.Tensor]:
    try:
        from safetensors.torch import load_file  # optional dependency
    except ImportError as exc:
        raise ModelLoadError(
            f"reading {ckpt} needs the safetensors package (`pip install safetensors`)"
        ) from exc
    try:
        return dict(load_file(str(ckpt), device="cpu"))
    except Exception as exc:  # any failure means "not a readable file"
        raise ModelLoadError(f"could not read checkpoint {ckpt}: {describe(exc)}") from exc


def _is_tensor_dict(value: Any) -> TypeGuard[Mapping[str, torch.Tensor]]:
    return (
        isinstance(value, Mapping)
        and len(value) > 0
        and all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in value.items())
    )


def _unwrap_state_dict(raw: Any, ckpt: Path) -> dict[str, torch.Tensor]:
    if isinstance(raw, nn.Module):
        return dict(raw.state_dict())
    if _is_tensor_dict(raw):
        return dict(raw)
    if isinstance(raw, Mapping):
        for key in _CHECKPOINT_KEYS:
            inner = raw.get(key)
            if isinstance(inner, nn.Module):
                return dict(inner.state_dict())
            if _is_tensor_dict(inner):
                return dict(inner)
    raise ModelLoadError(
        f"checkpoint {ckpt} holds a {type_name(raw)}, not a state dict (expected a dict of "
        f"tensors, or one under {' / '.join(repr(k) for k in _CHECKPOINT_KEYS[:2])})"
    )


def _strip_prefixes(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Remove a prefix every key shares (``module.`` from DataParallel, torch.compile's)."""
    changed = True
    while changed:
        changed = False
        for prefix in _WRAPPER_PREFIXES:
            if state and all(k.startswith(prefix) for k in state):
                state = {k[len(prefix) :]: v for k, v in state.items()}
                changed = True
    return state


def _first(names: Sequence[str], n: int = 3) -> str:
    return ", ".join(names[:n])


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 'es' if word.endswith('h') else 's'}"


def apply_state_dict(
    module: nn.Module, state: Mapping[str, torch.Tensor], ckpt: Path, model_name: str
) -> None:
    """Strict load with a one-line summary of every kind of mismatch."""
    own = module.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    shapes = [
        f"{k} ckpt {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
        for k in own
        if k in state and tuple(state[k].shape) != tuple(own[k].shape)
    ]
    problems = []
    if missing:
        problems.append(f"{_plural(len(missing), 'missing key')} (first: {_first(missing)})")
    if unexpected:
        problems.append(
            f"{_plural(len(unexpected), 'unexpected key')} (first: {_first(unexpected)})"
        )
    if shapes:
        problems.append(f"{_plural(len(shapes), 'shape mismatch')} (first: {shapes[0]})")
    if problems:
        raise ModelLoadError(
            f"checkpoint {ckpt} does not match {model_name}: " + ", ".join(problems)
        )
    meta = has_meta(module)
    try:
        module.load_state_dict(state, strict=True, assign=meta)
    except Exception as exc:  # e.g. dtype casts a module refuses
        raise ModelLoadError(
            f"loading checkpoint {ckpt} into {model_name} failed: {describe(exc)}"
        ) from exc
