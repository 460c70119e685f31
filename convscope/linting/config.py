"""User configuration: ``convscope.yaml``, ``.convscope.yaml`` or ``[tool.convscope]``.

The first of these found in the current directory or one of its parents is used (``--config
FILE`` names one explicitly). Keys (all optional)::

    models:                      # what `convscope lint` with no MODEL lints
      - spec: examples/resnet.py # paths are relative to the config file
        input: [[1, 3, 224, 224]]
        ignore: [RF005]          # added to `ignore` for this model only
        per-module-ignores: {"fc": [HW001]}   # added to the top-level ones for this model
    target: edge-int8            # a profile in rules/profiles/ (default: generic)
    select: [ALL]                # code prefixes; ALL = every rule that is not off
    extend-select: [AR003]       # added to select; an exact code turns on an off rule
    ignore: [DW003]
    per-module-ignores: {"features.0.*": [HW001]}   # glob on layer path → code prefixes
    severity: {PF002: warning}   # code → off|info|warning|error
    rules: {DW001: {min_channels: 16}}
    budgets: {params: 25M, macs: 4.1G, peak_activation_bytes: 64MiB}
                                 # latency: 12ms (predicted; needs a target with a kernel model)
    fail-on: warning             # info|warning|error

Unknown keys, unknown codes and options, values of the wrong type and malformed globs are
errors that name the file and the key path (exit code 2).

A ``models[].spec`` imports code when linted, so a *discovered* config (one found by
walking up from the current directory, which a checkout or a parent folder may plant) may
only name files under its own folder, ``torchvision:`` / ``timm:`` models, or
``pkg.module:NAME`` whose top-level package lives under that folder. A config given with
``--config`` is the user's explicit choice and may name any spec.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import math
import os
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import yaml

from convscope.linting import validation
from convscope.linting.baseline import split_file_spec
from convscope.linting.finding import Severity, relative_path
from convscope.linting.profiles import load_profile
from convscope.linting.registry import Registry
from convscope.linting.rule import Rule
from convscope.linting.validation import prefix_problem
from convscope.targets.profiles import DEFAULT_TARGET, Profile, profile_path
from convscope.validate import TOO_DEEP, ConfigError, Where, glob_problem, split_list, yaml_problem

if TYPE_CHECKING:  # annotations only: reading a config needs no torch
    from convscope.model.arguments import GivenInputs

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

CONFIG_NAMES = ("convscope.yaml", ".convscope.yaml")
PYPROJECT = "pyproject.toml"
_TOP_KEYS = (
    "models",
    "target",
    "select",
    "extend-select",
    "ignore",
    "per-module-ignores",
    "severity",
    "rules",
    "budgets",
    "fail-on",
)
_MODEL_KEYS = ("spec", "input", "weights", "budgets", "ignore", "per-module-ignores")
BUDGET_METRICS = ("params", "macs", "peak_activation_bytes", "latency")
_MILLISECONDS = re.compile(r"^\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*(ms|s)?\s*$")
_SHAPE_SPLIT = re.compile(r"[,x×X]")


@dataclass(frozen=True)
class Budgets:
    """Upper limits on model totals; None means no limit."""

    params: int | None = None
    macs: int | None = None
    peak_activation_bytes: int | None = None
    latency: float | None = None  # predicted end to end, ms, on the target's kernel model

    def items(self) -> list[tuple[str, int | float]]:
        return [(m, v) for m in BUDGET_METRICS if (v := getattr(self, m)) is not None]

    def merged(self, other: Budgets | None) -> Budgets:
        """``other``'s limits where set, else this one's."""
        if other is None:
            return self
        return Budgets(
            **{
                m: getattr(other, m) if getattr(other, m) is not None else getattr(self, m)
                for m in BUDGET_METRICS
            }
        )


@dataclass(frozen=True)
class ModelEntry:
    """One model listed in the config."""

    spec: str  # as written: the identity used in findings and baselines
    load_spec: str  # the spec with its file resolved relative to the config file
    # shapes from the config file, or what -i parsed (keyword inputs included)
    inputs: GivenInputs | None = None
    weights: str | None = None
    budgets: Budgets | None = None
    ignore: tuple[str, ...] = ()  # code prefixes silenced for this model only
    per_module_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()


@dataclass(frozen=True)
class ActiveRule:
    """A rule that will run, with its resolved severity and options."""

    rule: Rule
    severity: Severity
    options: Mapping[str, Any]


@dataclass(frozen=True)
class Resolved:
    """The outcome of selection: the rules that run and why the others do not."""

    profile: Profile
    active: tuple[ActiveRule, ...]
    inactive: Mapping[str, str]  # code → reason ("not selected", "ignored", "severity off")


@dataclass(frozen=True)
class Settings:
    """Resolved configuration (file + command line). Immutable; use :meth:`with_overrides`."""

    path: Path | None = None
    target: str = DEFAULT_TARGET
    select: tuple[str, ...] | None = None  # None: ("ALL",)
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    per_module_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    severity: Mapping[str, Severity] = field(default_factory=dict)
    rules: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    budgets: Budgets = Budgets()
    fail_on: Severity = Severity.WARNING
    models: tuple[ModelEntry, ...] = ()

    # ------------------------------------------------------------------ overrides

    def with_overrides(
        self,
        registry: Registry,
        *,
        select: str | Sequence[str] | None = None,
        ignore: str | Sequence[str] | None = None,
        extend_select: str | Sequence[str] | None = None,
        target: str | None = None,
        fail_on: str | None = None,
    ) -> Settings:
        """Command-line options replace the config's values (``--select`` also replaces
        ``extend-select``). Unknown codes and targets raise :class:`ConfigError`."""
        changes: dict[str, Any] = {}
        if select is not None:
            changes["select"] = _cli_prefixes("--select", select, registry)
            changes["extend_select"] = ()
        if extend_select is not None:
            changes["extend_select"] = _cli_prefixes("--extend-select", extend_select, registry)
        if ignore is not None:
            changes["ignore"] = _cli_prefixes("--ignore", ignore, registry)
        if target is not None:
            profile_path(target)  # raises with the list of available targets
            changes["target"] = target
        if fail_on is not None:
            try:
                changes["fail_on"] = Severity.parse(fail_on)
            except ValueError as exc:
                raise ConfigError(f"--fail-on: {exc}") from None
        return dataclasses.replace(self, **changes)

    def for_model(self, entry: ModelEntry) -> Settings:
        """These settings with the model entry's ``ignore`` and ``per-module-ignores`` added."""
        if not (entry.ignore or entry.per_module_ignores):
            return self
        return dataclasses.replace(
            self,
            ignore=self.ignore + entry.ignore,
            per_module_ignores=self.per_module_ignores + entry.per_module_ignores,
        )

    # ------------------------------------------------------------------ selection

    def resolve(self, registry: Registry, profile: Profile | None = None) -> Resolved:
        """Decide which rules run, at which severity and with which options."""
        profile = profile or load_profile(self.target)
        selectors = (self.select if self.select is not None else ("ALL",)) + self.extend_select
        active: list[ActiveRule] = []
        inactive: dict[str, str] = {}
        for code, rule in registry.items():
            best_select = _specificity(code, selectors)
            best_ignore = _specificity(code, self.ignore)
            if best_select < 0:
                inactive[code] = "not selected"
                continue
            if best_ignore >= best_select:
                inactive[code] = "ignored"
                continue
            severity = (
                self.severity.get(code) or profile.severity.get(code) or rule.default_severity
            )
            if severity is Severity.OFF:
                if code not in selectors:  # only an exact code turns an off rule on
                    inactive[code] = "off (select its exact code to enable it)"
                    continue
                severity = rule.enabled_severity
            active.append(
                ActiveRule(rule, severity, MappingProxyType(self.options_for(rule, profile)))
            )
        return Resolved(profile, tuple(active), MappingProxyType(inactive))

    def options_for(self, rule: Rule, profile: Profile) -> dict[str, Any]:
        """Rule default < profile field < profile ``rules`` < config ``rules``."""
        out = rule.defaults()
        for opt in rule.options:
            if opt.profile_key and opt.profile_key in profile.fields:
                out[opt.name] = opt.validate(profile.fields[opt.profile_key])
        out.update(profile.rules.get(rule.code, {}))
        out.update(self.rules.get(rule.code, {}))
        return out

    def module_ignored(self, layer: str, code: str) -> bool:
        """True when ``per-module-ignores`` silences ``code`` for the layer path ``layer``."""
        for glob, prefixes in self.per_module_ignores:
            if fnmatch.fnmatchcase(layer, glob) and any(
                p == "ALL" or code.startswith(p) for p in prefixes
            ):
                return True
        return False

    # ------------------------------------------------------------------ display

    def to_dict(self, registry: Registry) -> dict[str, Any]:
        """The resolved settings, as ``convscope config --show`` prints them."""
        resolved = self.resolve(registry)
        p = resolved.profile
        active = {a.rule.code: a for a in resolved.active}
        rules: dict[str, Any] = {}
        for code, rule in registry.items():
            a = active.get(code)
            entry: dict[str, Any] = {
                "name": rule.name,
                "severity": a.severity.value if a else "off",
                "enabled": a is not None,
            }
            if a is None:
                entry["reason"] = resolved.inactive[code]
            opts = dict(a.options) if a else self.options_for(rule, p)
            if opts:
                entry["options"] = {
                    k: list(v) if isinstance(v, tuple) else v for k, v in opts.items()
                }
            rules[code] = entry
        return {
            "config": relative_path(self.path) if self.path else None,
            "target": {
                "name": p.name,
                "description": p.description,
                "int8": p.int8,
                **{k: list(v) if isinstance(v, tuple) else v for k, v in p.fields.items()},
                "roofline": {
                    "peak-flops": p.roofline.peak_flops,
                    "bandwidth": p.roofline.bandwidth,
                },
            },
            "select": list(self.select if self.select is not None else ("ALL",)),
            "extend-select": list(self.extend_select),
            "ignore": list(self.ignore),
            "per-module-ignores": {g: list(c) for g, c in self.per_module_ignores},
            "fail-on": self.fail_on.value,
            "budgets": dict(self.budgets.items()),
            "models": [_model_dict(m) for m in self.models],
            "rules": rules,
        }

    def to_yaml(self, registry: Registry) -> str:
        return yaml.safe_dump(
            self.to_dict(registry), sort_keys=False, allow_unicode=True, default_flow_style=False
        )


def _model_dict(m: ModelEntry) -> dict[str, Any]:
    d: dict[str, Any] = {"spec": m.spec}
    if m.inputs:
        shapes = m.inputs.values() if hasattr(m.inputs, "values") else m.inputs
        d["input"] = [list(getattr(s, "shape", s)) for s in shapes]
    if m.weights:
        d["weights"] = m.weights
    if m.budgets:
        d["budgets"] = dict(m.budgets.items())
    if m.ignore:
        d["ignore"] = list(m.ignore)
    if m.per_module_ignores:
        d["per-module-ignores"] = {g: list(c) for g, c in m.per_module_ignores}
    return d


def _specificity(code: str, prefixes: Sequence[str]) -> int:
    """Length of the longest prefix matching ``code`` (ALL counts 0); -1 when none does."""
    best = -1
    for p in prefixes:
        if p == "ALL":
            best = max(best, 0)
        elif code.startswith(p):
            best = max(best, len(p))
    return best


def _cli_prefixes(option: str, value: str | Sequence[str], registry: Registry) -> tuple[str, ...]:
    items = (
        split_list(value)
        if isinstance(value, str)
        else tuple(s for v in value for s in split_list(v))
    )
    if not items and option == "--select":
        raise ConfigError(
            "--select: empty selection would run no rule and always pass; give code "
            "prefixes such as DW,RF (or ALL)"
        )
    for prefix in items:
        problem = prefix_problem(prefix, registry)
        if problem:
            raise ConfigError(f"{option}: {problem}")
    return items


# ---------------------------------------------------------------------- loading


def find_config(start: Path | None = None) -> Path | None:
    """The nearest ``convscope.yaml`` / ``.convscope.yaml`` / ``pyproject.toml`` with a
    ``[tool.convscope]`` table, searching ``start`` (default: cwd) and its parents."""
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        for name in CONFIG_NAMES:
            if (directory / name).is_file():
                return directory / name
        pyproject = directory / PYPROJECT
        if pyproject.is_file() and _has_tool_table(pyproject):
            return pyproject
    return None


def _has_tool_table(path: Path) -> bool:
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return False
    return isinstance(doc.get("tool"), dict) and "convscope" in doc["tool"]


def load_settings(
    registry: Registry,
    config: str | Path | None = None,
    *,
    discover: bool = True,
    cwd: Path | None = None,
) -> Settings:
    """Settings from ``config`` or from the nearest config file; defaults when none."""
    if config is not None:
        path = Path(config)
        if not path.is_file():
            raise ConfigError(f"config file not found: {config}")
    else:
        found = find_config(cwd) if discover else None
        if found is None:
            return Settings()
        path = found
    return read_settings(path, registry, cwd=cwd, explicit=config is not None)


def read_settings(
    path: Path, registry: Registry, *, cwd: Path | None = None, explicit: bool = True
) -> Settings:
    label = relative_path(path, cwd)
    where = Where(label)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise where.error("", f"cannot read: {exc}") from None
    root = ""
    if path.suffix == ".toml":
        try:
            doc = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise where.error("", f"malformed TOML: {exc}") from None
        except RecursionError:
            raise where.error("", TOO_DEEP) from None
        tool = doc.get("tool", {})
        raw = tool.get("convscope", {}) if isinstance(tool, dict) else {}
        root = "tool.convscope"
    else:
        try:
            raw = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise where.error("", f"malformed YAML: {yaml_problem(exc)}") from None
        except RecursionError:
            raise where.error("", TOO_DEEP) from None
    try:
        return parse_settings(
            raw, where, registry, path=path, root=root, cwd=cwd, explicit=explicit
        )
    except RecursionError:  # parsed, but too deep to walk
        raise where.error("", TOO_DEEP) from None


def parse_settings(
    raw: Any,
    where: Where,
    registry: Registry,
    *,
    path: Path | None = None,
    root: str = "",
    cwd: Path | None = None,
    explicit: bool = True,
) -> Settings:
    """Validate a config document (already parsed from YAML or TOML). A config that was
    not ``explicit`` (it was discovered) may only name models inside its own project."""

    def key(*parts: str) -> str:
        return ".".join(p for p in (root, *parts) if p)

    doc = where.mapping(raw, root)
    where.keys(doc, _TOP_KEYS, root)
    changes: dict[str, Any] = {"path": path}
    if "target" in doc:
        target = doc["target"]
        if not isinstance(target, str):
            raise where.error(key("target"), f"expected a profile name, got {target!r}")
        base = path.parent if path else Path.cwd()
        candidate = target if not target.endswith((".yaml", ".yml")) else str(base / target)
        try:
            profile_path(candidate)
        except ConfigError as exc:
            raise where.error(key("target"), str(exc)) from None
        changes["target"] = candidate
    if "select" in doc:
        changes["select"] = validation.prefixes(where, doc["select"], registry, key("select"))
    if "extend-select" in doc:
        changes["extend_select"] = validation.prefixes(
            where, doc["extend-select"], registry, key("extend-select")
        )
    if "ignore" in doc:
        changes["ignore"] = validation.prefixes(where, doc["ignore"], registry, key("ignore"))
    if "per-module-ignores" in doc:
        changes["per_module_ignores"] = _module_ignores(
            doc["per-module-ignores"], where, registry, key("per-module-ignores")
        )
    if "severity" in doc:
        changes["severity"] = MappingProxyType(
            validation.severity_section(where, doc["severity"], registry, key("severity"))
        )
    if "rules" in doc:
        changes["rules"] = MappingProxyType(
            validation.rules_section(where, doc["rules"], registry, key("rules"))
        )
    if "budgets" in doc:
        changes["budgets"] = _budgets(doc["budgets"], where, key("budgets"))
    if "fail-on" in doc:
        level = validation.severity(where, doc["fail-on"], key("fail-on"))
        if level is Severity.OFF:
            raise where.error(key("fail-on"), "expected info, warning or error, got 'off'")
        changes["fail_on"] = level
    if "models" in doc:
        changes["models"] = _models(
            doc["models"], where, key("models"), path.parent if path else None, cwd, registry
        )
        if not explicit and path is not None:
            for i, entry in enumerate(changes["models"]):
                problem = _foreign_spec(entry.spec, path.parent)
                if problem:
                    raise where.error(
                        f"{key('models')}[{i}].spec",
                        f"{problem}; a discovered config may only name models inside "
                        "its own folder (pass it with --config to allow this)",
                    )
    return dataclasses.replace(Settings(), **changes)


def _module_ignores(
    value: Any, where: Where, registry: Registry, path: str
) -> tuple[tuple[str, tuple[str, ...]], ...]:
    pmi = where.mapping(value, path)
    entries = []
    for glob, codes in pmi.items():
        k = f"{path}.{glob}"
        problem = glob_problem(glob)
        if problem:
            raise where.error(k, problem)
        entries.append((glob, validation.prefixes(where, codes, registry, k)))
    return tuple(entries)


def _budgets(value: Any, where: Where, path: str) -> Budgets:
    doc = where.mapping(value, path)
    where.keys(doc, BUDGET_METRICS, path)
    sizes = {m: where.size(v, f"{path}.{m}") for m, v in doc.items() if m != "latency"}
    if "latency" not in doc:
        return Budgets(**sizes)
    return Budgets(**sizes, latency=_milliseconds(doc["latency"], where, f"{path}.latency"))


def _milliseconds(value: Any, where: Where, path: str) -> float:
    """``12``, ``12.5``, ``"12ms"``, ``"0.5s"`` → milliseconds (positive)."""
    text = str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value
    m = _MILLISECONDS.match(text) if isinstance(text, str) else None
    ms = float(m.group(1)) * (1000.0 if m.group(2) == "s" else 1.0) if m else 0.0
    if ms <= 0 or not math.isfinite(ms):
        raise where.error(
            path, f"expected a predicted latency such as 12ms, 0.5s or 12.5 (ms), got {value!r}"
        )
    return ms


def _models(
    value: Any, where: Where, path: str, base: Path | None, cwd: Path | None, registry: Registry
) -> tuple[ModelEntry, ...]:
    if not isinstance(value, list):
        raise where.error(path, "expected a list of models")
    out = []
    for i, item in enumerate(value):
        k = f"{path}[{i}]"
        if isinstance(item, str):
            item = {"spec": item}
        entry = where.mapping(item, k)
        where.keys(entry, _MODEL_KEYS, k)
        spec = entry.get("spec")
        if not isinstance(spec, str) or not spec.strip():
            raise where.error(f"{k}.spec", "expected a MODEL spec string")
        weights = entry.get("weights")
        if weights is not None and not isinstance(weights, str):
            raise where.error(f"{k}.weights", "expected a file path")
        inputs = _shapes(entry["input"], where, f"{k}.input") if "input" in entry else None
        budgets = _budgets(entry["budgets"], where, f"{k}.budgets") if "budgets" in entry else None
        ignore = (
            validation.prefixes(where, entry["ignore"], registry, f"{k}.ignore")
            if "ignore" in entry
            else ()
        )
        module_ignores = (
            _module_ignores(entry["per-module-ignores"], where, registry, f"{k}.per-module-ignores")
            if "per-module-ignores" in entry
            else ()
        )
        out.append(
            ModelEntry(
                spec=spec,
                load_spec=resolve_spec(spec, base, cwd),
                inputs=inputs,
                weights=resolve_file(weights, base, cwd) if weights else None,
                budgets=budgets,
                ignore=ignore,
                per_module_ignores=module_ignores,
            )
        )
    return tuple(out)


_ZOO = ("torchvision:", "timm:")


def _foreign_spec(spec: str, project: Path) -> str | None:
    """Why ``spec`` reaches outside ``project`` (None when it does not); imports nothing."""
    from importlib.machinery import PathFinder

    root = project.resolve()
    file, _ = split_file_spec(spec.strip())
    if file:
        full = Path(file).expanduser()
        full = (full if full.is_absolute() else project / full).resolve()
        if not full.is_relative_to(root):
            return f"'{spec}' is a file outside {root}"
        return None
    if spec.strip().startswith(_ZOO):
        return None
    module = spec.strip().split(":", 1)[0]
    top = module.split(".", 1)[0]
    # where the loader's import of ``top`` would come from (already imported, or found on
    # sys.path — located without running it); builtins have no file, so they are outside
    origin: str | None = None
    loaded = sys.modules.get(top)
    if loaded is not None:
        origin = getattr(loaded, "__file__", None)
    elif top.isidentifier():
        found = PathFinder.find_spec(top, sys.path)
        if found is not None:
            origin = found.origin or next(iter(found.submodule_search_locations or ()), None)
    if not origin or not Path(origin).resolve().is_relative_to(root):
        return f"'{spec}' imports {module}, which is not inside {root}"
    return None


def _shapes(value: Any, where: Where, path: str) -> tuple[tuple[int, ...], ...]:
    """``"1,3,224,224"``, ``[1, 3, 224, 224]`` or a list of either → shapes."""
    if isinstance(value, str) or (
        isinstance(value, list) and value and all(isinstance(d, int) for d in value)
    ):
        value = [value]
    if not isinstance(value, list) or not value:
        raise where.error(path, "expected a shape such as [1, 3, 224, 224] or a list of shapes")
    shapes = []
    for i, item in enumerate(value):
        k = f"{path}[{i}]"
        if isinstance(item, str):
            try:
                dims = [int(d) for d in _SHAPE_SPLIT.split(item.strip())]
            except ValueError:
                raise where.error(
                    k, f"expected a shape such as 1,3,224,224, got {item!r}"
                ) from None
        elif isinstance(item, list):
            dims = item
        else:
            raise where.error(k, f"expected a shape, got {item!r}")
        if not dims or any(isinstance(d, bool) or not isinstance(d, int) or d <= 0 for d in dims):
            raise where.error(k, f"expected positive integer dimensions, got {item!r}")
        shapes.append(tuple(dims))
    return tuple(shapes)


def resolve_file(file: str, base: Path | None, cwd: Path | None) -> str:
    """A config-relative file path as a path usable from ``cwd``."""
    p = Path(file).expanduser()
    if p.is_absolute() or base is None:
        return str(p)
    full = (base / p).resolve()
    here = (cwd or Path.cwd()).resolve()
    try:
        return full.relative_to(here).as_posix()
    except ValueError:
        return os.path.relpath(full, here) if full.anchor == here.anchor else str(full)


def resolve_spec(spec: str, base: Path | None, cwd: Path | None) -> str:
    """Resolve the file part of a MODEL spec relative to the config file's folder."""
    file, rest = split_file_spec(spec)
    if not file:
        return spec
    return resolve_file(file, base, cwd) + rest
