"""CS100 unused-suppression: a ``# convscope: ignore`` comment that silences nothing."""

from __future__ import annotations

from collections.abc import Iterator

from convscope.linting.finding import UNUSED_SUPPRESSION_CODE, Finding, Severity
from convscope.linting.rule import Rule, RuleContext


class UnusedSuppression(Rule):
    """Suppression comments that silence nothing (docs: the README in the rule catalog).

    The engine reports these after every other rule has run (see
    :mod:`convscope.linting.suppress`): only then is it known which comments were used, so
    :meth:`check` itself finds nothing.
    """

    code = UNUSED_SUPPRESSION_CODE
    name = "unused-suppression"
    default_severity = Severity.WARNING
    summary = "Inline `# convscope: ignore` comment that silences no finding"

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        return iter(())
