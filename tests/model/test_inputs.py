"""Example inputs: ``-i`` beats ``example_inputs()`` beats ``INPUT_SHAPE``; bad ones fail."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from convscope.errors import InputError
from convscope.model.load import LoadedModel, load_model

MODELS = Path(__file__).resolve().parents[1] / "fixtures" / "models"


def spec(name: str, attr: str | None = None) -> str:
    path = str(MODELS / name)
    return f"{path}:{attr}" if attr else path


def shapes(loaded: LoadedModel) -> list[tuple[int, ...]]:
    return [tuple(t.shape) for t in loaded.inputs]


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


def test_input_shape_in_file_that_overflows_is_an_input_error(tmp_path: Path) -> None:
    model = tmp_path / "huge.py"
    model.write_text(
        "import torch\nmodel = torch.nn.Conv2d(3, 4, 3)\nINPUT_SHAPE = (1, 3, 2**40, 2**40)\n"
    )
    with pytest.raises(InputError, match="elements in all"):
        load_model(str(model))
