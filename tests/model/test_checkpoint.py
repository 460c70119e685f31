"""Checkpoints: wrapped and prefixed state dicts, mismatches in one line, safe unpickling."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from convscope.errors import ModelLoadError
from convscope.model.checkpoint import load_state_dict
from convscope.model.load import load_model

MODELS = Path(__file__).resolve().parents[1] / "fixtures" / "models"


def spec(name: str, attr: str | None = None) -> str:
    path = str(MODELS / name)
    return f"{path}:{attr}" if attr else path


def sub(module: nn.Module, path: str) -> Any:
    """A submodule by path, typed ``Any`` (``nn.Module.__getattr__`` is typed as returning
    ``Tensor | Module``, which hides a submodule's own attributes from mypy)."""
    return module.get_submodule(path)


class Payload:
    """An arbitrary class: weights_only unpickling must refuse it."""

    def __init__(self) -> None:
        self.note = "not a tensor"


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
