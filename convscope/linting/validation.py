"""The rule-aware half of config validation: rule codes, code prefixes, severities and rule
options, checked against a :class:`~convscope.linting.registry.Registry` for user configs
and target profiles alike. Errors name the file and the key path through
:class:`~convscope.validate.Where`, as every other check of those files does."""

from __future__ import annotations

from typing import Any

from convscope.linting.finding import Severity
from convscope.linting.registry import RESERVED_CODES, Registry
from convscope.validate import Where, describe_value, join_path

__all__ = [
    "code",
    "prefix_problem",
    "prefixes",
    "rules_section",
    "severity",
    "severity_section",
    "unknown_code_message",
]


def severity(where: Where, value: Any, path: str) -> Severity:
    if value is False:  # YAML 1.1 reads an unquoted `off` as false
        value = "off"
    if not isinstance(value, str):
        raise where.error(path, f"expected a severity string, got {describe_value(value)}")
    try:
        return Severity.parse(value)
    except ValueError as exc:
        raise where.error(path, str(exc)) from None


def code(where: Where, value: str, registry: Registry, path: str) -> str:
    """An exact rule code (as in ``rules:`` and ``severity:`` keys)."""
    if value in registry:
        return value
    raise where.error(path, unknown_code_message(value, registry))


def prefixes(where: Where, value: Any, registry: Registry, path: str) -> tuple[str, ...]:
    """Code prefixes (``"DW"``, ``"QF003"``, ``"ALL"``) that each match a rule."""
    items = where.string_list(value, path)
    for i, prefix in enumerate(items):
        problem = prefix_problem(prefix, registry)
        if problem:
            raise where.error(f"{path}[{i}]", problem)
    return items


def rules_section(
    where: Where, value: Any, registry: Registry, path: str
) -> dict[str, dict[str, Any]]:
    """``{CODE: {option: value}}`` with every code, option and value checked."""
    out: dict[str, dict[str, Any]] = {}
    for rule_code, opts in where.mapping(value, path).items():
        at = join_path(path, rule_code)
        rule = registry[code(where, rule_code, registry, at)]
        checked: dict[str, Any] = {}
        for name, raw in where.mapping(opts, at).items():
            known = {o.name: o for o in rule.options}
            if name not in known:
                names = ", ".join(known) or "none"
                raise where.error(
                    join_path(at, name),
                    f"unknown option for {rule_code} {rule.name} (options: {names})",
                )
            try:
                checked[name] = known[name].validate(raw)
            except ValueError as exc:
                raise where.error(join_path(at, name), str(exc)) from None
        out[rule_code] = checked
    return out


def severity_section(
    where: Where, value: Any, registry: Registry, path: str
) -> dict[str, Severity]:
    out: dict[str, Severity] = {}
    for rule_code, level in where.mapping(value, path).items():
        at = join_path(path, rule_code)
        out[code(where, rule_code, registry, at)] = severity(where, level, at)
    return out


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
