"""What a lint run produces: severities, findings, budget results and the per-model result.

Everything here is a frozen value object with no torch inside, so results can be compared,
sorted, serialised and cached. Renderers in :mod:`convscope.render` read these types only.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

#: Code of the pseudo-rule that reports a rule which raised instead of returning findings.
INTERNAL_ERROR_CODE = "CS000"
INTERNAL_ERROR_NAME = "internal-error"
#: Code of the pseudo-rule that reports an exceeded budget.
BUDGET_CODE = "BUDGET"
BUDGET_NAME = "budget-exceeded"
#: Code of the rule that reports ``# convscope: ignore[...]`` comments that silence nothing
#: (CS1xx is reserved for meta-rules about convscope's own configuration and comments).
UNUSED_SUPPRESSION_CODE = "CS100"


class Severity(str, enum.Enum):
    """How bad a finding is. ``OFF`` disables a rule; it never appears on a finding."""

    OFF = "off"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"

    @property
    def rank(self) -> int:
        """0 for off up to 3 for error, so severities compare by rank."""
        return _RANK[self]

    def at_least(self, other: Severity) -> bool:
        return self.rank >= other.rank

    @classmethod
    def parse(cls, text: str) -> Severity:
        """``"warning"`` → ``Severity.WARNING``; raises ``ValueError`` naming the choices."""
        try:
            return cls(text)
        except ValueError:
            choices = ", ".join(s.value for s in cls)
            raise ValueError(f"expected one of {choices}, got {text!r}") from None


_RANK = {Severity.OFF: 0, Severity.INFO: 1, Severity.WARNING: 2, Severity.ERROR: 3}


@dataclass(frozen=True, order=True)
class Location:
    """Where the offending layer is created in source: a file and a 1-based line."""

    file: Path
    line: int

    @property
    def third_party(self) -> bool:
        """True for files of installed packages (site-packages), which code-scanning tools
        cannot map onto the repository."""
        return any(part in ("site-packages", "dist-packages") for part in self.file.parts)

    def display(self, cwd: Path | None = None) -> str:
        """``path/to/model.py:12``, relative to ``cwd`` when the file lies inside it."""
        return f"{relative_path(self.file, cwd)}:{self.line}"


def relative_path(path: Path, cwd: Path | None = None) -> str:
    """``path`` relative to ``cwd`` (default: the current directory) when inside it, else as is."""
    base = (cwd or Path.cwd()).resolve()
    try:
        return path.resolve().relative_to(base).as_posix()
    except ValueError:
        return path.as_posix()


def fingerprint(model: str, layer: str, code: str) -> str:
    """A stable identity for a finding: the same model spec, layer and rule give the same hash.

    The message and measured values are left out on purpose, so changing a threshold or a
    channel count does not make an old finding look new (baselines and SARIF rely on this).
    """
    digest = hashlib.sha256(f"{model}\x00{layer}\x00{code}".encode()).hexdigest()
    return digest[:32]


Value = int | float | str | bool


@dataclass(frozen=True)
class Finding:
    """One problem in one layer of one model."""

    code: str
    name: str
    severity: Severity
    layer: str  # module path; "" is the root module (shown as "(root)")
    message: str  # states the measured values and the threshold
    values: Mapping[str, Value] = field(default_factory=dict, hash=False)
    suggestion: str | None = None
    rewrite: str | None = None  # a command that applies the fix, e.g. ``convscope rewrite ...``
    location: Location | None = None
    model: str = ""
    #: The rule's headline measurement (RF001 coverage, DW001 channels...), which baselines
    #: store so a finding that gets worse is reported again; None when the rule has none.
    value: float | None = None
    worse_if: str = "higher"  # "higher" or "lower": which direction of ``value`` is worse
    #: "layer" for findings about one layer, "model" for findings about the whole network
    #: (RF001): a model-level finding keeps its identity when layers are appended.
    scope: str = "layer"

    @property
    def layer_display(self) -> str:
        return self.layer or "(root)"

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.model, self.layer, self.code)

    @property
    def key(self) -> tuple[str, str, str]:
        """Model spec, layer path and rule code (what de-duplicates findings)."""
        return (self.model, self.layer, self.code)

    @property
    def anchor(self) -> str:
        """The layer a baseline keys this finding on: "" for model-level findings."""
        return "" if self.scope == "model" else self.layer

    def worse_than(self, accepted: float) -> bool:
        """True when ``value`` is measurably worse than the ``accepted`` (baselined) one."""
        if self.value is None:
            return False
        tol = 1e-9 * max(1.0, abs(accepted))
        return (
            self.value > accepted + tol
            if self.worse_if == "higher"
            else self.value < accepted - tol
        )


@dataclass(frozen=True)
class BudgetResult:
    """One budget line: a metric, its limit and the measured value."""

    metric: str  # "params", "macs", "peak_activation_bytes" or "latency" (predicted ms)
    limit: int | float
    actual: int | float

    @property
    def exceeded(self) -> bool:
        return self.actual > self.limit

    @property
    def share(self) -> float:
        """``actual / limit`` (how much of the budget is used)."""
        return self.actual / self.limit if self.limit else float("inf")

    def shown(self, value: int | float) -> str:
        """``25,557,032`` for counts and bytes, ``12.3 ms (predicted)`` for latency."""
        return f"{value:.4g} ms (predicted)" if self.metric == "latency" else f"{value:,}"


@dataclass(frozen=True)
class SkippedRule:
    """A selected rule that did not run, and why (e.g. it needs weights)."""

    code: str
    name: str
    reason: str


@dataclass(frozen=True)
class LintResult:
    """Everything one lint run found for one model."""

    model: str
    findings: tuple[Finding, ...]  # sorted; rule crashes appear as CS000 findings
    rules_run: tuple[str, ...] = ()  # codes of the rules that ran, in code order
    skipped: tuple[SkippedRule, ...] = ()
    budgets: tuple[BudgetResult, ...] = ()
    suppressed: int = 0  # findings hidden by the baseline
    ignored: int = 0  # findings dropped by per-module-ignores
    target: str = "generic"
    noqa: int = 0  # findings silenced by ``# convscope: ignore`` comments
    identity: str = ""  # normalized model identity (baselines); "" means ``model``
    #: Baseline entries (anchor layer, code) of this model that no finding matched.
    stale_baseline: tuple[tuple[str, str], ...] = ()

    @property
    def model_id(self) -> str:
        return self.identity or self.model

    @property
    def budget_findings(self) -> tuple[Finding, ...]:
        """Exceeded budgets as error findings (how SARIF, GitHub and JUnit show them)."""
        out = []
        for b in self.budgets:
            if b.exceeded:
                out.append(
                    Finding(
                        code=BUDGET_CODE,
                        name=BUDGET_NAME,
                        severity=Severity.ERROR,
                        layer="",
                        message=f"{b.metric} budget exceeded: {b.shown(b.actual)} > "
                        f"{b.shown(b.limit)} "
                        f"({100 * b.share:.1f}% of the budget)",
                        values={"metric": b.metric, "actual": b.actual, "limit": b.limit},
                        model=self.model,
                    )
                )
        return tuple(out)

    @property
    def all_findings(self) -> tuple[Finding, ...]:
        """Rule findings followed by exceeded budgets."""
        return self.findings + self.budget_findings

    @property
    def budget_exceeded(self) -> bool:
        return any(b.exceeded for b in self.budgets)

    def count(self, severity: Severity) -> int:
        return sum(1 for f in self.findings if f.severity is severity)

    def fails(self, fail_on: Severity) -> bool:
        """True when a finding is at or above ``fail_on`` or a budget is exceeded."""
        return self.budget_exceeded or any(f.severity.at_least(fail_on) for f in self.findings)


def summary_counts(results: Sequence[LintResult]) -> dict[str, int]:
    """Totals over several models: findings by severity, suppressed (baseline), noqa
    (inline comments), stale baseline entries, exceeded budgets."""
    findings = [f for r in results for f in r.findings]
    return {
        "findings": len(findings),
        "errors": sum(1 for f in findings if f.severity is Severity.ERROR),
        "warnings": sum(1 for f in findings if f.severity is Severity.WARNING),
        "info": sum(1 for f in findings if f.severity is Severity.INFO),
        "suppressed": sum(r.suppressed for r in results),
        "noqa": sum(r.noqa for r in results),
        "stale_baseline": sum(len(r.stale_baseline) for r in results),
        "budgets_exceeded": sum(1 for r in results for b in r.budgets if b.exceeded),
    }


def summary_line(results: Sequence[LintResult]) -> str:
    """``"3 findings (0 errors, 2 warnings, 1 info)"`` plus suppressed / budget notes."""
    c = summary_counts(results)
    noun = "finding" if c["findings"] == 1 else "findings"
    text = (
        f"{c['findings']} {noun} ({c['errors']} error{'s' * (c['errors'] != 1)}, "
        f"{c['warnings']} warning{'s' * (c['warnings'] != 1)}, {c['info']} info)"
    )
    if c["suppressed"]:
        text += f"; {c['suppressed']} suppressed by the baseline"
    if c["noqa"]:
        text += f"; {c['noqa']} silenced by inline comments"
    if c["stale_baseline"]:
        n = c["stale_baseline"]
        text += f"; {n} stale baseline entr{'ies' if n != 1 else 'y'}"
    if c["budgets_exceeded"]:
        text += f"; {c['budgets_exceeded']} budget{'s' * (c['budgets_exceeded'] != 1)} exceeded"
    return text


@dataclass(frozen=True)
class Statistic:
    """How often one rule fired over a lint run (``convscope lint --statistics``)."""

    code: str
    name: str
    count: int
    severity: Severity  # the highest severity among its findings


def statistics(results: Sequence[LintResult]) -> tuple[Statistic, ...]:
    """Findings counted per rule code (exceeded budgets included), most frequent first."""
    per: dict[str, list[Finding]] = {}
    for r in results:
        for f in r.all_findings:
            per.setdefault(f.code, []).append(f)
    stats = [
        Statistic(code, fs[0].name, len(fs), max((f.severity for f in fs), key=lambda s: s.rank))
        for code, fs in per.items()
    ]
    return tuple(sorted(stats, key=lambda s: (-s.count, s.code)))
