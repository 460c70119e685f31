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


def test_ms_never_uses_exponent_form() -> None:
    assert fmt.ms(1063.2) == "1063"
    assert fmt.ms(300.7) == "301"
    assert fmt.ms(99.96) == "100"
    assert fmt.ms(12.34) == "12.3"
    assert fmt.ms(1.254) == "1.25"
    assert fmt.ms(0.052) == "0.052"
    assert fmt.ms(0.00001) == "<0.001"
    assert fmt.ms(0) == "0"
    assert fmt.ms(-53.2) == "-53.2"
    assert fmt.ms(None) == "—"
    assert fmt.duration(1063.2) == "1063 ms"


@given(st.floats(min_value=-1e9, max_value=1e9, allow_nan=False))
def test_ms_is_plain_digits(x: float) -> None:
    text = fmt.ms(x)
    assert "e" not in text and text.count(".") <= 1
    if abs(x) >= 0.0005:
        assert abs(float(text) - x) <= max(0.005 * abs(x), 0.0005)


def test_remainder_names_hook_overhead_instead_of_a_negative_figure() -> None:
    assert fmt.remainder(268.4, 300.7) == "unattributed 32.3 ms (10.7% of end to end)"
    over = fmt.remainder(191.0, 138.0)
    assert over == "over by 53.0 ms (38.4% of end to end): the timing hooks' own overhead"
    assert "-" not in over


def test_counted_agrees_in_number() -> None:
    assert [fmt.counted(n, "error") for n in (0, 1, 2)] == ["0 errors", "1 error", "2 errors"]
    assert fmt.counted(1, "warning") == "1 warning" and fmt.counted(6, "info") == "6 info"
