"""Where CI reports put a finding: repository-relative files, lines and columns.

Code-scanning services resolve paths against the repository root, not the directory the
linter ran in, and GitHub rejects a SARIF file in which one result has no file. Findings
on a layer carry the line that built it; everything else is anchored here, in this order:

1. the line of the config file that names the model (for a budget: the line that sets it);
2. the model's own file (the ``class``/``def`` of a ``file.py:Name`` spec, else line 1);
3. a line in a CI or build file of the repository that names the model spec (a workflow,
   ``.pre-commit-config.yaml``, ``Makefile``, ...): what ran ``convscope lint MODEL``;
4. line 1 of the config file;
5. line 1 of the first of ``pyproject.toml``, ``setup.cfg``, ``setup.py``, ``README.md``
   at the root; failing all, the root folder itself.

Every step only reads files, so the same checkout gives the same anchors on every run.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote

from convscope.linting.finding import BUDGET_CODE, Finding, Location

#: Files that typically run ``convscope lint MODEL`` and so name a model given on the command
#: line; searched in this order (globs relative to the root).
CI_FILES = (
    ".github/workflows/*.yml",
    ".github/workflows/*.yaml",
    ".pre-commit-config.yaml",
    ".gitlab-ci.yml",
    "Jenkinsfile",
    "Makefile",
    "tox.ini",
    "noxfile.py",
    "pyproject.toml",
)
ROOT_FILES = ("pyproject.toml", "setup.cfg", "setup.py", "README.md")


@dataclass(frozen=True)
class Place:
    """A file (absolute), a 1-based line and, where known, 1-based start/end columns."""

    file: Path
    line: int = 1
    column: int | None = None
    end_column: int | None = None


def repository_root(start: Path) -> Path | None:
    """The git top level above ``start`` (a ``.git`` folder, or file in a worktree)."""
    here = start.resolve()
    for folder in (here, *here.parents):
        if (folder / ".git").exists():
            return folder
    return None


def relative_uri(path: Path, root: Path) -> str | None:
    """``path`` relative to ``root`` as a percent-encoded URI reference (RFC 3986), or
    ``None`` when it lies outside the root."""
    try:
        rel = path.resolve().relative_to(root)
    except ValueError:
        return None
    return quote(rel.as_posix() or ".", safe="/")


def relative_path(path: Path, root: Path) -> str | None:
    """``path`` relative to ``root`` in POSIX form, or ``None`` when outside it."""
    try:
        return path.resolve().relative_to(root).as_posix()
    except ValueError:
        return None


def _lines(path: Path) -> tuple[str, ...]:
    try:
        st = path.stat()
    except OSError:
        return ()
    return _read(path, st.st_mtime_ns, st.st_size)


@lru_cache(maxsize=256)
def _read(path: Path, _mtime_ns: int, _size: int) -> tuple[str, ...]:
    """A file's lines, cached per version (the key includes modification time and size)."""
    try:
        return tuple(path.read_text(encoding="utf-8").splitlines())
    except (OSError, UnicodeDecodeError):
        return ()


def line_span(path: Path, line: int) -> tuple[int | None, int | None]:
    """Columns of the first and one past the last non-blank character of ``line``."""
    lines = _lines(path.resolve())
    if not 1 <= line <= len(lines):
        return None, None
    text = lines[line - 1]
    stripped = text.strip()
    if not stripped:
        return None, None
    start = len(text) - len(text.lstrip()) + 1
    return start, start + len(stripped)


def _find(path: Path, needle: str, start: int = 0) -> Place | None:
    """The first line at or after index ``start`` where ``needle`` stands as a whole token
    (not inside a longer word or path, and not in a ``#`` comment line)."""
    pattern = re.compile(r"(?<![\w./:-])" + re.escape(needle) + r"(?![\w./-])")
    for i, text in enumerate(_lines(path)[start:], start):
        if text.lstrip().startswith("#"):
            continue
        m = pattern.search(text)
        if m:
            return Place(path, i + 1, m.start() + 1, m.end() + 1)
    return None


def _find_key(path: Path, key: str, start: int = 0, stop: int | None = None) -> Place | None:
    """The first ``key:`` / ``key =`` / ``"key":`` between line indices ``start`` and
    ``stop``; the region runs from the key to the end of the line."""
    pattern = re.compile(r"(?<![\w-])[\"']?" + re.escape(key) + r"[\"']?\s*[:=]")
    for i, text in enumerate(_lines(path)[start:stop], start):
        if text.lstrip().startswith("#"):
            continue
        m = pattern.search(text)
        if m:
            return Place(path, i + 1, m.start() + 1, len(text.rstrip()) + 1)
    return None


@dataclass(frozen=True)
class Places:
    """The repository root and the anchor of every model (and of its budgets)."""

    root: Path
    models: Mapping[str, Place] = field(default_factory=dict)
    budgets: Mapping[tuple[str, str], Place] = field(default_factory=dict)
    fallback: Place | None = None

    def layer_place(self, location: Location | None) -> Place | None:
        """The layer's own line when it lies in the repository (not an installed package)."""
        if location is None or location.third_party:
            return None
        if relative_path(location.file, self.root) is None:
            return None
        start, end = line_span(location.file, location.line)
        return Place(location.file.resolve(), location.line, start, end)

    def place(self, f: Finding) -> Place:
        """Where ``f`` is reported: its layer's line, else the anchor of its model/budget."""
        if f.code == BUDGET_CODE:
            metric = f.values.get("metric")
            found = self.budgets.get((f.model, str(metric)))
            if found is not None:
                return found
        else:
            own = self.layer_place(f.location)
            if own is not None:
                return own
        return self.models.get(f.model) or self.fallback or Place(self.root)


def _entry_line(config: Path, spec: str) -> Place | None:
    return _find(config, spec)


def _budget_line(config: Path, model_line: int | None, metric: str) -> Place | None:
    """The line that sets ``metric``: under the model's entry when it has its own budget,
    else under the top-level ``budgets`` key (YAML) or ``[tool.convscope.budgets]`` table."""
    lines = _lines(config)
    if model_line is not None:
        # The model's entry ends where the next list item at the same indent starts.
        text = lines[model_line - 1]
        indent = len(text) - len(text.lstrip())
        stop = len(lines)
        for j in range(model_line, len(lines)):
            s = lines[j]
            if s.strip() and len(s) - len(s.lstrip()) <= indent:
                stop = j
                break
        own = _find_key(config, metric, model_line - 1, stop)
        if own is not None:
            return own
    for i, text in enumerate(lines):
        if re.match(r"^(budgets\s*[:=]|\[tool\.convscope\.budgets\])", text.strip()) and (
            not text[:1].isspace() or text.strip().startswith("[")
        ):
            return _find_key(config, metric, i) or Place(config, i + 1, 1, len(text) + 1)
    return None


def _definition(file: Path, spec: str) -> Place:
    """The ``class``/``def``/assignment of NAME in a ``file.py:NAME`` spec, else line 1."""
    name = spec.rsplit(":", 1)[1] if re.search(r"\.py:[\w.]+$", spec) else ""
    if name:
        pattern = re.compile(rf"^(class|def)\s+{re.escape(name)}\b|^{re.escape(name)}\s*[:=]")
        for i, text in enumerate(_lines(file)):
            if pattern.match(text):
                return Place(file, i + 1, 1, len(text.rstrip()) + 1)
    return Place(file, 1)


def _ci_mention(root: Path, spec: str) -> Place | None:
    for pattern in CI_FILES:
        for path in sorted(root.glob(pattern)):
            found = _find(path, spec) if path.is_file() else None
            if found is not None:
                return found
    return None


def root_fallback(root: Path) -> Place:
    for name in ROOT_FILES:
        if (root / name).is_file():
            return Place(root / name)
    return Place(root)


def report_places(
    models: Iterable[tuple[str, Path | None, Mapping[str, int | float] | None]],
    config: Path | None,
    cwd: Path | None = None,
) -> Places:
    """Anchors for ``models`` given as ``(spec, model source file or None, per-model
    budgets or None)``, with the repository root found from the config (else ``cwd``)."""
    here = (cwd or Path.cwd()).resolve()
    config = config.resolve() if config else None
    root = (
        repository_root(config.parent if config else here)
        or repository_root(here)
        or (config.parent if config else here)
    )
    anchors: dict[str, Place] = {}
    budgets: dict[tuple[str, str], Place] = {}
    for spec, source, own in models:
        named = _entry_line(config, spec) if config else None
        place = named
        if place is None and source is not None and relative_path(source, root) is not None:
            place = _definition(source.resolve(), spec)
        if place is None:
            place = _ci_mention(root, spec)
        if place is None and config is not None:
            place = Place(config)
        anchors[spec] = place or root_fallback(root)
        if config is not None:
            for metric in ("params", "macs", "peak_activation_bytes"):
                line = named.line if named is not None and own and metric in own else None
                found = _budget_line(config, line, metric)
                if found is not None:
                    budgets[(spec, metric)] = found
    return Places(root=root, models=anchors, budgets=budgets, fallback=root_fallback(root))
