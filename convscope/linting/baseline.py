"""Baselines: adopt the linter on an existing model and fail only on new or worse findings.

A baseline file is JSON (``version`` 2), sorted and free of timestamps so it diffs cleanly::

    {"version": 2,
     "findings": [{"model": "examples/mobilenet.py", "layer": "features.1.conv.0.0",
                   "code": "DW001", "value": 8.0}]}

A finding matches an entry on three parts:

* the **model identity**: for a file spec, the resolved file relative to the root (the
  config file's folder, else the git repository root, else the current directory) plus any
  ``:Name`` suffix, so ``./models/net.py`` and ``models/net.py`` are one model; for
  ``torchvision:``/``timm:`` specs the zoo name; any other spec as written;
* the **anchor**: the layer path, or ``""`` for model-level rules (RF001), so appending a
  head does not move the finding;
* the rule code.

Messages are ignored, so rewording or a new threshold does not resurrect an accepted
finding. ``value`` is the rule's measurement (:attr:`Finding.value`) when it has one: a
finding that measures worse than the stored value is reported again. ``count`` appears when
one anchor holds several findings of a rule. Entries of linted models that nothing matches
any more are *stale* and reported. Internal errors (CS000), unused suppressions and budgets
are never baselined.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from convscope.linting.finding import (
    INTERNAL_ERROR_CODE,
    UNUSED_SUPPRESSION_CODE,
    Finding,
    LintResult,
)
from convscope.validate import TOO_DEEP, ConfigError

BASELINE_VERSION = 2
_NOT_BASELINED = frozenset({INTERNAL_ERROR_CODE, UNUSED_SUPPRESSION_CODE})
_ENTRY_KEYS = ("model", "layer", "code", "value", "count")

Key = tuple[str, str, str]  # model identity, anchor layer, code


@dataclass(frozen=True)
class Entry:
    """One accepted finding (or ``count`` findings on one anchor)."""

    model: str
    layer: str
    code: str
    value: float | None = None
    count: int = 1

    @property
    def key(self) -> Key:
        return (self.model, self.layer, self.code)


@dataclass(frozen=True)
class Baseline:
    path: Path
    entries: Mapping[Key, Entry]


# ---------------------------------------------------------------------- identity


def find_root(config: Path | None = None, cwd: Path | None = None) -> Path:
    """What model paths are relative to: the config file's folder, else the enclosing git
    repository, else ``cwd``."""
    if config is not None:
        return config.resolve().parent
    here = (cwd or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        if (directory / ".git").exists():
            return directory
    return here


def model_identity(spec: str, root: Path, cwd: Path | None = None) -> str:
    """The normalized name of a MODEL spec (a path usable from ``cwd``), see the module doc."""
    text = spec.strip()
    zoo, sep, name = text.partition(":")
    if sep and zoo == "torchvision":
        return f"torchvision:{name.lower()}"  # the loader matches names case-insensitively
    if sep and zoo == "timm":
        return text
    file, rest = split_file_spec(text)
    if not file:
        return text
    full = ((cwd or Path.cwd()) / Path(file).expanduser()).resolve()
    try:
        shown = full.relative_to(root.resolve()).as_posix()
    except ValueError:
        shown = full.as_posix()
    return shown + rest


def split_file_spec(spec: str) -> tuple[str, str]:
    """``"dir/m.py:Net"`` → ``("dir/m.py", ":Net")``; non-file specs → ``("", spec)``."""
    for suffix in (".py", ".pt2"):
        idx = spec.find(suffix + ":")
        if idx >= 0:
            return spec[: idx + len(suffix)], spec[idx + len(suffix) :]
        if spec.endswith(suffix):
            return spec, ""
    return "", spec


# ---------------------------------------------------------------------- writing


def _baselined(result: LintResult) -> Iterable[Finding]:
    return (f for f in result.findings if f.code not in _NOT_BASELINED)


def entries_for(results: Iterable[LintResult]) -> list[Entry]:
    """One entry per (model identity, anchor, code), keeping the worst value, sorted."""
    grouped: dict[Key, list[Finding]] = {}
    for r in results:
        for f in _baselined(r):
            grouped.setdefault((r.model_id, f.anchor, f.code), []).append(f)
    out = []
    for key, found in sorted(grouped.items()):
        values = [f.value for f in found if f.value is not None]
        worst: float | None = None
        if values:
            worst = min(values) if found[0].worse_if == "lower" else max(values)
        out.append(Entry(*key, value=worst, count=len(found)))
    return out


def render(results: Iterable[LintResult]) -> str:
    """The baseline document for ``results``: sorted, stable, no timestamps."""
    items = []
    for e in entries_for(results):
        item: dict[str, Any] = {"model": e.model, "layer": e.layer, "code": e.code}
        if e.value is not None:
            item["value"] = e.value
        if e.count > 1:
            item["count"] = e.count
        items.append(item)
    return json.dumps({"version": BASELINE_VERSION, "findings": items}, indent=2) + "\n"


# ---------------------------------------------------------------------- reading


def load(path: str | Path) -> Baseline:
    """The entries of a baseline file; :class:`ConfigError` naming the file and the problem."""
    p = Path(path)
    label = f"baseline {p}"
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{label}: file not found (create it with --write-baseline)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{label}: cannot read: {exc}") from None
    try:
        doc: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{label}: malformed JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from None
    except RecursionError:
        raise ConfigError(f"{label}: {TOO_DEEP}") from None
    if not isinstance(doc, dict):
        raise ConfigError(f"{label}: expected a JSON object with 'version' and 'findings'")
    unknown = sorted(set(doc) - {"version", "findings"})
    if unknown:
        raise ConfigError(f"{label}: unknown key {unknown[0]!r}")
    version = doc.get("version")
    # JSON true is Python True, and True == 1: only a real integer is a version
    if type(version) is int and version == 1:
        raise ConfigError(
            f"{label}: version 1 keyed findings on the MODEL spec as typed and is no longer "
            f"read; regenerate it with `convscope lint --write-baseline {p}`"
        )
    if type(version) is not int or version != BASELINE_VERSION:
        raise ConfigError(f"{label}: version: expected {BASELINE_VERSION}, got {version!r}")
    findings = doc.get("findings")
    if not isinstance(findings, list):
        raise ConfigError(f"{label}: findings: expected a list")
    entries: dict[Key, Entry] = {}
    for i, item in enumerate(findings):
        where = f"{label}: findings[{i}]"
        if not isinstance(item, dict):
            raise ConfigError(f"{where}: expected an object")
        extra = sorted(set(item) - set(_ENTRY_KEYS))
        if extra:
            raise ConfigError(f"{where}: unknown key {extra[0]!r}")
        for field in ("model", "layer", "code"):
            if not isinstance(item.get(field), str):
                raise ConfigError(f"{where}.{field}: expected a string")
        value = item.get("value")
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise ConfigError(f"{where}.value: expected a number")
        count = item.get("count", 1)
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ConfigError(f"{where}.count: expected a positive integer")
        entry = Entry(
            item["model"],
            item["layer"],
            item["code"],
            float(value) if value is not None else None,
            count,
        )
        if entry.key in entries:
            raise ConfigError(
                f"{where}: duplicate entry for {entry.model} {entry.layer!r} {entry.code}"
            )
        entries[entry.key] = entry
    return Baseline(p, entries)


# ---------------------------------------------------------------------- matching


def apply(result: LintResult, baseline: Baseline) -> LintResult:
    """Drop the findings the baseline accepts (counted in ``suppressed``); keep the new
    ones and those that measure worse than accepted (their message says by how much); list
    the entries of this model that matched nothing in ``stale_baseline``."""
    kept: list[Finding] = []
    dropped = 0
    used: dict[Key, int] = {}
    model = result.model_id
    for f in result.findings:
        key = (model, f.anchor, f.code)
        entry = baseline.entries.get(key) if f.code not in _NOT_BASELINED else None
        if entry is None:
            kept.append(f)
            continue
        used[key] = used.get(key, 0) + 1
        if entry.value is not None and f.worse_than(entry.value):
            kept.append(
                replace(
                    f,
                    message=f"{f.message} (worse than the baseline: {_num(entry.value)} → "
                    f"{_num(f.value)})",
                )
            )
        elif used[key] > entry.count:
            kept.append(f)  # more findings on this anchor than were accepted
        else:
            dropped += 1
    stale = tuple(
        (e.layer, e.code)
        for key, e in sorted(baseline.entries.items())
        if e.model == model and key not in used
    )
    return replace(
        result,
        findings=tuple(kept),
        suppressed=result.suppressed + dropped,
        stale_baseline=stale,
    )


def _num(value: float | None) -> str:
    return "?" if value is None else f"{value:g}"
