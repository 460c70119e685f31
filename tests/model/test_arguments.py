"""ModelInputs: positional and keyword inputs as one immutable value."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from convscope.model.arguments import ModelInputs


def test_frozen_and_order() -> None:
    x, m = torch.zeros(1, 3, 4, 4), torch.ones(1, 1, 4, 4)
    given = ModelInputs((x,), {"mask": m})
    with pytest.raises(dataclasses.FrozenInstanceError):
        given.args = ()  # type: ignore[misc]
    with pytest.raises(TypeError):
        given.kwargs["other"] = m  # type: ignore[index]
    assert list(given.values()) == [x, m]
    assert given.tensors() == [x, m]  # positional first, then keyword
    assert given.describe() == "1×3×4×4, mask=1×1×4×4"
    assert given.cli_text() == "-i 1,3,4,4 -i mask=1,1,4,4"
    assert given and not ModelInputs()


def test_of_wraps_a_sequence_and_keeps_inputs() -> None:
    x = torch.zeros(2)
    assert ModelInputs.of([x]).args == (x,) and not ModelInputs.of([x]).kwargs
    given = ModelInputs((), {"x": x})
    assert ModelInputs.of(given) is given


def test_map_and_map_tensors_keep_the_structure() -> None:
    given = ModelInputs(([torch.zeros(1), torch.zeros(2)],), {"n": 3, "y": torch.zeros(3)})
    doubled = given.map_tensors(lambda t: t + 1)
    assert [float(t.sum()) for t in doubled.tensors()] == [1.0, 2.0, 3.0]
    assert doubled.kwargs["n"] == 3 and isinstance(doubled.args[0], list)
    top = given.map(lambda v: type(v).__name__)
    assert top.args == ("list",) and dict(top.kwargs) == {"n": "int", "y": "Tensor"}


def test_call_passes_keywords() -> None:
    def f(a: int, *, b: int) -> int:
        return 10 * a + b

    assert ModelInputs((1,), {"b": 2}).call(f) == 12
