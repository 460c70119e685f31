"""convscope: static analysis and profiling for PyTorch CNN architectures.

Importing the package is cheap: torch is imported only when an analysis function is
first used, so ``convscope --help`` and ``convscope rule`` start fast.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = [
    "Analysis",
    "ModelInputs",
    "__version__",
    "analyze",
    "analyze_spec",
    "effective_rf",
    "lint",
    "profile",
    "quant_report",
    "receptive_field",
    "rewrite",
    "verify_rf",
]

_LAZY = {
    "analyze": ("convscope.api", "analyze"),
    "analyze_spec": ("convscope.api", "analyze_spec"),
    "Analysis": ("convscope.api", "Analysis"),
    "ModelInputs": ("convscope.api", "ModelInputs"),
    "receptive_field": ("convscope.api", "receptive_field"),
    "verify_rf": ("convscope.api", "verify_rf"),
    "effective_rf": ("convscope.api", "effective_rf"),
    "quant_report": ("convscope.api", "quant_report"),
    "lint": ("convscope.api", "lint"),
    "rewrite": ("convscope.api", "rewrite"),
    "profile": ("convscope.api", "profile"),
}


def __getattr__(name: str) -> Any:
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'convscope' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(target[0]), target[1])
