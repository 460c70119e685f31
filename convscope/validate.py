"""Validation shared by user configs and target profiles.

Every error names the file and the key path, e.g.
``convscope.yaml: rules.DW001.min_channels: expected int, got 'x'``, and is raised as
:class:`ConfigError` (a :class:`~convscope.errors.ConvscopeError`, so the CLI exits 2).
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from convscope.errors import ConvscopeError, first_line


class ConfigError(ConvscopeError):
    """A malformed config, profile or baseline file."""


class Where:
    """The file being validated; builds errors that name it and the key path."""

    def __init__(self, label: str) -> None:
        self.label = label

    def error(self, path: str, message: str) -> ConfigError:
        if not path:
            return ConfigError(f"{self.label}: {message}")
        return ConfigError(f"{self.label}: {path}: {message}")

    def mapping(self, value: Any, path: str) -> Mapping[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise self.error(path, f"expected a mapping, got {describe_value(value)}")
        for key in value:
            if not isinstance(key, str):
                raise self.error(path, f"keys must be strings, got {key!r}")
        return value

    def keys(self, value: Mapping[str, Any], allowed: Iterable[str], path: str) -> None:
        """Refuse unknown keys, suggesting the closest known one."""
        known = list(allowed)
        for key in value:
            if key not in known:
                hint = difflib.get_close_matches(key.replace("_", "-"), known, n=1, cutoff=0.6)
                more = (
                    f" (did you mean {hint[0]!r}?)"
                    if hint
                    else f" (known keys: {', '.join(known)})"
                )
                raise self.error(join_path(path, key), f"unknown key{more}")

    def string_list(self, value: Any, path: str) -> tuple[str, ...]:
        """A list of strings; a single comma-separated string is accepted too."""
        if isinstance(value, str):
            return split_list(value)
        if not isinstance(value, (list, tuple)):
            raise self.error(path, f"expected a list of strings, got {describe_value(value)}")
        for i, item in enumerate(value):
            if not isinstance(item, str):
                raise self.error(f"{path}[{i}]", f"expected a string, got {describe_value(item)}")
        return tuple(s.strip() for s in value)

    def glob(self, value: str, path: str) -> str:
        problem = glob_problem(value)
        if problem:
            raise self.error(path, problem)
        return value

    def size(self, value: Any, path: str) -> int:
        try:
            return parse_size(value)
        except ValueError as exc:
            raise self.error(path, str(exc)) from None


def join_path(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def describe_value(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    if value is None:
        return "nothing (null)"
    return f"{type(value).__name__} {value!r}"


def split_list(text: str) -> tuple[str, ...]:
    """``"DW,QF003"`` → ``("DW", "QF003")`` (empty items dropped)."""
    return tuple(s.strip() for s in text.split(",") if s.strip())


def glob_problem(glob: str) -> str | None:
    """Why a layer-path glob is malformed, or None. Layer paths look like ``features.3.conv``."""
    if not glob.strip():
        return "empty glob"
    if "/" in glob or "\\" in glob:
        return f"bad glob {glob!r}: layer paths use '.' between names, not path separators"
    depth = 0
    for ch in glob:
        if ch == "[":
            if depth:
                return f"bad glob {glob!r}: nested '['"
            depth = 1
        elif ch == "]" and depth:
            depth = 0
    if depth:
        return f"bad glob {glob!r}: unclosed '['"
    return None


_SIZE = re.compile(r"^\s*([0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?)\s*([kKMGTP]?)(i?)(B?)\s*$")
_SCALE = {"": 0, "k": 1, "K": 1, "M": 2, "G": 3, "T": 4, "P": 5}


def parse_size(value: Any) -> int:
    """``25_000_000``, ``"25M"``, ``"4.1G"``, ``"64MiB"``, ``"1.5e9"`` → an int.

    K/M/G/T/P are powers of 1000; with ``i`` (``MiB``) powers of 1024. A trailing ``B`` is
    allowed (bytes). Raises ``ValueError`` for anything else or for negative values.
    """
    if isinstance(value, bool):
        raise ValueError(f"expected a size such as 25M or 64MiB, got {value!r}")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"expected a non-negative size, got {value}")
        return value
    if isinstance(value, float):
        if value < 0 or not math.isfinite(value):
            raise ValueError(f"expected a finite, non-negative size, got {value}")
        return round(value)
    if not isinstance(value, str):
        raise ValueError(f"expected a size such as 25M or 64MiB, got {describe_value(value)}")
    m = _SIZE.match(value.replace("_", ""))
    if not m:
        raise ValueError(f"expected a size such as 25M, 4.1G or 64MiB, got {value!r}")
    number, unit, binary, _ = m.groups()
    if binary and not unit:
        raise ValueError(f"expected a size such as 25M, 4.1G or 64MiB, got {value!r}")
    base = 1024 if binary else 1000
    scaled = float(number) * base ** _SCALE[unit]
    if not math.isfinite(scaled):  # "1e999" parses as a float infinity
        raise ValueError(f"size {value!r} is too large (beyond a float's range)")
    return round(scaled)


def format_size(n: int, binary: bool = False) -> str:
    """The inverse of :func:`parse_size` for display: ``25000000`` → ``"25M"``."""
    base = 1024 if binary else 1000
    units: Sequence[str] = ("", "Ki", "Mi", "Gi", "Ti") if binary else ("", "K", "M", "G", "T")
    value = float(n)
    i = 0
    while abs(value) >= base and i < len(units) - 1:
        value /= base
        i += 1
    text = f"{value:.4g}"
    return f"{text}{units[i]}{'B' if binary else ''}"


TOO_DEEP = "nested too deeply to read (deeper than Python's recursion limit)"


def yaml_problem(exc: Exception) -> str:
    """A one-line description of a YAML parse error with its line and column."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or (first_line(exc) or "unknown problem")
    if mark is not None:
        return f"{problem} at line {mark.line + 1}, column {mark.column + 1}"
    return str(problem)


_OPTION = re.compile(r"^[a-z][a-z0-9_]*$")

_TYPE_NAMES: Mapping[type, str] = {
    int: "int",
    float: "number",
    bool: "bool",
    str: "string",
    list: "list of strings",
}


@dataclass(frozen=True)
class Option:
    """One typed rule option; its meaning is documented in the rule's README only.

    ``kind`` is ``int``, ``float``, ``bool``, ``str`` or ``list`` (a list of strings).
    ``profile_key`` names the target-profile field that supplies the value when neither the
    profile's ``rules`` section nor the user's config sets it (e.g. ``channel-alignment``).
    ``choices`` restricts a string (or each item of a list); ``minimum`` / ``maximum`` bound
    a number.
    """

    name: str
    kind: type
    default: Any
    profile_key: str | None = None
    choices: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None

    def __post_init__(self) -> None:
        if not _OPTION.match(self.name):
            raise ValueError(f"option name {self.name!r} must be snake_case")
        if self.kind not in _TYPE_NAMES:
            raise ValueError(f"option {self.name!r}: unsupported kind {self.kind!r}")
        object.__setattr__(self, "default", self.validate(self.default))

    @property
    def type_name(self) -> str:
        return _TYPE_NAMES[self.kind]

    def validate(self, value: Any) -> Any:
        """Return ``value`` in canonical form (lists become tuples) or raise ``ValueError``
        with a message such as ``expected int, got 'x'``."""
        got = f"got {value!r}"
        if self.kind is bool:
            if not isinstance(value, bool):
                raise ValueError(f"expected bool, {got}")
            return value
        if self.kind is int:
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"expected int, {got}")
            self._check_range(value)
            return value
        if self.kind is float:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"expected number, {got}")
            self._check_range(value)
            return float(value)
        if self.kind is str:
            if not isinstance(value, str):
                raise ValueError(f"expected string, {got}")
            self._check_choice(value)
            return value
        # list of strings
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            raise ValueError(f"expected list of strings, {got}")
        for v in value:
            self._check_choice(v)
        return tuple(value)

    def _check_range(self, value: float) -> None:
        if self.minimum is not None and value < self.minimum:
            raise ValueError(f"expected a value >= {self.minimum:g}, got {value!r}")
        if self.maximum is not None and value > self.maximum:
            raise ValueError(f"expected a value <= {self.maximum:g}, got {value!r}")

    def _check_choice(self, value: str) -> None:
        if self.choices is not None and value not in self.choices:
            raise ValueError(f"expected one of {', '.join(self.choices)}, got {value!r}")
