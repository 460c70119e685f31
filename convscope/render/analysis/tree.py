"""The layer tree shared by the terminal table and the notebook view (no rich, no torch)."""

from __future__ import annotations


def missing_ancestors(path: str, shown: set[str]) -> list[str]:
    """Parent paths not yet printed, outermost first, so the tree reads like print(model).
    They are shown as headers without numbers: the numbered rows alone sum to the total.
    ``shown`` is updated."""
    parts = path.split(".") if path else []
    out = []
    for i in range(1, len(parts)):
        prefix = ".".join(parts[:i])
        if prefix not in shown:
            shown.add(prefix)
            out.append(prefix)
    return out


def label(path: str) -> str:
    """The last path component, or ``(root)``."""
    return path.rsplit(".", 1)[-1] if path else "(root)"


def indent(path: str) -> int:
    """Tree level of a row: children of the root are at 0, their children at 1..."""
    return path.count(".") if path else 0
