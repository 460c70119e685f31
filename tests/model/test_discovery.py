"""Which object of a model file or module is the model: auto-discovery and ``:NAME``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from convscope.errors import ModelLoadError
from convscope.model.load import LoadedModel, load_model

MODELS = Path(__file__).resolve().parents[1] / "fixtures" / "models"


def spec(name: str, attr: str | None = None) -> str:
    path = str(MODELS / name)
    return f"{path}:{attr}" if attr else path


def shapes(loaded: LoadedModel) -> list[tuple[int, ...]]:
    return [tuple(t.shape) for t in loaded.inputs.args]


def sub(module: nn.Module, path: str) -> Any:
    """A submodule by path, typed ``Any`` (``nn.Module.__getattr__`` is typed as returning
    ``Tensor | Module``, which hides a submodule's own attributes from mypy)."""
    return module.get_submodule(path)


def all_meta(module: nn.Module) -> bool:
    tensors = [*module.parameters(), *module.buffers()]
    return bool(tensors) and all(t.is_meta for t in tensors)


@pytest.fixture
def fixture_pkg_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(MODELS))


def test_single_class_is_discovered_and_built_on_meta() -> None:
    loaded = load_model(spec("single_class.py"))
    assert type(loaded.module).__name__ == "TinyNet"
    assert loaded.on_meta and all_meta(loaded.module)
    assert loaded.source_file == MODELS / "single_class.py"
    assert loaded.spec == spec("single_class.py")
    assert loaded.input_source == "default"
    assert shapes(loaded) == [(1, 3, 224, 224)]
    assert all(t.is_meta and t.dtype == torch.float32 for t in loaded.inputs.args)


def test_model_instance_is_used_as_is() -> None:
    loaded = load_model(spec("instance_model.py"))
    assert type(loaded.module).__name__ == "Configurable"
    assert sub(loaded.module, "conv").out_channels == 6
    # A module-level instance is already built: on_meta reports where its weights live.
    assert not loaded.on_meta
    assert not any(p.is_meta for p in loaded.module.parameters())


def test_factory_function_is_called() -> None:
    loaded = load_model(spec("factory.py"))
    assert isinstance(loaded.module, nn.Sequential)
    assert loaded.on_meta


def test_ambiguous_file_lists_candidates() -> None:
    with pytest.raises(ModelLoadError) as info:
        load_model(spec("ambiguous.py"))
    message = str(info.value)
    assert "Alpha" in message and "Beta" in message
    assert ":NAME" in message and "\n" not in message


def test_submodule_class_is_not_a_candidate() -> None:
    loaded = load_model(spec("nested.py"))
    assert type(loaded.module).__name__ == "Network"


def test_imported_classes_are_not_candidates_and_sys_path_is_restored() -> None:
    before = list(sys.path)
    loaded = load_model(spec("sibling_import.py"))
    assert type(loaded.module).__name__ == "UsesSibling"
    assert sys.path == before


def test_parameter_free_and_shared_instances_are_not_the_model() -> None:
    loaded = load_model(spec("training_script.py"))
    assert type(loaded.module).__name__ == "Net"


def test_no_model_found() -> None:
    with pytest.raises(ModelLoadError, match=r"no model found in .*no_model.py"):
        load_model(spec("no_model.py"))


def test_file_name_forms() -> None:
    assert type(load_model(spec("ambiguous.py", "Beta")).module).__name__ == "Beta"
    assert type(load_model(spec("nested.py", "Block")).module).__name__ == "Block"
    built = load_model(spec("factory.py", "build_model")).module
    assert isinstance(built, nn.Sequential)


def test_missing_name_lists_available() -> None:
    with pytest.raises(ModelLoadError) as info:
        load_model(spec("ambiguous.py", "Gamma"))
    message = str(info.value)
    assert "'Gamma'" in message and "Alpha" in message and "Beta" in message


def test_class_needing_arguments_is_rejected() -> None:
    with pytest.raises(ModelLoadError, match=r"Stem .*out_channels"):
        load_model(spec("factory.py", "Stem"))


@pytest.mark.usefixtures("fixture_pkg_path")
def test_package_module_name_forms() -> None:
    base = "convscope_fixture_pkg.nets"
    cls = load_model(f"{base}:PkgNet")
    assert cls.on_meta and sub(cls.module, "conv").out_channels == 4
    assert cls.input_source == "INPUT_SHAPE" and shapes(cls) == [(1, 3, 20, 20)]
    assert cls.source_file is not None and cls.source_file.name == "nets.py"
    assert sub(load_model(f"{base}:make_net").module, "conv").out_channels == 6
    inst = load_model(f"{base}:shared_instance")
    import convscope_fixture_pkg.nets as nets

    assert inst.module is nets.shared_instance
    with pytest.raises(ModelLoadError, match=r"NeedsArgs .*width"):
        load_model(f"{base}:NeedsArgs")
    with pytest.raises(ModelLoadError, match=r"NOT_A_MODEL .* is a int"):
        load_model(f"{base}:NOT_A_MODEL")
    with pytest.raises(ModelLoadError, match=r"no attribute 'Nope'.*PkgNet"):
        load_model(f"{base}:Nope")


@pytest.mark.usefixtures("fixture_pkg_path")
def test_module_without_name_is_auto_discovered() -> None:
    loaded = load_model("convscope_fixture_blocks")
    assert type(loaded.module).__name__ == "SiblingBlock"
