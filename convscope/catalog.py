"""Where the rule catalog and the target profiles live.

The top-level ``rules/`` folder of the repository is data, not code: one folder per rule
(``rules/DW001-narrow-depthwise/`` with ``README.md``, ``bad.py`` and ``good.py``) and the
target profiles in ``rules/profiles/*.yaml``. In a checkout it sits beside the ``convscope``
package; the wheel ships it as ``convscope/_rules`` (see ``pyproject.toml``).
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from convscope.errors import ConvscopeError


@cache
def rules_dir() -> Path:
    """The rule catalog folder: ``<checkout>/rules`` or ``<site-packages>/convscope/_rules``."""
    package = Path(__file__).resolve().parent
    for candidate in (package.parent / "rules", package / "_rules"):
        if (candidate / "profiles").is_dir():
            return candidate
    raise ConvscopeError(
        f"the rule catalog is missing: neither {package.parent / 'rules'} nor "
        f"{package / '_rules'} exists (broken installation?)"
    )


def profiles_dir() -> Path:
    return rules_dir() / "profiles"


def rule_folder(code: str, name: str) -> Path:
    """``rules/DW001-narrow-depthwise`` (it may not exist for a rule without docs)."""
    return rules_dir() / f"{code}-{name}"


def rule_doc(code: str, name: str) -> Path:
    return rule_folder(code, name) / "README.md"


#: The environment variable naming where a team publishes the rule catalog (the URL of a
#: ``rules/`` folder); Markdown output links each rule below it.
DOCS_URL_ENV = "CONVSCOPE_DOCS_URL"


def rule_doc_url(code: str, name: str, base: str | None = None) -> str | None:
    """The link to a rule's README below ``base`` (default: ``$CONVSCOPE_DOCS_URL``), or
    None when no docs base is configured: convscope knows of no address it could vouch for,
    and ``convscope rule CODE`` prints the same text offline."""
    base = os.environ.get(DOCS_URL_ENV) if base is None else base
    if not base:
        return None
    return f"{base.rstrip('/')}/{code}-{name}/README.md"


def rule_ref(code: str, name: str) -> str:
    """A rule as Markdown: a link to its README when a docs base is configured, else its
    code (``convscope rule CODE`` is the offline documentation)."""
    url = rule_doc_url(code, name)
    return f"[{code}]({url})" if url else f"`{code}`"
