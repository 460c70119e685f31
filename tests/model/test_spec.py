"""MODEL spec forms: what is not a spec of any form gets one line naming the forms."""

from __future__ import annotations

from pathlib import Path

import pytest

from convscope.errors import ConvscopeError, ModelLoadError
from convscope.model.load import load_model


def test_nonexistent_file() -> None:
    with pytest.raises(ModelLoadError, match=r"model file not found: .*missing.py"):
        load_model("does/not/exist/missing.py")
    with pytest.raises(ModelLoadError, match=r"model file not found"):
        load_model("does/not/exist/missing.py:Net")


def test_checkpoint_given_as_model_gets_a_hint(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match=r"--weights"):
        load_model(str(tmp_path / "model.pth"))


def test_load_errors_are_convscope_errors_with_exit_code_2() -> None:
    with pytest.raises(ConvscopeError) as info:
        load_model("nope.py")
    assert info.value.exit_code == 2


def test_missing_package() -> None:
    with pytest.raises(ModelLoadError, match=r"cannot import module 'no_such_pkg_xyz.models'"):
        load_model("no_such_pkg_xyz.models:Net")
    with pytest.raises(ModelLoadError, match=r"'resnet50'.*torchvision:NAME"):
        load_model("resnet50")
