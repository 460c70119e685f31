"""Tests for convscope.model.load: every MODEL spec form, meta construction, weights, inputs."""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from convscope.errors import ConvscopeError, InputError, ModelLoadError
from convscope.model.checkpoint import load_state_dict
from convscope.model.load import LoadedModel, load_model
from convscope.model.shapes import parse_input_shapes

MODELS = Path(__file__).resolve().parents[1] / "fixtures" / "models"


def spec(name: str, attr: str | None = None) -> str:
    path = str(MODELS / name)
    return f"{path}:{attr}" if attr else path


def shapes(loaded: LoadedModel) -> list[tuple[int, ...]]:
    return [tuple(t.shape) for t in loaded.inputs]


def sub(module: nn.Module, path: str) -> Any:
    """A submodule by path, typed ``Any`` (``nn.Module.__getattr__`` is typed as returning
    ``Tensor | Module``, which hides a submodule's own attributes from mypy)."""
    return module.get_submodule(path)


def all_meta(module: nn.Module) -> bool:
    tensors = [*module.parameters(), *module.buffers()]
    return bool(tensors) and all(t.is_meta for t in tensors)


class Payload:
    """An arbitrary class: weights_only unpickling must refuse it."""

    def __init__(self) -> None:
        self.note = "not a tensor"


@pytest.fixture
def fixture_pkg_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(MODELS))


# --------------------------------------------------------------------------- discovery


def test_single_class_is_discovered_and_built_on_meta() -> None:
    loaded = load_model(spec("single_class.py"))
    assert type(loaded.module).__name__ == "TinyNet"
    assert loaded.on_meta and all_meta(loaded.module)
    assert loaded.source_file == MODELS / "single_class.py"
    assert loaded.spec == spec("single_class.py")
    assert loaded.input_source == "default"
    assert shapes(loaded) == [(1, 3, 224, 224)]
    assert all(t.is_meta and t.dtype == torch.float32 for t in loaded.inputs)


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


def test_each_load_imports_a_fresh_module() -> None:
    first = load_model(spec("single_class.py")).module
    second = load_model(spec("single_class.py")).module
    assert type(first) is not type(second)
    assert type(first).__module__ != type(second).__module__


# --------------------------------------------------------------------------- FILE:NAME


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


# --------------------------------------------------------------------------- errors


def test_nonexistent_file() -> None:
    with pytest.raises(ModelLoadError, match=r"model file not found: .*missing.py"):
        load_model("does/not/exist/missing.py")
    with pytest.raises(ModelLoadError, match=r"model file not found"):
        load_model("does/not/exist/missing.py:Net")


def test_syntax_error_is_one_line_with_line_number(tmp_path: Path) -> None:
    bad = tmp_path / "broken.py"
    bad.write_text("import torch\n\ndef f(:\n    pass\n")
    with pytest.raises(ModelLoadError) as info:
        load_model(str(bad))
    message = str(info.value)
    assert message.startswith(f"could not import {bad}: SyntaxError: ")
    assert "(line 3)" in message and "\n" not in message


def test_exception_at_import_names_file_and_line() -> None:
    with pytest.raises(ModelLoadError) as info:
        load_model(spec("import_error.py"))
    message = str(info.value)
    assert "could not import" in message and "ModuleNotFoundError" in message
    assert "convscope_no_such_dependency" in message and "(line 3)" in message


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


def test_checkpoint_given_as_model_gets_a_hint(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match=r"--weights"):
        load_model(str(tmp_path / "model.pth"))


def test_load_errors_are_convscope_errors_with_exit_code_2() -> None:
    with pytest.raises(ConvscopeError) as info:
        load_model("nope.py")
    assert info.value.exit_code == 2


# --------------------------------------------------------------------------- pkg.module:NAME


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


def test_missing_package() -> None:
    with pytest.raises(ModelLoadError, match=r"cannot import module 'no_such_pkg_xyz.models'"):
        load_model("no_such_pkg_xyz.models:Net")
    with pytest.raises(ModelLoadError, match=r"'resnet50'.*torchvision:NAME"):
        load_model("resnet50")


@pytest.mark.usefixtures("fixture_pkg_path")
def test_module_without_name_is_auto_discovered() -> None:
    loaded = load_model("convscope_fixture_blocks")
    assert type(loaded.module).__name__ == "SiblingBlock"


# --------------------------------------------------------------------------- hubs


def test_torchvision_resnet18_on_meta() -> None:
    loaded = load_model("torchvision:resnet18")
    assert type(loaded.module).__name__ == "ResNet"
    assert loaded.on_meta and all_meta(loaded.module)
    assert sum(p.numel() for p in loaded.module.parameters()) == 11_689_512
    assert shapes(loaded) == [(1, 3, 224, 224)] and loaded.input_source == "default"
    assert loaded.source_file is None


def test_torchvision_video_and_flow_inputs() -> None:
    assert shapes(load_model("torchvision:r3d_18")) == [(1, 3, 16, 112, 112)]
    assert shapes(load_model("torchvision:raft_small")) == [(1, 3, 224, 224)] * 2
    # An explicit shape always wins.
    assert shapes(load_model("torchvision:r3d_18", input_shapes=[(1, 3, 8, 64, 64)])) == [
        (1, 3, 8, 64, 64)
    ]


def test_torchvision_detection_does_not_download_backbone() -> None:
    loaded = load_model("torchvision:fasterrcnn_mobilenet_v3_large_320_fpn")
    assert loaded.on_meta


def test_torchvision_unknown_name_suggests() -> None:
    with pytest.raises(ModelLoadError, match=r"unknown torchvision model 'resnet19'.*resnet18"):
        load_model("torchvision:resnet19")


def test_torchvision_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torchvision", None)
    monkeypatch.setitem(sys.modules, "torchvision.models", None)
    with pytest.raises(ModelLoadError, match=r"convscope\[vision\]"):
        load_model("torchvision:resnet18")


def test_timm_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "timm", None)
    with pytest.raises(ModelLoadError, match=r"timm is not installed.*convscope\[timm\]"):
        load_model("timm:convnext_tiny")


def test_timm_spec_with_stub_module(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, bool]] = []

    def create_model(name: str, pretrained: bool = True) -> nn.Module:
        calls.append((name, pretrained))
        model = nn.Conv2d(3, 8, 3)
        model.pretrained_cfg = {"input_size": (3, 64, 64)}  # type: ignore[assignment]
        return model

    fake = types.ModuleType("timm")
    fake.create_model = create_model  # type: ignore[attr-defined]
    fake.is_model = lambda name: name == "tiny_conv"  # type: ignore[attr-defined]
    fake.list_models = lambda: ["tiny_conv"]  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "timm", fake)
    loaded = load_model("timm:tiny_conv")
    assert calls == [("tiny_conv", False)]
    assert loaded.on_meta and shapes(loaded) == [(1, 3, 64, 64)]
    with pytest.raises(ModelLoadError, match=r"unknown timm model 'tiny_cnv'.*tiny_conv"):
        load_model("timm:tiny_cnv")


# --------------------------------------------------------------------------- .pt2


def test_exported_program(tmp_path: Path) -> None:
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU()).eval()
    example = (torch.randn(1, 3, 12, 12),)
    path = tmp_path / "tiny.pt2"
    torch.export.save(torch.export.export(model, example), path)
    loaded = load_model(str(path))
    assert loaded.input_source == "example_inputs"
    assert shapes(loaded) == [(1, 3, 12, 12)]
    assert not loaded.on_meta
    torch.testing.assert_close(loaded.module(*example), model(*example))
    assert shapes(load_model(str(path), input_shapes=[(1, 3, 20, 20)])) == [(1, 3, 20, 20)]
    with pytest.raises(ModelLoadError, match=r"model file not found"):
        load_model(str(tmp_path / "other.pt2"))


def test_corrupt_exported_program(tmp_path: Path) -> None:
    path = tmp_path / "broken.pt2"
    path.write_bytes(b"not a zip archive")
    with pytest.raises(ModelLoadError, match=r"could not load exported program"):
        load_model(str(path))


# --------------------------------------------------------------------------- meta construction


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


# --------------------------------------------------------------------------- weights


def tiny_state(tmp_path: Path, wrap: str | None = None, prefix: str = "") -> tuple[Path, dict]:
    source = load_model(spec("single_class.py"), device="cpu").module
    state = {prefix + k: v.clone() for k, v in source.state_dict().items()}
    path = tmp_path / "ckpt.pt"
    torch.save({wrap: state, "epoch": 3} if wrap else state, path)
    return path, source.state_dict()


@pytest.mark.parametrize(("wrap", "prefix"), [(None, ""), ("state_dict", "module."), ("model", "")])
def test_weights_are_loaded(tmp_path: Path, wrap: str | None, prefix: str) -> None:
    path, expected = tiny_state(tmp_path, wrap, prefix)
    loaded = load_model(spec("single_class.py"), weights=path)
    assert not loaded.on_meta
    got = loaded.module.state_dict()
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        torch.testing.assert_close(got[key], value)
    assert loaded.rebuild is not None
    torch.testing.assert_close(loaded.rebuild().state_dict()["fc.weight"], expected["fc.weight"])


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


def test_mismatched_checkpoint_names_keys(tmp_path: Path) -> None:
    path = tmp_path / "other.pt"
    torch.save(nn.Sequential(nn.Conv2d(3, 4, 3)).state_dict(), path)
    with pytest.raises(ModelLoadError) as info:
        load_model(spec("single_class.py"), weights=path)
    message = str(info.value)
    assert message.startswith(f"checkpoint {path} does not match ")
    assert "missing keys (first: conv.weight" in message
    assert "2 unexpected keys (first: 0.weight, 0.bias)" in message
    assert "\n" not in message


def test_shape_mismatch_is_reported(tmp_path: Path) -> None:
    path, expected = tiny_state(tmp_path)
    state = dict(expected)
    state["fc.weight"] = torch.zeros(10, 7)
    torch.save(state, path)
    with pytest.raises(
        ModelLoadError,
        match=r"1 shape mismatch \(first: fc.weight ckpt "
        r"\(10, 7\) vs model \(10, 4\)\)",
    ):
        load_model(spec("single_class.py"), weights=path)


def test_pickled_objects_need_trust(tmp_path: Path) -> None:
    path, expected = tiny_state(tmp_path)
    torch.save({"state_dict": expected, "extra": Payload()}, path)
    with pytest.raises(ModelLoadError, match=r"--trust-pickle"):
        load_state_dict(path)
    with pytest.raises(ModelLoadError, match=r"--trust-pickle"):
        load_model(spec("single_class.py"), weights=path)
    state = load_state_dict(path, trust_pickle=True)
    assert state.keys() == expected.keys()
    loaded = load_model(spec("single_class.py"), weights=path, trust_pickle=True)
    torch.testing.assert_close(sub(loaded.module, "fc").bias, expected["fc.bias"])


def test_not_a_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "notes.pt"
    path.write_text("hello")
    with pytest.raises(ModelLoadError, match=r"could not read checkpoint .*notes.pt"):
        load_state_dict(path)
    with pytest.raises(ModelLoadError, match=r"checkpoint not found"):
        load_state_dict(tmp_path / "absent.pt")
    odd = tmp_path / "list.pt"
    torch.save([torch.zeros(1)], odd)
    with pytest.raises(ModelLoadError, match=r"holds a list, not a state dict"):
        load_state_dict(odd)


# --------------------------------------------------------------------------- inputs


def test_input_shape_from_file() -> None:
    loaded = load_model(spec("input_shape.py"))
    assert loaded.input_source == "INPUT_SHAPE" and shapes(loaded) == [(2, 3, 32, 48)]
    assert all(t.is_meta for t in loaded.inputs)
    two = load_model(spec("two_inputs.py"))
    assert shapes(two) == [(1, 3, 8, 8), (1, 3, 8, 8)]


def test_example_inputs_beat_input_shape_and_cli_beats_both() -> None:
    loaded = load_model(spec("example_inputs.py"))
    assert loaded.input_source == "example_inputs"
    assert shapes(loaded) == [(1, 3, 16, 16)]
    assert not loaded.inputs[0].is_meta and torch.all(loaded.inputs[0] == 1)
    cli = load_model(spec("example_inputs.py"), input_shapes=[(1, 3, 5, 5)])
    assert cli.input_source == "cli" and shapes(cli) == [(1, 3, 5, 5)]
    assert cli.inputs[0].is_meta


def test_bad_declared_inputs(tmp_path: Path) -> None:
    bad_shape = tmp_path / "bad_shape.py"
    bad_shape.write_text(
        "from torch import nn\nINPUT_SHAPE = (1, 3, 0)\nclass N(nn.Module):\n    pass\n"
    )
    with pytest.raises(InputError, match=r"INPUT_SHAPE in .*bad_shape.py"):
        load_model(str(bad_shape))
    bad_example = tmp_path / "bad_example.py"
    bad_example.write_text(
        "from torch import nn\ndef example_inputs():\n    return [1, 2]\n"
        "class N(nn.Module):\n    pass\n"
    )
    with pytest.raises(InputError, match=r"must return a tensor or a tuple of tensors"):
        load_model(str(bad_example))
    with pytest.raises(InputError):
        load_model(spec("single_class.py"), input_shapes=[(1, 3, -2, 2)])


def test_parse_input_shapes() -> None:
    assert parse_input_shapes(["1,3,224,224"]) == ((1, 3, 224, 224),)
    assert parse_input_shapes(["1x3x32x32", " 2 X 3 "]) == ((1, 3, 32, 32), (2, 3))
    assert parse_input_shapes([]) == ()


@pytest.mark.parametrize(
    "text", ["", "  ", "1,3,,4", "1,a,3", "1,3.5", "1,0,4", "1,-3,4", "1x3x", ","]
)
def test_parse_input_shapes_rejects(text: str) -> None:
    with pytest.raises(InputError) as info:
        parse_input_shapes(["1,3,8,8", text])
    assert f"'{text}'" in str(info.value)


@given(
    st.lists(st.integers(min_value=1, max_value=1_000), min_size=1, max_size=6),
    st.sampled_from([",", "x", "×"]),
)
def test_parse_input_shapes_round_trip(dims: list[int], sep: str) -> None:
    assert parse_input_shapes([sep.join(map(str, dims))]) == (tuple(dims),)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("1,3,99999999999999999999,4", "dimension 99999999999999999999 is too large"),
        ("1,3,9999999999999,99999999999", "elements in all"),
    ],
)
def test_parse_input_shapes_rejects_sizes_no_tensor_can_have(text: str, says: str) -> None:
    with pytest.raises(InputError) as info:
        parse_input_shapes([text])
    assert f"'{text}'" in str(info.value) and says in str(info.value)


def test_input_shape_in_file_that_overflows_is_an_input_error(tmp_path: Path) -> None:
    model = tmp_path / "huge.py"
    model.write_text(
        "import torch\nmodel = torch.nn.Conv2d(3, 4, 3)\nINPUT_SHAPE = (1, 3, 2**40, 2**40)\n"
    )
    with pytest.raises(InputError, match="elements in all"):
        load_model(str(model))


def test_garbage_export_is_one_error_and_torch_logs_nothing(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    garbage = tmp_path / "junk.pt2"
    garbage.write_bytes(b"not a zip archive at all")
    with pytest.raises(ModelLoadError, match=r"exported program .*junk\.pt2"):
        load_model(str(garbage))
    captured = capfd.readouterr()
    assert "Traceback" not in captured.err and "deserializing" not in captured.err
