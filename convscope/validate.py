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
from typing import Any

from convscope.errors import ConvscopeError, first_line
from convscope.linting.finding import Severity
from convscope.linting.registry import RESERVED_CODES, Registry


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
            raise self.error(path, f"expected a mapping, got {_describe(value)}")
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
                raise self.error(_join(path, key), f"unknown key{more}")

    def string_list(self, value: Any, path: str) -> tuple[str, ...]:
        """A list of strings; a single comma-separated string is accepted too."""
        if isinstance(value, str):
            return split_list(value)
        if not isinstance(value, (list, tuple)):
            raise self.error(path, f"expected a list of strings, got {_describe(value)}")
        for i, item in enumerate(value):
            if not isinstance(item, str):
                raise self.error(f"{path}[{i}]", f"expected a string, got {_describe(item)}")
        return tuple(s.strip() for s in value)

    def severity(self, value: Any, path: str) -> Severity:
        if value is False:  # YAML 1.1 reads an unquoted `off` as false
            value = "off"
        if not isinstance(value, str):
            raise self.error(path, f"expected a severity string, got {_describe(value)}")
        try:
            return Severity.parse(value)
        except ValueError as exc:
            raise self.error(path, str(exc)) from None

    def code(self, value: str, registry: Registry, path: str) -> str:
        """An exact rule code (as in ``rules:`` and ``severity:`` keys)."""
        if value in registry:
            return value
        raise self.error(path, unknown_code_message(value, registry))

    def prefixes(self, value: Any, registry: Registry, path: str) -> tuple[str, ...]:
        """Code prefixes (``"DW"``, ``"QF003"``, ``"ALL"``) that each match a rule."""
        items = self.string_list(value, path)
        for i, prefix in enumerate(items):
            problem = prefix_problem(prefix, registry)
            if problem:
                raise self.error(f"{path}[{i}]", problem)
        return items

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

    def rules_section(self, value: Any, registry: Registry, path: str) -> dict[str, dict[str, Any]]:
        """``{CODE: {option: value}}`` with every code, option and value checked."""
        out: dict[str, dict[str, Any]] = {}
        for code, opts in self.mapping(value, path).items():
            where = _join(path, code)
            rule = registry[self.code(code, registry, where)]
            checked: dict[str, Any] = {}
            for name, raw in self.mapping(opts, where).items():
                known = {o.name: o for o in rule.options}
                if name not in known:
                    names = ", ".join(known) or "none"
                    raise self.error(
                        _join(where, name),
                        f"unknown option for {code} {rule.name} (options: {names})",
                    )
                try:
                    checked[name] = known[name].validate(raw)
                except ValueError as exc:
                    raise self.error(_join(where, name), str(exc)) from None
            out[code] = checked
        return out

    def severity_section(self, value: Any, registry: Registry, path: str) -> dict[str, Severity]:
        out: dict[str, Severity] = {}
        for code, level in self.mapping(value, path).items():
            where = _join(path, code)
            out[self.code(code, registry, where)] = self.severity(level, where)
        return out


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _describe(value: Any) -> str:
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


def unknown_code_message(code: str, registry: Registry) -> str:
    if code in RESERVED_CODES:
        return f"{code} is not a rule and cannot be configured"
    close = registry.close_matches(code)
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    return f"unknown rule code {code!r}{hint}; `convscope rule` lists the rules"


def prefix_problem(prefix: str, registry: Registry) -> str | None:
    """Why ``prefix`` cannot select rules, or None when it matches at least one."""
    if prefix == "ALL" or registry.matching(prefix):
        return None
    if prefix.upper() != prefix and registry.matching(prefix.upper()):
        return f"rule codes are upper case: use {prefix.upper()!r}, not {prefix!r}"
    return unknown_code_message(prefix, registry)


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
        raise ValueError(f"expected a size such as 25M or 64MiB, got {_describe(value)}")
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
