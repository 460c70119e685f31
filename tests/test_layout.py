"""The package layout's promises: the layers and dependency rules of pyproject.toml's
``[tool.importlinter]`` contracts (no import cycle, the CLI reaches the library only through
:mod:`convscope.api` and the renderers...), and ``api.py`` holds no logic."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "convscope"


ROOT = PACKAGE.parent
#: The venv's import-linter, beside the interpreter running the tests.
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` on the package under ``root`` with that root's pyproject.toml."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo", "--config", str(root / "pyproject.toml")],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_import_contracts_hold() -> None:
    """The layers and the dependency rules of pyproject.toml's ``[tool.importlinter]``."""
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout
    assert "ignored" not in result.stdout  # no import is exempt from its contract


def test_the_contracts_catch_a_planted_upward_import(tmp_path: Path) -> None:
    """The same configuration breaks on a package whose bottom layer imports its top: once
    inside a function, once under TYPE_CHECKING (both count)."""
    config = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text(config, encoding="utf-8")
    package = tmp_path / "convscope"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for py in PACKAGE.rglob("*.py"):  # the same modules, empty: every contract's names exist
        target = package / py.relative_to(PACKAGE)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("")
    (package / "formulas.py").write_text("def f() -> None:\n    from convscope import report\n")
    (package / "errors.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import convscope.api\n"
    )
    result = lint_imports(tmp_path)
    assert result.returncode != 0
    assert "convscope.formulas -> convscope.report (l.2)" in result.stdout, result.stdout
    assert "convscope.errors -> convscope.api (l.3)" in result.stdout, result.stdout


def test_api_module_only_reexports() -> None:
    tree = ast.parse((PACKAGE / "api.py").read_text(encoding="utf-8"))
    kinds = {type(node).__name__ for node in tree.body}
    assert kinds <= {"Expr", "ImportFrom", "Import", "Assign", "AnnAssign", "If", "FunctionDef"}
    functions = [n.name for n in tree.body if isinstance(n, ast.FunctionDef)]
    assert functions == ["__getattr__"]  # the lazy lookup, nothing else


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _type_checking_imports() -> dict[str, tuple[str, str]]:
    tree = ast.parse((PACKAGE / "api.py").read_text(encoding="utf-8"))
    block = next(n for n in tree.body if isinstance(n, ast.If) and _is_type_checking(n))
    return {
        (a.asname or a.name): (node.module, a.name)
        for node in block.body
        if isinstance(node, ast.ImportFrom) and node.module
        for a in node.names
    }


def test_api_lazy_table_matches_its_typed_imports() -> None:
    from convscope import api

    assert _type_checking_imports() == api._EXPORTS
    for name in api.__all__:
        assert getattr(api, name) is not None


def test_top_level_names_come_from_the_api() -> None:
    import convscope
    from convscope import api

    for name in convscope.__all__:
        if name != "__version__":
            assert getattr(convscope, name) is getattr(api, name), name
