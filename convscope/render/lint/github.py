"""``convscope lint --format github``: GitHub Actions workflow commands, one per finding::

    ::warning file=examples/mobilenet.py,line=57,title=DW001 narrow-depthwise::depthwise ...

Error findings use ``::error``, warnings ``::warning`` and info ``::notice``. Values are
escaped as the Actions runner expects: ``%``, CR and LF in the message; additionally ``:``
and ``,`` in properties. ``file`` is relative to the repository root (the git top level),
which is what the runner maps onto the pull request's diff. Findings without a source
location (or with one outside the repository or in an installed package) are annotated
without ``file``/``line``; the message always names the model and the layer.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from convscope.linting.finding import Finding, LintResult, Severity
from convscope.linting.places import relative_path, repository_root

COMMANDS = {
    Severity.ERROR: "error",
    Severity.WARNING: "warning",
    Severity.INFO: "notice",
    Severity.OFF: "notice",
}


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _file(f: Finding, root: Path) -> str | None:
    if f.location is None or f.location.third_party:
        return None
    return relative_path(f.location.file, root)


def line(f: Finding, root: Path) -> str:
    props = []
    file = _file(f, root)
    if file is not None and f.location is not None:
        props.append(f"file={escape_property(file)}")
        props.append(f"line={f.location.line}")
    props.append(f"title={escape_property(f'{f.code} {f.name}')}")
    message = f"{f.model}: {f.layer_display}: {f.message}"
    if f.suggestion:
        message += f" (fix: {f.suggestion})"
    return f"::{COMMANDS[f.severity]} {','.join(props)}::{escape_data(message)}"


def render(results: Sequence[LintResult], cwd: Path | None = None, root: Path | None = None) -> str:
    """Annotations with paths relative to ``root`` (default: the repository around ``cwd``,
    else ``cwd``)."""
    here = (cwd or Path.cwd()).resolve()
    base = root.resolve() if root else repository_root(here) or here
    lines = [line(f, base) for r in results for f in r.all_findings]
    return "".join(x + "\n" for x in lines)
