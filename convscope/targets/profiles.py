"""Target profiles: what "good" means on a given kind of hardware.

A profile (``rules/profiles/<name>.yaml``) holds a description, the hardware facts rules
read (channel alignment multiple, minimum depthwise width, activations an INT8 pipeline
handles badly, whether weights are quantized ``per-tensor`` or ``per-channel``, an ``int8``
flag, roofline peak FLOP/s and bandwidth where a public figure exists, a kernel model
measured on the device: ``kernels``, see :mod:`convscope.targets.kernels`), and overrides:
rule options (``rules``) and severities (``severity``). Profiles are validated with the
same code as user configs (:mod:`convscope.validate`); this module checks what a profile
says about the hardware, and the linter checks its rule codes, options and severities
against the rules it has (:mod:`convscope.linting.profiles`, which ``load_profile`` and
``resolve_target`` come from).

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

from convscope import catalog as data
from convscope.targets.kernels import KernelModel, KernelsError, parse_kernels
from convscope.targets.roofline import RooflineParams
from convscope.validate import TOO_DEEP, ConfigError, Option, Where, yaml_problem

DEFAULT_TARGET = "generic"

#: Profile fields that rule options can bind to (``Option.profile_key``), with their basic
#: type (a rule that binds a field checks it again with its own option).
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
    # rule code → options, and rule code → severity: as read here (mappings, the levels
    # strings), checked against the rules by the linter (options validated, Severity levels)
    rules: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    severity: Mapping[str, Any] = field(default_factory=dict)
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


def roofline_params(profile: Profile) -> Any:
    """The profile's :class:`~convscope.targets.roofline.RooflineParams`, or None when it
    has no figures (``peak-flops`` / ``bandwidth`` null)."""
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


# Safe either way: neither loader builds Python objects from tags.
_SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def profile_label(path: Path) -> str:
    """How errors name a profile file: a shipped one by its file name, others by path."""
    return path.name if path.parent == data.profiles_dir() else str(path)


def read_profile(name: str) -> Profile:
    """Read a profile by name (``generic``) or path (``my-npu.yaml``), its hardware fields
    checked; its ``rules`` and ``severity`` sections only checked to be mappings."""
    path = profile_path(name)
    where = Where(f"profile {profile_label(path)}")
    try:
        # libyaml's safe loader where PyYAML has it: the same documents, parsed 7× faster
        # (a kernel model's thousands of sample rows took a second in pure Python).
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_SAFE_LOADER)
    except yaml.YAMLError as exc:
        # libyaml stops deep nesting itself, where the Python parser runs out of stack.
        if "nesting depth" in str(getattr(exc, "problem", "")):
            raise where.error("", TOO_DEEP) from None
        raise where.error("", f"malformed YAML: {yaml_problem(exc)}") from None
    except OSError as exc:
        raise where.error("", f"cannot read: {exc.strerror}") from None
    except RecursionError:
        raise where.error("", TOO_DEEP) from None
    try:
        return parse_profile(raw, path.stem, where, path)
    except RecursionError:
        raise where.error("", TOO_DEEP) from None


def parse_profile(raw: Any, name: str, where: Where, path: Path | None = None) -> Profile:
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
        try:
            fields[key] = base.validate(doc[key])
        except ValueError as exc:
            raise where.error(key, str(exc)) from None
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
        rules=MappingProxyType(dict(where.mapping(doc.get("rules"), "rules"))),
        severity=MappingProxyType(dict(where.mapping(doc.get("severity"), "severity"))),
        path=path,
        kernels=kernels,
    )
