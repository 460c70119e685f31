"""Inline suppressions: ``# convscope: ignore[RF002]`` on the line that builds a layer.

Forms (in a comment anywhere on the line a finding's source location points at)::

    self.proj = nn.Conv2d(3, 64, 1)  # convscope: ignore[RF002]
    self.dw = nn.Conv2d(8, 8, 3, groups=8)  # convscope: ignore[DW001, HW001]
    self.odd = Odd()  # convscope: ignore

The bracketed codes are code prefixes (``RF`` silences every RF rule); a bare ``ignore``
silences every finding on the line. Comments are read with :mod:`tokenize`, so the text
inside strings never counts. Suppressions in the user's model file that silence nothing are
reported as ``CS100 unused-suppression`` (when that rule is enabled): a bare ignore with no
finding on its line, or a code whose rule ran and found nothing there. Codes of rules that
did not run are left alone (nothing is known about them); unknown codes are reported.
"""

from __future__ import annotations

import io
import re
import tokenize
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from convscope.linting.finding import (
    INTERNAL_ERROR_CODE,
    UNUSED_SUPPRESSION_CODE,
    Finding,
    Location,
    Severity,
)

_NAME = "unused-suppression"
_COMMENT = re.compile(r"#\s*convscope:\s*ignore\b(?:\[(?P<codes>[^\]]*)\])?")
_CODE = re.compile(r"^[A-Z]{1,3}[0-9]{0,3}$")


@dataclass(frozen=True)
class Suppression:
    """One ``# convscope: ignore`` comment; ``codes`` is None for a bare ignore."""

    file: Path
    line: int
    codes: tuple[str, ...] | None
    text: str

    def covers(self, code: str) -> bool:
        return self.codes is None or any(code.startswith(c) for c in self.codes)


def parse(source: str, file: Path) -> dict[int, Suppression]:
    """The suppressions in ``source`` by line (the first comment of a line wins)."""
    out: dict[int, Suppression] = {}
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError):
        return out
    for tok in tokens:
        if tok.type != tokenize.COMMENT:
            continue
        m = _COMMENT.search(tok.string)
        if m is None or tok.start[0] in out:
            continue
        raw = m.group("codes")
        codes = None if raw is None else tuple(c.strip() for c in raw.split(",") if c.strip())
        out[tok.start[0]] = Suppression(file, tok.start[0], codes, m.group(0))
    return out


@cache
def _file_suppressions(file: Path, mtime_ns: int) -> dict[int, Suppression]:
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return {}
    return parse(text, file)


def suppressions(file: Path) -> dict[int, Suppression]:
    """The suppressions in ``file`` (cached while the file is unchanged)."""
    try:
        stamp = file.stat().st_mtime_ns
    except OSError:
        return {}
    return _file_suppressions(file.resolve(), stamp)


def apply(
    findings: Iterable[Finding],
    *,
    user_file: Path | None,
    rules_run: Iterable[str],
    known_codes: Iterable[str],
    unused_severity: Severity | None,
    locate_layers: Callable[[], Mapping[int, str]],
    model: str,
) -> tuple[list[Finding], int, list[Finding]]:
    """Drop suppressed findings. Returns the kept findings, how many were silenced and the
    ``CS100`` findings for suppressions in ``user_file`` that silenced nothing
    (``unused_severity`` None: not reported). ``locate_layers`` maps lines of ``user_file``
    to a layer created there, for naming the layer of an unused suppression."""
    kept: list[Finding] = []
    silenced = 0
    used: dict[tuple[Path, int], set[str]] = {}
    for f in findings:
        loc = f.location
        if f.code == INTERNAL_ERROR_CODE or loc is None or loc.third_party:
            kept.append(f)
            continue
        hit = suppressions(loc.file).get(loc.line)
        used.setdefault((loc.file.resolve(), loc.line), set()).add(f.code)
        if hit is not None and hit.covers(f.code):
            silenced += 1
        else:
            kept.append(f)
    unused: list[Finding] = []
    if unused_severity is not None and user_file is not None:
        ran = set(rules_run)
        known = set(known_codes) | {INTERNAL_ERROR_CODE}
        layers: Mapping[int, str] | None = None
        for line, sup in sorted(suppressions(user_file).items()):
            problem = _unused(sup, used.get((user_file.resolve(), line), set()), ran, known)
            if problem is None:
                continue
            if layers is None:
                layers = locate_layers()
            unused.append(
                Finding(
                    code=UNUSED_SUPPRESSION_CODE,
                    name=_NAME,
                    severity=unused_severity,
                    layer=layers.get(line, ""),
                    message=f"`{sup.text}`: {problem}",
                    suggestion="remove the comment, or the codes in it that no longer fire",
                    location=Location(user_file, line),
                    model=model,
                )
            )
    return kept, silenced, unused


def _unused(sup: Suppression, fired: set[str], ran: set[str], known: set[str]) -> str | None:
    """Why ``sup`` is unused, or None when it silenced something (or may have)."""
    if sup.codes is None:
        return None if fired else "no finding on this line to silence"
    if not sup.codes:
        return "names no code: write ignore[CODE] or a bare ignore"
    problems = []
    for code in sup.codes:
        if not _CODE.match(code) or not any(k.startswith(code) for k in known):
            problems.append(f"{code} is not a rule code")
        elif any(f.startswith(code) for f in fired):
            continue
        elif any(r.startswith(code) for r in ran):
            problems.append(f"no {code} finding on this line")
    return "; ".join(problems) or None
