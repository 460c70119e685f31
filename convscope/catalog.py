"""Where the rule catalog and the target profiles live.

The top-level ``rules/`` folder of the repository is data, not code: one folder per rule
(``rules/DW001-narrow-depthwise/`` with ``README.md``, ``bad.py`` and ``good.py``) and the
target profiles in ``rules/profiles/*.yaml``. In a checkout it sits beside the ``convscope``
package; the wheel ships it as ``convscope/_rules`` (see ``pyproject.toml``).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import convscope
from convscope.errors import ConvscopeError


@cache
def rules_dir() -> Path:
    """The rule catalog folder: ``<checkout>/rules`` or ``<site-packages>/convscope/_rules``."""
    package = Path(convscope.__file__).resolve().parent
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


#: Where rule documentation is published; SARIF ``helpUri`` links point below it.
DOCS_BASE_URL = "https://github.com/convscope/convscope/blob/main/rules"


def rule_doc_url(code: str, name: str) -> str:
    return f"{DOCS_BASE_URL}/{code}-{name}/README.md"
