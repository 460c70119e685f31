"""Target profiles as the linter uses them: read by :mod:`convscope.targets.profiles`, then
their rule codes, rule options (those in ``rules`` and the hardware fields a rule option is
bound to) and severities checked against the rules, as a user config's are."""

from __future__ import annotations

import dataclasses
from types import MappingProxyType

from convscope.linting import validation
from convscope.linting.registry import Registry, default_registry
from convscope.targets.profiles import DEFAULT_TARGET, Profile, profile_label, read_profile
from convscope.validate import TOO_DEEP, Where

__all__ = ["check_profile", "load_profile", "resolve_target"]


def check_profile(profile: Profile, registry: Registry) -> Profile:
    """``profile`` with its rule options validated and its severities parsed; ConfigError
    naming the file and key for a code, option or value the rules do not accept."""
    label = profile_label(profile.path) if profile.path is not None else profile.name
    where = Where(f"profile {label}")
    fields = dict(profile.fields)
    for key, value in profile.fields.items():
        for opt in (o for r in registry.values() for o in r.options if o.profile_key == key):
            try:
                fields[key] = opt.validate(value)
            except ValueError as exc:
                raise where.error(key, str(exc)) from None
    try:
        rules = validation.rules_section(where, dict(profile.rules), registry, "rules")
        severity = validation.severity_section(where, dict(profile.severity), registry, "severity")
    except RecursionError:
        raise where.error("", TOO_DEEP) from None
    return dataclasses.replace(
        profile,
        fields=MappingProxyType(fields),
        rules=MappingProxyType(rules),
        severity=MappingProxyType(severity),
    )


def load_profile(name: str, registry: Registry | None = None) -> Profile:
    """Load and validate a profile by name (``generic``) or path (``my-npu.yaml``).

    Profiles describe the shipped rule catalog, so their rule codes and options are checked
    against :func:`default_registry` unless another registry is given; a lint run with a
    smaller registry (tests) simply ignores entries for rules it does not have.
    """
    registry = registry if registry is not None else default_registry()
    return check_profile(read_profile(name), registry)


def resolve_target(target: str | Profile | None, registry: Registry | None = None) -> Profile:
    """The one way every command turns ``--target`` into a :class:`Profile`: a profile
    passes through, None is :data:`DEFAULT_TARGET`, anything else is a shipped name or a
    path to a ``.yaml`` profile (:func:`load_profile`). Use the resolved profile itself
    afterwards, never its ``name``: a file's name is not a shipped target."""
    if isinstance(target, Profile):
        return target
    return load_profile(target or DEFAULT_TARGET, registry)
