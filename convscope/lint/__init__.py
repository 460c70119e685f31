"""convscope's linter: rules over the frozen graph and analysis, a registry, configuration,
target profiles, baselines and source locations.

Library use::

    import convscope
    from convscope.lint import lint, load_settings

    analysis = convscope.analyze(model, (1, 3, 224, 224))
    result = lint(analysis, load_settings(default_registry()), module=model)
    for f in result.findings:
        print(f.code, f.layer, f.message)

Nothing in this package imports torch, rich or click: rules read the IR and the analysis,
and renderers live in :mod:`convscope.reporters`.

The package itself is callable: ``convscope.lint(analysis, ...)`` is
:func:`convscope.lint.engine.lint`, so the top-level name works both as the library
function and as this package.
"""

from __future__ import annotations

import sys
import types
from typing import Any

from convscope.lint.config import Budgets, ModelEntry, Settings, find_config, load_settings
from convscope.lint.engine import check_budgets, lint
from convscope.lint.finding import (
    BudgetResult,
    Finding,
    LintResult,
    Location,
    Severity,
    SkippedRule,
    summary_counts,
    summary_line,
)
from convscope.lint.registry import Registry, default_registry
from convscope.lint.rule import Option, Rule, RuleContext
from convscope.lint.schema import ConfigError

__all__ = [
    "BudgetResult",
    "Budgets",
    "ConfigError",
    "Finding",
    "LintResult",
    "Location",
    "ModelEntry",
    "Option",
    "Registry",
    "Rule",
    "RuleContext",
    "Settings",
    "Severity",
    "SkippedRule",
    "check_budgets",
    "default_registry",
    "find_config",
    "lint",
    "load_settings",
    "summary_counts",
    "summary_line",
]


class _CallableModule(types.ModuleType):
    """Lets ``convscope.lint(analysis)`` call :func:`lint` although ``convscope.lint`` is
    this package once it has been imported."""

    def __call__(self, *args: Any, **kwargs: Any) -> LintResult:
        return lint(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
