"""The one number formatter every renderer uses."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from convscope import fmt


def test_human_counts_and_bytes() -> None:
    assert fmt.human(0) == "0"
    assert fmt.human(999) == "999"
    assert fmt.human(73_856) == "73.9K"
    assert fmt.human(4_089_184_256) == "4.09G"
    assert fmt.human(2048, "B", 1024) == "2 KiB"
    assert fmt.human(512, "B", 1024) == "512 B"


def test_prefix_steps_up_before_four_digits() -> None:
    assert fmt.human(1000 * 1024, "B", 1024) == "0.977 MiB"
    assert fmt.human(1023, "B", 1024) == "0.999 KiB"
    assert fmt.human(999_600) == "1M"
    assert fmt.human(999_400) == "999K"


def test_space_before_a_unit_but_not_before_a_bare_prefix() -> None:
    assert fmt.human(41.9e9, "FLOP/s") == "41.9 GFLOP/s"
    assert fmt.human(12, "FLOP/s") == "12 FLOP/s"
    assert fmt.human(25_557_032) == "25.6M"


@given(st.floats(min_value=0, max_value=1e30, allow_nan=False))
def test_never_exponent_form_and_at_most_three_integer_digits(x: float) -> None:
    for text in (fmt.human(x), fmt.human(x, "B", 1024)):
        number = text.split(" ")[0].rstrip("KMGTPi")
        assert "e" not in number
        assert len(number.split(".")[0]) <= 3 or x >= 999.5 * 1024**5
