"""Constructing the model: on meta whatever its constructor does, failures in one line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from torch import nn

from convscope.errors import ModelLoadError
from convscope.model.load import load_model

MODELS = Path(__file__).resolve().parents[1] / "fixtures" / "models"


def spec(name: str, attr: str | None = None) -> str:
    path = str(MODELS / name)
    return f"{path}:{attr}" if attr else path


def sub(module: nn.Module, path: str) -> Any:
    """A submodule by path, typed ``Any`` (``nn.Module.__getattr__`` is typed as returning
    ``Tensor | Module``, which hides a submodule's own attributes from mypy)."""
    return module.get_submodule(path)


def all_meta(module: nn.Module) -> bool:
    tensors = [*module.parameters(), *module.buffers()]
    return bool(tensors) and all(t.is_meta for t in tensors)


def test_factory_that_raises() -> None:
    with pytest.raises(ModelLoadError) as info:
        load_model(spec("factory_raises.py"))
    assert str(info.value) == (
        f"building build_model from {spec('factory_raises.py')} failed: "
        "ValueError: width must be even"
    )


def test_factory_returning_non_module() -> None:
    with pytest.raises(ModelLoadError, match=r"returned a dict, not a torch.nn.Module"):
        load_model(spec("not_module.py"))


def test_huge_model_allocates_nothing() -> None:
    loaded = load_model(spec("huge.py"))
    assert loaded.on_meta
    assert all(p.is_meta for p in loaded.module.parameters())
    assert sub(loaded.module, "fc").weight.shape == (50000, 50000)


def test_constructor_doing_tensor_math_still_lands_on_meta() -> None:
    loaded = load_model(spec("tensor_math_init.py"))
    assert loaded.on_meta and all_meta(loaded.module)
    body = sub(loaded.module, "body")
    assert [m.out_channels for m in body if isinstance(m, nn.Conv2d)] == [8, 16, 24]
