"""Example inputs: ``-i`` beats ``example_inputs()`` beats ``INPUT_SHAPE``; bad ones fail."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from convscope.errors import InputError
from convscope.model.load import LoadedModel, load_model
from convscope.model.shapes import parse_inputs

MODELS = Path(__file__).resolve().parents[1] / "fixtures" / "models"


def spec(name: str, attr: str | None = None) -> str:
    path = str(MODELS / name)
    return f"{path}:{attr}" if attr else path


def shapes(loaded: LoadedModel) -> list[tuple[int, ...]]:
    return [tuple(t.shape) for t in loaded.inputs.args]


def test_input_shape_from_file() -> None:
    loaded = load_model(spec("input_shape.py"))
    assert loaded.input_source == "INPUT_SHAPE" and shapes(loaded) == [(2, 3, 32, 48)]
    assert all(t.is_meta for t in loaded.inputs.args)
    two = load_model(spec("two_inputs.py"))
    assert shapes(two) == [(1, 3, 8, 8), (1, 3, 8, 8)]


def test_example_inputs_beat_input_shape_and_cli_beats_both() -> None:
    loaded = load_model(spec("example_inputs.py"))
    assert loaded.input_source == "example_inputs"
    assert shapes(loaded) == [(1, 3, 16, 16)]
    assert not loaded.inputs.args[0].is_meta and torch.all(loaded.inputs.args[0] == 1)
    cli = load_model(spec("example_inputs.py"), input_shapes=[(1, 3, 5, 5)])
    assert cli.input_source == "cli" and shapes(cli) == [(1, 3, 5, 5)]
    assert cli.inputs.args[0].is_meta


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
    with pytest.raises(InputError, match=r"must return a tensor, a tuple of tensors, a dict"):
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


# --------------------------------------------------------------------------- keyword inputs

KEYWORD_MODEL = Path(__file__).resolve().parents[1] / "fixtures" / "cli" / "keyword_inputs.py"


def test_example_inputs_dict_gives_keyword_inputs() -> None:
    loaded = load_model(str(KEYWORD_MODEL))
    assert loaded.input_source == "example_inputs" and loaded.inputs.args == ()
    assert {k: tuple(v.shape) for k, v in loaded.inputs.kwargs.items()} == {
        "pixel_values": (1, 3, 16, 16),
        "mask": (1, 1, 16, 16),
    }


def test_example_inputs_args_kwargs_pair(tmp_path: Path) -> None:
    path = tmp_path / "pair.py"
    path.write_text(
        "import torch\nfrom torch import nn\n"
        "def example_inputs():\n"
        "    return (torch.zeros(1, 3, 8, 8),), {'scale': torch.ones(1), 'flip': False}\n"
        "class N(nn.Module):\n"
        "    def forward(self, x, *, scale, flip=True):\n"
        "        return x * scale\n"
    )
    loaded = load_model(str(path))
    assert shapes(loaded) == [(1, 3, 8, 8)]
    assert set(loaded.inputs.kwargs) == {"scale", "flip"} and loaded.inputs.kwargs["flip"] is False


def test_cli_keyword_inputs_beat_the_file() -> None:
    given = parse_inputs(["pixel_values=1,3,8,8", "mask=1,1,8,8"])
    loaded = load_model(str(KEYWORD_MODEL), input_shapes=given)
    assert loaded.input_source == "cli" and loaded.inputs is given


@pytest.mark.parametrize(
    ("texts", "needle"),
    [
        # a keyword-only argument cannot be given positionally: name it, show both forms
        (
            ["1,3,8,8"],
            r"Masked.forward needs mask but got 1×3×8×8 \(from -i\): give each with "
            r"-i NAME=SHAPE \(-i mask=1,3,224,224\), or return \{'mask': tensor\}",
        ),
        (["pixel_values=1,3,8,8"], r"needs mask but got pixel_values=1×3×8×8"),
        (["1,3,8,8", "mask=1,1,8,8", "bias=1"], r"takes no argument 'bias'.*pixel_values, mask"),
        (["1,3,8,8", "pixel_values=1,3,8,8"], r"already gets positionally 'pixel_values'"),
        (["1,3,8,8", "1,3,8,8"], r"takes 1 positional input\(s\) but got 2"),
    ],
)
def test_forward_arguments_checked_before_tracing(texts: list[str], needle: str) -> None:
    with pytest.raises(InputError, match=needle):
        load_model(str(KEYWORD_MODEL), input_shapes=parse_inputs(texts))
