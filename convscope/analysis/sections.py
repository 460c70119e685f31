"""Typed keys of the optional sections an analysis carries.

A section is a result a later pass attaches to an :class:`~convscope.analysis.build.Analysis`
(the receptive field, the quantization report, measured latency...) or that the lint engine
hands to the rules that ``require`` it (the target's roofline figures, the model's
weights). Each one has exactly one :class:`SectionKey` here, and every reader and writer
uses the key object, never its name::

    rf = analysis.section(RECEPTIVE_FIELD)        # ReceptiveField | None
    analysis = analysis.with_section(ERF, erf)    # a new Analysis; refuses a wrong type

A key's ``name`` is the section's field in the JSON document (``receptive_field``,
``profile``...). Its ``type`` is the class of the value, or ``"module:qualname"`` resolved
on first use, so that this module imports nothing at run time (no torch, no import cycle):
the typed imports below exist for type checkers only.

A section of your own is one more key (``SectionKey("mine", Mine)``, the name unused by
the keys in :data:`ALL`); attached with ``with_section``, a value with ``summary_dict()``
/ ``layer_dict(path)`` appears in the JSON document like the built-in ones.

Names are accepted only where sections come in from a caller, by :func:`as_key`: the
keys of ``Analysis(extras=...)`` (so ``dataclasses.replace`` too), of ``with_extra`` and of
the lint engine's ``providers`` may be the names of the keys in :data:`ALL`, as they were
before the keys existed (``"receptive_field"``); an unknown name is refused. Inside
convscope every section is named by its key (``tests/analysis/test_sections.py`` checks).
"""

from __future__ import annotations

import builtins
import importlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from convscope.checks.crosscheck import CrossCheck
    from convscope.checks.rf_verify import ERFResult, VerifyResult
    from convscope.passes.quant.structure import ActivationStats, QuantReport
    from convscope.passes.receptive.structure import ReceptiveField
    from convscope.profiling.run import ProfileSection
    from convscope.targets.latency import LatencyPrediction
    from convscope.targets.roofline import RooflineParams

__all__ = [
    "ALL",
    "CALIBRATION",
    "CROSSCHECK",
    "ERF",
    "LATENCY",
    "PROFILE",
    "QUANT",
    "RECEPTIVE_FIELD",
    "RF_VERIFY",
    "ROOFLINE",
    "WEIGHTS",
    "SectionKey",
    "as_key",
    "checked",
]

T = TypeVar("T")


@dataclass(frozen=True)
class SectionKey(Generic[T]):
    """The key of one section: its JSON ``name`` and the ``type`` of its value (a class,
    or ``"module:qualname"`` imported when a value is first checked)."""

    name: str
    type: builtins.type[T] | str

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise ValueError(f"a section name is an identifier, got {self.name!r}")
        if isinstance(self.type, str) and self.type.count(":") != 1:
            raise ValueError(
                f"section {self.name!r}: type {self.type!r} must be a class or 'module:qualname'"
            )

    def resolve(self) -> builtins.type[T]:
        """The class of this section's value."""
        if not isinstance(self.type, str):
            return self.type
        module, _, qualname = self.type.partition(":")
        found: Any = importlib.import_module(module)
        for part in qualname.split("."):
            found = getattr(found, part)
        if not isinstance(found, builtins.type):
            raise TypeError(f"section {self.name!r}: {self.type} is not a class")
        return found

    def check(self, value: object) -> T:
        """``value`` when it is an instance of this key's type; TypeError otherwise."""
        cls = self.resolve()
        if not isinstance(value, cls):
            raise TypeError(
                f"section {self.name!r} holds a {cls.__module__}.{cls.__qualname__}, "
                f"got {builtins.type(value).__qualname__}"
            )
        return value

    def __repr__(self) -> str:
        return f"SectionKey({self.name!r})"


RECEPTIVE_FIELD: SectionKey[ReceptiveField] = SectionKey(
    "receptive_field", "convscope.passes.receptive.structure:ReceptiveField"
)
QUANT: SectionKey[QuantReport] = SectionKey("quant", "convscope.passes.quant.structure:QuantReport")
#: The activation ranges of a calibration run (also inside QUANT; rule QF005 reads this).
CALIBRATION: SectionKey[ActivationStats] = SectionKey(
    "calibration", "convscope.passes.quant.structure:ActivationStats"
)
PROFILE: SectionKey[ProfileSection] = SectionKey(
    "profile", "convscope.profiling.run:ProfileSection"
)
RF_VERIFY: SectionKey[VerifyResult] = SectionKey(
    "rf_verify", "convscope.checks.rf_verify:VerifyResult"
)
ERF: SectionKey[ERFResult] = SectionKey("erf", "convscope.checks.rf_verify:ERFResult")
CROSSCHECK: SectionKey[CrossCheck] = SectionKey(
    "crosscheck", "convscope.checks.crosscheck:CrossCheck"
)
#: The target profile's roofline figures (the lint engine fills it for the rules).
ROOFLINE: SectionKey[RooflineParams] = SectionKey(
    "roofline", "convscope.targets.roofline:RooflineParams"
)
#: Predicted latency on a target's kernel model (``analyze --target``), roofline beside it.
LATENCY: SectionKey[LatencyPrediction] = SectionKey(
    "latency", "convscope.targets.latency:LatencyPrediction"
)
#: The model's weights, a live module or a mapping name → tensor (a lint provider; the
#: engine measures QUANT from it).
WEIGHTS: SectionKey[object] = SectionKey("weights", object)

#: Every built-in key, each name once.
ALL: tuple[SectionKey[Any], ...] = (
    RECEPTIVE_FIELD,
    QUANT,
    CALIBRATION,
    PROFILE,
    RF_VERIFY,
    ERF,
    CROSSCHECK,
    ROOFLINE,
    LATENCY,
    WEIGHTS,
)


def index(keys: Iterable[SectionKey[Any]]) -> dict[str, SectionKey[Any]]:
    """Name → key; ValueError when two different keys share a name (one JSON field)."""
    out: dict[str, SectionKey[Any]] = {}
    for k in keys:
        other = out.setdefault(k.name, k)
        if other != k:
            raise ValueError(f"two sections are named {k.name!r}: {other.type} and {k.type}")
    return out


_BY_NAME = index(ALL)


def as_key(key: SectionKey[Any] | str) -> SectionKey[Any]:
    """``key`` itself, or the built-in key of that name (the one place a name is accepted)."""
    if isinstance(key, SectionKey):
        return key
    if isinstance(key, str):
        found = _BY_NAME.get(key)
        if found is not None:
            return found
        raise ValueError(
            f"unknown section {key!r}: the sections are {', '.join(sorted(_BY_NAME))}; "
            f"a new one needs its own SectionKey({key!r}, its type)"
        )
    raise TypeError(f"a section key is a SectionKey, got {type(key).__qualname__}")


def checked(sections: Mapping[Any, Any]) -> dict[SectionKey[Any], Any]:
    """``sections`` keyed by :class:`SectionKey` (names of built-in keys converted), every
    value checked against its key's type, every name used once and by one key (a key of
    your own cannot take a built-in name)."""
    out = {as_key(k): v for k, v in sections.items()}
    index((*ALL, *out))
    for k, v in out.items():
        k.check(v)
    return out
