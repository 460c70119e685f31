"""The rule base class, typed rule options and the context a rule reads.

A rule is a small class: a stable ``code`` (``DW001``), a kebab-case ``name``, a default
severity, a one-line ``summary``, typed ``options`` with documented defaults, the extra
analyses it ``requires`` and a ``check`` method that yields :class:`Finding` objects::

    class NarrowDepthwise(Rule):
        code = "DW001"
        name = "narrow-depthwise"
        default_severity = Severity.WARNING
        summary = "Depthwise conv with too few channels or without an expansion before it"
        options = (Option("min_channels", int, 32, "Smallest acceptable width.",
                          profile_key="min-depthwise-channels", minimum=1),)

        def check(self, ctx: RuleContext) -> Iterator[Finding]:
            for node in ctx.flow.depthwise_convs():
                ...
                yield ctx.finding(node, "message with measured values and threshold")

Rules read the frozen IR and the analysis only: they never import torch, and they dispatch
on :class:`~convscope.ir.graph.OpKind` and attrs types, never on module class names.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from convscope.analysis.build import Analysis
from convscope.ir import graph as ir
from convscope.ir.flow import Flow
from convscope.linting.finding import Finding, Location, Severity, Value
from convscope.sections import SectionKey
from convscope.validate import Option

if TYPE_CHECKING:
    from convscope.targets.profiles import Profile

T = TypeVar("T")

_CODE = re.compile(r"^[A-Z]{2,3}[0-9]{3}$")
_NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")


class Rule:
    """Base class of every lint rule. Subclasses set the class attributes and ``check``."""

    code: ClassVar[str]
    name: ClassVar[str]
    default_severity: ClassVar[Severity]
    summary: ClassVar[str]
    options: ClassVar[tuple[Option, ...]] = ()
    #: Sections the rule reads with :meth:`RuleContext.need` (keys of
    #: :mod:`convscope.sections`): ``frozenset({RECEPTIVE_FIELD})``. The engine
    #: computes them on demand or skips the rule with a note.
    requires: ClassVar[frozenset[SectionKey[Any]]] = frozenset()
    #: Sections the rule reads with :meth:`RuleContext.section` when they are available
    #: (``LATENCY`` on a target with a kernel model); the rule also runs without them.
    uses: ClassVar[frozenset[SectionKey[Any]]] = frozenset()
    #: The severity an off-by-default rule gets when it is selected by its exact code.
    enabled_severity: ClassVar[Severity] = Severity.WARNING
    #: ``(values key, "higher" | "lower")``: the measurement that becomes
    #: :attr:`Finding.value` and which direction of it is worse (baselines compare it).
    measure: ClassVar[tuple[str, str] | None] = None
    #: "model" when a finding is about the whole network rather than the layer it names.
    scope: ClassVar[str] = "layer"

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        """Yield findings for ``ctx.analysis`` (built with :meth:`RuleContext.finding`)."""
        raise NotImplementedError

    @classmethod
    def option(cls, name: str) -> Option:
        for opt in cls.options:
            if opt.name == name:
                return opt
        raise KeyError(f"{cls.code} has no option {name!r}")

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        return {o.name: o.default for o in cls.options}

    @classmethod
    def validate_definition(cls) -> None:
        """Raise ``ValueError`` when the class attributes are malformed (used by the registry)."""
        label = cls.__name__
        for attr in ("code", "name", "default_severity", "summary"):
            if not hasattr(cls, attr):
                raise ValueError(f"rule {label} does not define {attr!r}")
        if not _CODE.match(cls.code):
            raise ValueError(f"rule {label}: code {cls.code!r} must look like 'DW001'")
        if not _NAME.match(cls.name):
            raise ValueError(f"rule {cls.code}: name {cls.name!r} must be kebab-case")
        if not isinstance(cls.default_severity, Severity):
            raise ValueError(f"rule {cls.code}: default_severity must be a Severity")
        if not cls.summary or "\n" in cls.summary:
            raise ValueError(f"rule {cls.code}: summary must be one non-empty line")
        if cls.measure is not None and cls.measure[1] not in ("higher", "lower"):
            raise ValueError(f"rule {cls.code}: measure direction must be 'higher' or 'lower'")
        if cls.scope not in ("layer", "model"):
            raise ValueError(f"rule {cls.code}: scope must be 'layer' or 'model'")
        names = [o.name for o in cls.options]
        if len(set(names)) != len(names):
            raise ValueError(f"rule {cls.code}: duplicate option names {names}")
        for attr, keys in (("requires", cls.requires), ("uses", cls.uses)):
            for need in keys:
                if not isinstance(need, SectionKey):
                    raise ValueError(
                        f"rule {cls.code}: {attr} holds {need!r}, not a SectionKey "
                        f"(each package declares its keys in its keys module)"
                    )


@dataclass(frozen=True)
class RuleContext:
    """What a rule sees: the analysis, its resolved options and severity, the target profile,
    the extra analyses it asked for, and dataflow helpers over the graph."""

    analysis: Analysis
    rule: Rule
    severity: Severity
    options: Mapping[str, Any]
    profile: Profile
    flow: Flow
    #: The sections provided for the rules, by key (read them with :meth:`need`).
    extras: Mapping[SectionKey[Any], Any] = field(default_factory=dict)
    #: How commands in findings (``convscope rewrite ...``) name the model; defaults to the
    #: model spec. Differs when a config lists a spec relative to the config file.
    command_model: str | None = None

    @property
    def graph(self) -> ir.Graph:
        return self.analysis.graph

    @property
    def model(self) -> str:
        return self.analysis.model

    def option(self, name: str) -> Any:
        return self.options[name]

    def need(self, key: SectionKey[T]) -> T:
        """The ``key`` section this rule declared in ``requires`` (the engine provides each
        one before ``check`` runs, or skips the rule); LookupError for an undeclared one."""
        if key not in self.rule.requires:
            raise LookupError(f"rule {self.rule.code} reads {key.name!r} without requiring it")
        value: T = self.extras[key]
        return value

    def section(self, key: SectionKey[T]) -> T | None:
        """The ``key`` section this rule declared in ``uses``, or None when this run has
        none (the rule then behaves as without it); LookupError for an undeclared one."""
        if key not in self.rule.uses:
            raise LookupError(f"rule {self.rule.code} reads {key.name!r} without using it")
        value: T | None = self.extras.get(key)
        return value

    def finding(
        self,
        where: ir.Node | str,
        message: str,
        *,
        values: Mapping[str, Value] | None = None,
        suggestion: str | None = None,
        rewrite: str | None = None,
    ) -> Finding:
        """A finding of this rule for a node (its owning layer) or a layer path."""
        layer = where.module if isinstance(where, ir.Node) else where
        location = None
        if isinstance(where, ir.Node) and where.call_site is not None:
            info = self.graph.module.get(where.module)
            if info is None or not info.is_leaf:  # a functional call in a forward
                location = Location(Path(where.call_site[0]), where.call_site[1])
        values = dict(values or {})
        measure = self.rule.measure
        value = values.get(measure[0]) if measure else None
        return Finding(
            code=self.rule.code,
            name=self.rule.name,
            severity=self.severity,
            layer=layer,
            message=message,
            values=values,
            suggestion=suggestion,
            rewrite=rewrite,
            model=self.model,
            value=float(value)
            if isinstance(value, (int, float)) and not isinstance(value, bool)
            else None,
            worse_if=measure[1] if measure else "higher",
            scope=self.rule.scope,
            location=location,
        )

    def rewrite_command(self, layers: Sequence[str], mode: str = "separable") -> str | None:
        """The ``convscope rewrite`` command that applies a rewrite to ``layers``; None when
        a layer is no module (a functional call, which a rewrite cannot replace)."""
        if any(not layer or layer not in self.graph.module for layer in layers):
            return None
        model = self.command_model or self.model
        only = " ".join(f"--only {_quote(layer)}" for layer in layers)
        return f"convscope rewrite {_quote(model)} {only} --mode {mode}"


def _quote(text: str) -> str:
    if re.fullmatch(r"[A-Za-z0-9_./:,=@+-]+", text):
        return text
    return "'" + text.replace("'", "'\"'\"'") + "'"
