"""Source locations: the file and line where a layer is created.

Given the live model and a layer path ``a.b.c``, the line is found in the source of the
parent module's class (``a.b``): an assignment ``self.c = ...``, or ``self.add_module("c",
...)`` / ``self.register_module("c", ...)`` / ``setattr(self, "c", ...)``. Children of
containers (``nn.Sequential(conv, bn, act)``, ``nn.ModuleList([...])``) point at the argument
of the call that built the container when it can be told apart, else at the call itself.

When the user's model file is known, a location inside it is preferred: if the layer's own
class chain lives elsewhere (torchvision, timm), the nearest ancestor created in the user's
file is reported. When nothing matches, the parent's class definition line is used; ``None``
when no source is available.

This module only uses :mod:`inspect` and :mod:`ast`: the model is typed as ``Any`` and
torch is never imported.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path
from typing import Any

from convscope.linting.finding import Location

_Creation = tuple[Location, ast.expr | None]
_REGISTER_CALLS = frozenset({"add_module", "register_module"})


class SourceLocator:
    """Finds where layers of one model are created. Caches parsed files and answers."""

    def __init__(self, root: Any, source_file: str | Path | None = None) -> None:
        self.root = root
        self.user_file = Path(source_file).resolve() if source_file else None
        self._trees: dict[Path, ast.Module | None] = {}
        self._creations: dict[str, _Creation | None] = {}
        self._answers: dict[str, Location | None] = {}
        self._classes: dict[type, tuple[Path, ast.ClassDef] | None] = {}

    # ------------------------------------------------------------------ public

    def locate(self, path: str) -> Location | None:
        """The best location for the layer ``path`` ("" is the root module)."""
        if path not in self._answers:
            try:
                self._answers[path] = self._locate(path)
            except (OSError, TypeError, ValueError, SyntaxError, RecursionError):
                self._answers[path] = None
        return self._answers[path]

    # ------------------------------------------------------------------ search

    def _locate(self, path: str) -> Location | None:
        parts = path.split(".") if path else []
        if self._module(parts) is None:
            parts = self._existing_prefix(parts)
        if not parts:
            return self._class_location(self.root)
        user = self.user_file
        fallback: Location | None = None
        for i in range(len(parts), 0, -1):
            made = self._creation(".".join(parts[:i]))
            if made is not None:
                if user is None or made[0].file == user:
                    return made[0]
                fallback = fallback or made[0]
                continue
            # Created under a name the source does not spell out (add_module(f"...")):
            # the class whose __init__ created it.
            owner = self._class_location(self._module(parts[: i - 1]))
            if owner is not None:
                if user is None or owner.file == user:
                    return owner
                fallback = fallback or owner
        root = self._class_location(self.root)
        if user is not None and root is not None and root.file == user:
            return root
        return fallback or root

    def _existing_prefix(self, parts: list[str]) -> list[str]:
        for i in range(len(parts), -1, -1):
            if self._module(parts[:i]) is not None:
                return parts[:i]
        return []

    def _module(self, parts: list[str]) -> Any:
        module = self.root
        for name in parts:
            children = getattr(module, "_modules", None)
            if not isinstance(children, dict) or children.get(name) is None:
                return None
            module = children[name]
        return module

    def _creation(self, path: str) -> _Creation | None:
        """Where the module at ``path`` is created, with the expression that creates it."""
        if path in self._creations:
            return self._creations[path]
        self._creations[path] = None  # guards against cycles in odd module graphs
        parts = path.split(".")
        parent_parts, name = parts[:-1], parts[-1]
        parent = self._module(parent_parts)
        result: _Creation | None = None
        if parent is not None:
            result = self._assignment(type(parent), name)
            if result is None and name.isdigit():
                container = (
                    self._creation(".".join(parent_parts))
                    if parent_parts
                    else self._root_call(parent)
                )
                if container is not None:
                    result = (
                        _item(container, int(name))
                        if _is_container(parent)
                        else (container[0], None)
                    )
        self._creations[path] = result
        return result

    def _assignment(self, cls: type, name: str) -> _Creation | None:
        """``self.<name> = ...`` (or add_module / setattr) inside ``cls`` or its bases."""
        for klass in cls.__mro__:
            if klass is object or klass.__module__.split(".")[0] == "torch":
                continue
            found = self._class_node(klass)
            if found is None:
                continue
            file, node = found
            hit = _find_assignment(node, name)
            if hit is not None:
                return Location(file, hit[0]), hit[1]
        return None

    def _root_call(self, root: Any) -> _Creation | None:
        """For a container built in a function of the user's file (``return nn.Sequential(
        ...)``): the first call of the container's class with one argument per child."""
        if self.user_file is None:
            return None
        tree = self._tree(self.user_file)
        if tree is None:
            return None
        type_name = type(root).__name__
        children = len(getattr(root, "_modules", {}) or {})
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and _callee_name(node) == type_name
                and (
                    any(isinstance(a, ast.Starred) for a in node.args) or len(node.args) == children
                )
            ):
                return Location(self.user_file, node.lineno), node
        return None

    def _class_location(self, module: Any) -> Location | None:
        if module is None:
            return None
        for klass in type(module).__mro__:
            if klass is object or klass.__module__.split(".")[0] == "torch":
                continue
            found = self._class_node(klass)
            if found is not None:
                return Location(found[0], found[1].lineno)
        return None

    def _class_node(self, cls: type) -> tuple[Path, ast.ClassDef] | None:
        if cls not in self._classes:
            self._classes[cls] = self._find_class_node(cls)
        return self._classes[cls]

    def _find_class_node(self, cls: type) -> tuple[Path, ast.ClassDef] | None:
        try:
            file = inspect.getsourcefile(cls)
        except (TypeError, OSError):
            return None
        if not file:
            return None
        path = Path(file).resolve()
        tree = self._tree(path)
        if tree is None:
            return None
        candidates = [
            n for n in ast.walk(tree) if isinstance(n, ast.ClassDef) and n.name == cls.__name__
        ]
        if len(candidates) > 1:  # same name defined twice: ask inspect which one (slow)
            try:
                _, start = inspect.getsourcelines(cls)
            except (OSError, TypeError):
                start = -1
            for n in candidates:
                if start in {n.lineno, *(d.lineno for d in n.decorator_list)}:
                    return path, n
        return (path, candidates[0]) if candidates else None

    def _tree(self, path: Path) -> ast.Module | None:
        if path not in self._trees:
            try:
                self._trees[path] = ast.parse(path.read_text(encoding="utf-8"), str(path))
            except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
                self._trees[path] = None
        return self._trees[path]


def _is_container(module: Any) -> bool:
    """``nn.Sequential`` / ``nn.ModuleList`` themselves, whose constructor arguments are the
    children (subclasses may take any arguments)."""
    cls = type(module)
    return cls.__module__.startswith("torch.nn") and cls.__name__ in ("Sequential", "ModuleList")


def _is_self(node: ast.expr) -> bool:
    return isinstance(node, ast.Name) and node.id == "self"


def _callee_name(call: ast.Call) -> str | None:
    func = call.func
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return None


def _targets(node: ast.AST) -> list[ast.expr]:
    if isinstance(node, ast.Assign):
        out: list[ast.expr] = []
        for t in node.targets:
            out.extend(t.elts if isinstance(t, (ast.Tuple, ast.List)) else [t])
        return out
    if isinstance(node, (ast.AnnAssign, ast.AugAssign)):
        return [node.target]
    return []


def _find_assignment(cls_node: ast.ClassDef, name: str) -> tuple[int, ast.expr | None] | None:
    """The first line (and value) in ``cls_node`` that creates the attribute ``name``."""
    hits: list[tuple[int, ast.expr | None]] = []
    for node in ast.walk(cls_node):
        for t in _targets(node):
            if isinstance(t, ast.Attribute) and t.attr == name and _is_self(t.value):
                value = getattr(node, "value", None)
                single = (
                    isinstance(node, ast.Assign)
                    and len(node.targets) == 1
                    and not isinstance(node.targets[0], (ast.Tuple, ast.List))
                )
                line = getattr(node, "lineno", 0)
                hits.append((line, value if single or isinstance(node, ast.AnnAssign) else None))
        if isinstance(node, ast.Call) and len(node.args) >= 2:
            first = node.args[0]
            callee = _callee_name(node)
            is_register = (
                callee in _REGISTER_CALLS
                and isinstance(node.func, ast.Attribute)
                and _is_self(node.func.value)
            )
            is_setattr = callee == "setattr" and len(node.args) >= 3 and _is_self(node.args[0])
            key = node.args[1] if is_setattr else first
            if (is_register or is_setattr) and isinstance(key, ast.Constant) and key.value == name:
                hits.append((node.lineno, node.args[2] if is_setattr else node.args[1]))
    return min(hits, key=lambda h: h[0]) if hits else None


def _item(container: _Creation, index: int) -> _Creation:
    """The ``index``-th child inside the expression that built a container, when visible."""
    loc, expr = container
    if not isinstance(expr, ast.Call):
        return loc, None
    args = list(expr.args)
    if len(args) == 1 and isinstance(args[0], (ast.List, ast.Tuple)):
        args = list(args[0].elts)
    if any(isinstance(a, ast.Starred) for a in args) or index >= len(args):
        return loc, None
    arg = args[index]
    return Location(loc.file, arg.lineno), arg
