"""Target profiles: what "good" means on a given kind of hardware.

A profile (``rules/profiles/<name>.yaml``) holds a description, the hardware facts rules
read (channel alignment multiple, minimum depthwise width, activations an INT8 pipeline
handles badly, whether weights are quantized ``per-tensor`` or ``per-channel``, an ``int8``
flag, roofline peak FLOP/s and bandwidth where a public figure
exists), and overrides: rule options (``rules``) and severities (``severity``). Profiles
are validated with the same code as user configs (:mod:`convscope.validate`).

Precedence of a rule option, lowest first: the rule's default, the profile field bound to it
(``Option.profile_key``), the profile's ``rules`` section, the user config's ``rules``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from convscope.linting import catalog as data
from convscope.linting.finding import Severity
from convscope.linting.registry import Registry, default_registry
from convscope.linting.rule import Option
from convscope.targets.kernels import KernelModel, KernelsError, parse_kernels
from convscope.validate import TOO_DEEP, ConfigError, Where, yaml_problem

DEFAULT_TARGET = "generic"

#: Profile fields that rule options can bind to (``Option.profile_key``), with a basic type
#: used when no registered rule binds the field.
PROFILE_FIELDS: Mapping[str, Option] = MappingProxyType(
    {
        "channel-alignment": Option("channel_alignment", int, 1, minimum=1),
        "min-depthwise-channels": Option("min_depthwise_channels", int, 1, minimum=1),
        "unfriendly-activations": Option("unfriendly_activations", list, []),
        "weights": Option("weights", str, "per-tensor", choices=("per-tensor", "per-channel")),
    }
)
_TOP_KEYS = (
    "description",
    "device",
    "int8",
    "roofline",
    "kernels",
    "severity",
    "rules",
    *PROFILE_FIELDS,
)
#: Device kinds a profile can describe (``device:``); the roofline warns when a measurement
#: ran on another kind.
DEVICES = ("cpu", "cuda")
_ROOFLINE_KEYS = ("peak-flops", "bandwidth", "source")


@dataclass(frozen=True)
class Roofline:
    """Peak compute (FLOP/s) and memory bandwidth (bytes/s); None where no public figure."""

    peak_flops: float | None = None
    bandwidth: float | None = None
    source: str | None = None

    @property
    def ridge_point(self) -> float | None:
        """FLOPs per byte above which a kernel is compute-bound."""
        if self.peak_flops and self.bandwidth:
            return self.peak_flops / self.bandwidth
        return None


@dataclass(frozen=True)
class Profile:
    name: str
    description: str = ""
    device: str | None = None  # "cpu" / "cuda": what the roofline figures describe
    int8: bool = False
    fields: Mapping[str, Any] = field(default_factory=dict)  # PROFILE_FIELDS values it sets
    roofline: Roofline = Roofline()
    rules: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    severity: Mapping[str, Severity] = field(default_factory=dict)
    path: Path | None = None
    # Measured kernel samples (``convscope profile --calibrate --kernels``): latency model.
    kernels: KernelModel | None = None


def available_profiles() -> list[str]:
    """Names of the shipped profiles, sorted."""
    return sorted(p.stem for p in data.profiles_dir().glob("*.yaml"))


def profile_path(name: str) -> Path:
    """The file of a profile name, or of a path to a custom ``.yaml`` profile."""
    candidate = Path(name)
    if candidate.suffix in (".yaml", ".yml") and candidate.is_file():
        return candidate
    path = data.profiles_dir() / f"{name}.yaml"
    if not path.is_file():
        names = ", ".join(available_profiles())
        raise ConfigError(f"unknown target {name!r}; available targets: {names}")
    return path


def resolve_target(target: str | Profile | None, registry: Registry | None = None) -> Profile:
    """The one way every command turns ``--target`` into a :class:`Profile`: a profile
    passes through, None is :data:`DEFAULT_TARGET`, anything else is a shipped name or a
    path to a ``.yaml`` profile (:func:`load_profile`). Use the resolved profile itself
    afterwards, never its ``name``: a file's name is not a shipped target."""
    if isinstance(target, Profile):
        return target
    return load_profile(target or DEFAULT_TARGET, registry)


def roofline_params(profile: Profile) -> Any:
    """The profile's :class:`~convscope.targets.roofline.RooflineParams`, or None when it
    has no figures (``peak-flops`` / ``bandwidth`` null)."""
    from convscope.targets.roofline import RooflineParams

    roof = profile.roofline
    if roof.peak_flops is None or roof.bandwidth is None:
        return None
    return RooflineParams(
        roof.peak_flops,
        roof.bandwidth,
        name=profile.name,
        source=roof.source,
        device=profile.device,
    )


def load_profile(name: str, registry: Registry | None = None) -> Profile:
    """Load and validate a profile by name (``generic``) or path (``my-npu.yaml``).

    Profiles describe the shipped rule catalog, so their rule codes and options are checked
    against :func:`default_registry` unless another registry is given; a lint run with a
    smaller registry (tests) simply ignores entries for rules it does not have.
    """
    registry = registry if registry is not None else default_registry()
    path = profile_path(name)
    label = path.name if path.parent == data.profiles_dir() else str(path)
    where = Where(f"profile {label}")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise where.error("", f"malformed YAML: {yaml_problem(exc)}") from None
    except OSError as exc:
        raise where.error("", f"cannot read: {exc.strerror}") from None
    except RecursionError:
        raise where.error("", TOO_DEEP) from None
    try:
        return parse_profile(raw, path.stem, where, registry, path)
    except RecursionError:
        raise where.error("", TOO_DEEP) from None


def parse_profile(
    raw: Any, name: str, where: Where, registry: Registry, path: Path | None = None
) -> Profile:
    doc = where.mapping(raw, "")
    where.keys(doc, _TOP_KEYS, "")
    description = doc.get("description", "")
    if not isinstance(description, str):
        raise where.error("description", "expected a string")
    device = doc.get("device")
    if device is not None and device not in DEVICES:
        raise where.error("device", f"expected one of {', '.join(DEVICES)}, got {device!r}")
    int8 = doc.get("int8", False)
    if not isinstance(int8, bool):
        raise where.error("int8", f"expected bool, got {int8!r}")
    fields: dict[str, Any] = {}
    for key, base in PROFILE_FIELDS.items():
        if key not in doc:
            continue
        bound = [o for r in registry.values() for o in r.options if o.profile_key == key]
        value = doc[key]
        for opt in bound or [base]:
            try:
                value = opt.validate(doc[key])
            except ValueError as exc:
                raise where.error(key, str(exc)) from None
        fields[key] = value
    roof = where.mapping(doc.get("roofline"), "roofline")
    where.keys(roof, _ROOFLINE_KEYS, "roofline")
    numbers: dict[str, float | None] = {}
    for key in ("peak-flops", "bandwidth"):
        v = roof.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or v <= 0):
            raise where.error(f"roofline.{key}", f"expected a positive number or null, got {v!r}")
        numbers[key] = float(v) if v is not None else None
    source = roof.get("source")
    if source is not None and not isinstance(source, str):
        raise where.error("roofline.source", "expected a string")
    kernels = None
    if doc.get("kernels") is not None:
        try:
            kernels = parse_kernels(doc["kernels"])
        except KernelsError as exc:
            raise where.error(f"kernels.{exc.path}".rstrip("."), str(exc)) from None
    return Profile(
        name=name,
        description=description,
        device=device,
        int8=int8,
        fields=MappingProxyType(fields),
        roofline=Roofline(numbers["peak-flops"], numbers["bandwidth"], source),
        rules=MappingProxyType(where.rules_section(doc.get("rules"), registry, "rules")),
        severity=MappingProxyType(
            where.severity_section(doc.get("severity"), registry, "severity")
        ),
        path=path,
        kernels=kernels,
    )
