"""``torchvision:NAME`` and ``timm:NAME``: built on meta with the input each model is made for."""

from __future__ import annotations

import sys
import types

import pytest
from torch import nn

from convscope.errors import ModelLoadError
from convscope.model.load import LoadedModel, load_model


def shapes(loaded: LoadedModel) -> list[tuple[int, ...]]:
    return [tuple(t.shape) for t in loaded.inputs.args]


def all_meta(module: nn.Module) -> bool:
    tensors = [*module.parameters(), *module.buffers()]
    return bool(tensors) and all(t.is_meta for t in tensors)


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
