"""The sections an analysis knows by name, for callers that name them.

Each section has one typed key, declared by the package that produces it (see
:mod:`convscope.sections`). Names are accepted only where sections come in from a caller, by
:func:`as_key`: the keys of ``Analysis(extras=...)`` (so ``dataclasses.replace`` too), of
``with_extra`` and of the lint engine's ``providers`` may be the names of the keys in
:data:`ALL` — the sections of the packages below this one (``"receptive_field"``,
``"quant"``, ``"calibration"``, ``"roofline"``, ``"latency"``, ``"weights"``); the
sections of the packages above (``profile``, ``rf_verify``, ``erf``, ``crosscheck``) come
in by their keys. An unknown name is refused. Inside convscope every
section is named by its key (``tests/analysis/test_sections.py`` checks).

A section of your own is one more key (``SectionKey("mine", Mine)``, the name unused by
the keys in :data:`ALL`); attached with ``with_section``, a value with ``summary_dict()``
/ ``layer_dict(path)`` appears in the JSON document like the built-in ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from convscope.passes.keys import CALIBRATION, QUANT, RECEPTIVE_FIELD
from convscope.sections import WEIGHTS, SectionKey, index
from convscope.targets.keys import LATENCY, ROOFLINE

__all__ = ["ALL", "as_key", "checked"]

#: The keys known by name, each name once.
ALL: tuple[SectionKey[Any], ...] = (
    RECEPTIVE_FIELD,
    QUANT,
    CALIBRATION,
    ROOFLINE,
    LATENCY,
    WEIGHTS,
)

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
