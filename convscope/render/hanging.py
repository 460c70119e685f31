"""A text line that wraps with a hanging indent, so a long finding stays under its heading
on a narrow terminal instead of restarting at column 0."""

from __future__ import annotations

from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.text import Text


class Hanging:
    """``text`` as given on its first line; every wrapped line starts ``indent`` columns in.

    Under ``soft_wrap`` (plain text for a pipe or a file) the line is left whole, as every
    other line of that output is.
    """

    def __init__(self, text: Text, indent: int) -> None:
        self.text = text
        self.indent = indent

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if options.no_wrap:
            yield self.text
            return
        first = self.text.wrap(console, options.max_width)[0]
        first.rstrip()
        yield first
        # the rest, less the spaces the first line broke at, wraps under the indent
        tail = self.text.plain[len(first.plain) :]
        rest = self.text[len(self.text.plain) - len(tail.lstrip(" \n")) :]
        if not rest.plain:
            return
        pad = Text(" " * self.indent)
        for line in rest.wrap(console, max(options.max_width - self.indent, 20)):
            line.rstrip()
            yield pad + line

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement(self.indent + 20, options.max_width)
