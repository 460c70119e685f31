"""The one way an exception becomes a line: first line, type name, a cap, never a raise."""

from __future__ import annotations

from convscope.errors import describe, first_line


class _Weird(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no")


def test_first_line_takes_the_first_non_empty_line_and_caps_it() -> None:
    assert first_line(ValueError("\n  shape mismatch  \nat layer 3")) == "shape mismatch"
    assert first_line(ValueError("")) == ""
    assert first_line(ValueError("z" * 5000)) == "z" * 5000  # no cap unless asked
    long = first_line(ValueError("x" * 500), limit=20)
    assert long == "x" * 17 + "..." and len(long) == 20


def test_a_str_that_raises_gives_a_placeholder_not_a_second_exception() -> None:
    assert first_line(_Weird()) == "<_Weird whose str() raised>"
    assert describe(_Weird()) == "_Weird: <_Weird whose str() raised>"


def test_describe_names_the_type_and_special_cases() -> None:
    assert describe(KeyError("depth")) == "KeyError: 'depth'"
    assert describe(RuntimeError()) == "RuntimeError"
    assert describe(SystemExit(3)) == "SystemExit(3)"
    assert describe(SystemExit("bye")) == "SystemExit: bye"
    try:
        compile("def f(:\n", "model.py", "exec")
    except SyntaxError as exc:
        text = describe(exc)
    assert text.startswith("SyntaxError: ") and text.endswith("(line 1)")
    assert "\n" not in describe(ValueError("a\nb")) and len(describe(ValueError("y" * 999))) == 300
