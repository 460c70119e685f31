"""The rule registry: every rule, by code and by name, built once and read-only afterwards.

:func:`default_registry` imports every module of :mod:`convscope.linting.rules` (one module per
rule, each defining one :class:`~convscope.linting.rule.Rule` subclass), so adding a rule is
adding a file. A :class:`Registry` refuses duplicate codes and duplicate names; tests build
their own registries (e.g. with a deliberately broken rule) without touching the default one.
"""

from __future__ import annotations

import difflib
import importlib
import pkgutil
from collections.abc import Iterable, Iterator, Mapping
from functools import cache
from types import MappingProxyType

from convscope.linting.finding import BUDGET_CODE, INTERNAL_ERROR_CODE
from convscope.linting.rule import Rule

#: Codes that are not rules but can appear on findings; they cannot be selected or ignored.
RESERVED_CODES = frozenset({INTERNAL_ERROR_CODE, BUDGET_CODE})


class Registry(Mapping[str, Rule]):
    """An immutable mapping code → rule instance, ordered by code."""

    def __init__(self, rules: Iterable[type[Rule] | Rule]) -> None:
        by_code: dict[str, Rule] = {}
        by_name: dict[str, Rule] = {}
        for item in rules:
            rule = item() if isinstance(item, type) else item
            type(rule).validate_definition()
            if rule.code in RESERVED_CODES:
                raise ValueError(f"rule code {rule.code} is reserved")
            if rule.code in by_code:
                raise ValueError(
                    f"duplicate rule code {rule.code}: "
                    f"{type(by_code[rule.code]).__name__} and {type(rule).__name__}"
                )
            if rule.name in by_name:
                raise ValueError(
                    f"duplicate rule name {rule.name!r}: {by_name[rule.name].code} and {rule.code}"
                )
            by_code[rule.code] = rule
            by_name[rule.name] = rule
        self._by_code = MappingProxyType(dict(sorted(by_code.items())))
        self._by_name = MappingProxyType(by_name)

    def __getitem__(self, code: str) -> Rule:
        return self._by_code[code]

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_code)

    def __len__(self) -> int:
        return len(self._by_code)

    def by_name(self, name: str) -> Rule | None:
        return self._by_name.get(name)

    def lookup(self, code_or_name: str) -> Rule | None:
        """A rule by exact code (any case) or kebab-case name."""
        return self._by_code.get(code_or_name.upper()) or self._by_name.get(code_or_name.lower())

    def matching(self, prefix: str) -> list[Rule]:
        """Rules whose code starts with ``prefix`` (``"ALL"`` matches every rule)."""
        if prefix == "ALL":
            return list(self._by_code.values())
        return [r for c, r in self._by_code.items() if c.startswith(prefix)]

    def close_matches(self, text: str, n: int = 3) -> list[str]:
        """Codes and names that look like ``text``, for "did you mean" messages."""
        upper = text.upper()
        prefixed = [c for c in self._by_code if c.startswith(upper[:2])] if len(upper) >= 2 else []
        fuzzy = difflib.get_close_matches(upper, list(self._by_code), n=n, cutoff=0.5)
        names = difflib.get_close_matches(text.lower(), list(self._by_name), n=n, cutoff=0.6)
        out = list(dict.fromkeys(fuzzy + [self._by_name[m].code for m in names] + prefixed))
        return out[:n]


def _discover() -> list[type[Rule]]:
    package = importlib.import_module("convscope.linting.rules")
    found: list[type[Rule]] = []
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        classes = [
            v
            for v in vars(module).values()
            if isinstance(v, type)
            and issubclass(v, Rule)
            and v is not Rule
            and v.__module__ == module.__name__
            and "code" in vars(v)
        ]
        if len(classes) != 1:
            raise ValueError(
                f"{module.__name__} must define exactly one rule, found "
                f"{[c.__name__ for c in classes]}"
            )
        found.append(classes[0])
    return found


@cache
def default_registry() -> Registry:
    """Every rule shipped with convscope (built on first use, then cached)."""
    return Registry(_discover())
