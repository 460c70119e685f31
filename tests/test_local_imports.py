"""Imports sit at module level; a function-local import of convscope or of a third-party
package (outside ``cli/`` and ``api.py``, whose laziness is their design) carries a comment
saying why, on the line above it or at the end of its line(s): torch-free start-up of
``convscope --help`` / ``convscope rule``, an optional dependency, a measured import cost."""

from __future__ import annotations

import ast
import io
import sys
import tokenize
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "convscope"
#: Lazy by design: the CLI's start-up and the public API's re-export table.
EXEMPT = ("cli", "api.py")


def _checked(node: ast.Import | ast.ImportFrom) -> bool:
    """Whether the import names convscope or a third-party package (not the stdlib)."""
    if isinstance(node, ast.ImportFrom):
        if node.level:
            return True
        names = [node.module or ""]
    else:
        names = [a.name for a in node.names]
    return any(n.split(".")[0] not in sys.stdlib_module_names for n in names)


def unexplained_local_imports(source: str) -> list[int]:
    """Lines of the function-local convscope / third-party imports in ``source`` that
    have no comment just above them or at the end of their lines."""
    comments = {
        tok.start[0]
        for tok in tokenize.generate_tokens(io.StringIO(source).readline)
        if tok.type == tokenize.COMMENT
    }
    local = sorted(
        {
            (node.lineno, node.end_lineno or node.lineno)
            for func in ast.walk(ast.parse(source))
            if isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef))
            for node in ast.walk(func)
            if isinstance(node, (ast.Import, ast.ImportFrom)) and _checked(node)
        }
    )
    found: list[int] = []
    explained_to = -1  # the last line of an explained import: the next one shares its reason
    for start, end in local:
        if comments & {start - 1, *range(start, end + 1)} or start - 1 == explained_to:
            explained_to = end
        else:
            found.append(start)
    return found


def _modules() -> list[Path]:
    return [
        p for p in sorted(PACKAGE.rglob("*.py")) if p.relative_to(PACKAGE).parts[0] not in EXEMPT
    ]


def test_the_finder_finds_a_planted_import_without_a_reason() -> None:
    source = (
        "def f():\n"
        "    import torch\n"  # 2: no reason
        "    import json\n"  # the stdlib is not checked
        "    # optional dependency\n"
        "    import fvcore\n"
        "    from convscope.ir import (  # torch-free start-up\n"
        "        graph,\n"
        "    )\n"
        "    x = 1\n"
        "    from convscope import fmt\n"  # 10: no reason (the comment above is not next to it)
        "    from . import sibling\n"  # 11: relative, and the import above explains nothing
        "    from convscope.passes import (\n"
        "        cost,\n"
        "    )  # measured: 0.4 s\n"
        "    from convscope.passes import memory\n"  # 15: shares the reason of the one above
    )
    assert unexplained_local_imports(source) == [2, 10, 11]


def test_every_function_local_import_says_why() -> None:
    missing = [
        f"{path.relative_to(PACKAGE.parent)}:{line}"
        for path in _modules()
        for line in unexplained_local_imports(path.read_text(encoding="utf-8"))
    ]
    assert missing == [], "\n".join(missing)
