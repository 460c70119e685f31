"""``load_model``: rebuilds, devices, and the user's instance never modified."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from convscope.errors import InputError
from convscope.model.load import load_model

MODELS = Path(__file__).resolve().parents[1] / "fixtures" / "models"


def spec(name: str, attr: str | None = None) -> str:
    path = str(MODELS / name)
    return f"{path}:{attr}" if attr else path


def sub(module: nn.Module, path: str) -> Any:
    """A submodule by path, typed ``Any`` (``nn.Module.__getattr__`` is typed as returning
    ``Tensor | Module``, which hides a submodule's own attributes from mypy)."""
    return module.get_submodule(path)


@pytest.fixture
def fixture_pkg_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(MODELS))


def test_rebuild_gives_real_cpu_copy() -> None:
    loaded = load_model(spec("single_class.py"))
    assert loaded.rebuild is not None
    real = loaded.rebuild()
    assert real is not loaded.module
    assert not any(t.is_meta for t in [*real.parameters(), *real.buffers()])
    assert [p.shape for p in real.parameters()] == [p.shape for p in loaded.module.parameters()]
    assert real(torch.randn(1, 3, 8, 8)).shape == (1, 10)


@pytest.mark.usefixtures("fixture_pkg_path")
def test_rebuild_of_instance_copies_and_materializes_meta(monkeypatch: pytest.MonkeyPatch) -> None:
    import convscope_fixture_pkg.nets as nets

    with torch.device("meta"):
        meta_instance = nets.PkgNet(width=3)
    monkeypatch.setattr(nets, "meta_instance", meta_instance, raising=False)
    loaded = load_model("convscope_fixture_pkg.nets:meta_instance")
    assert loaded.module is meta_instance and loaded.on_meta
    assert loaded.rebuild is not None
    real = loaded.rebuild()
    weight = sub(real, "conv").weight
    assert not weight.is_meta and weight.abs().sum() > 0
    assert sub(meta_instance, "conv").weight.is_meta  # the user's object is untouched


def test_non_meta_device_builds_real_model() -> None:
    loaded = load_model(spec("single_class.py"), device="cpu")
    assert not loaded.on_meta
    assert not any(p.is_meta for p in loaded.module.parameters())


def test_bad_device() -> None:
    with pytest.raises(InputError, match=r"unknown device 'gpu0'"):
        load_model(spec("single_class.py"), device="gpu0")


def test_weights_into_instance_leave_user_object_untouched(tmp_path: Path) -> None:
    import importlib.util

    src = importlib.util.spec_from_file_location("cs_tmp_instance", MODELS / "instance_model.py")
    assert src is not None and src.loader is not None
    mod = importlib.util.module_from_spec(src)
    src.loader.exec_module(mod)
    state = {k: torch.full_like(v, 0.5) for k, v in mod.model.state_dict().items()}
    path = tmp_path / "half.pt"
    torch.save(state, path)
    loaded = load_model(spec("instance_model.py"), weights=path)
    assert torch.all(sub(loaded.module, "conv").weight == 0.5)
