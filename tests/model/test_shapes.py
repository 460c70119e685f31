"""Parsing ``-i`` shapes: separators, and every shape no tensor can have refused."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from convscope.errors import InputError
from convscope.model.shapes import parse_input_shapes, parse_inputs


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


def test_parse_inputs_positional_and_keyword() -> None:
    given = parse_inputs(["1,3,8,8", "mask=1x1x8x8", " ids = 1,5"])
    assert [tuple(t.shape) for t in given.args] == [(1, 3, 8, 8)]
    assert {k: tuple(v.shape) for k, v in given.kwargs.items()} == {
        "mask": (1, 1, 8, 8),
        "ids": (1, 5),
    }
    assert all(t.is_meta for t in given.tensors())


@pytest.mark.parametrize(
    ("texts", "needle"),
    [
        (["1x=1,3"], "'1x' is not an argument name"),
        (["=1,3"], "'' is not an argument name"),
        (["m=1,3", "m=1,4"], "'m' is given twice"),
        (["m=1,0"], "must be positive"),
    ],
)
def test_parse_inputs_rejects(texts: list[str], needle: str) -> None:
    with pytest.raises(InputError, match=needle):
        parse_inputs(texts)
