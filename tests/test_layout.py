"""The package layout's promises: no import cycles between convscope's modules, the CLI
reaches the library only through :mod:`convscope.api` and the renderers, and
``api.py`` holds no logic."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "convscope"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST) -> set[str]:
    """Every convscope module imported at run time, at module level or inside functions
    (``if TYPE_CHECKING:`` blocks excluded)."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = _imports(ast.parse(path.read_text(encoding="utf-8")))
        graph[name] = {t for t in targets if t in modules and t != name}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return out


def test_cycle_finder_finds_a_planted_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycles() -> None:
    assert _cycles(import_graph()) == []


def _within(module: str, packages: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


def test_cli_uses_only_the_public_api_and_renderers() -> None:
    allowed = (
        "convscope.api",
        "convscope.cli",
        "convscope.render",
        "convscope.errors",
        "convscope._io",
    )
    offenders = {
        mod: sorted(t for t in targets if t != "convscope" and not _within(t, allowed))
        for mod, targets in import_graph().items()
        if _within(mod, ("convscope.cli",))
    }
    assert {m: t for m, t in offenders.items() if t} == {}


def test_api_module_only_reexports() -> None:
    tree = ast.parse((PACKAGE / "api.py").read_text(encoding="utf-8"))
    kinds = {type(node).__name__ for node in tree.body}
    assert kinds <= {"Expr", "ImportFrom", "Import", "Assign", "AnnAssign", "If", "FunctionDef"}
    functions = [n.name for n in tree.body if isinstance(n, ast.FunctionDef)]
    assert functions == ["__getattr__"]  # the lazy lookup, nothing else


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
