"""convscope: static analysis and profiling for PyTorch CNN architectures.

Importing the package is cheap: torch is imported only when an analysis function is
first used, so ``convscope --help`` and ``convscope rule`` start fast.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = [
    "Analysis",
    "__version__",
    "analyze",
    "analyze_spec",
    "effective_rf",
    "lint",
    "predict_latency",
    "profile",
    "quant_report",
    "receptive_field",
    "rewrite",
    "verify_rf",
    "with_latency",
]

_LAZY = {
    "analyze": ("convscope.api", "analyze"),
    "analyze_spec": ("convscope.api", "analyze_spec"),
    "Analysis": ("convscope.api", "Analysis"),
    "receptive_field": ("convscope.api", "receptive_field"),
    "verify_rf": ("convscope.api", "verify_rf"),
    "effective_rf": ("convscope.api", "effective_rf"),
    "quant_report": ("convscope.api", "quant_report"),
    "lint": ("convscope.api", "lint"),
    "rewrite": ("convscope.api", "rewrite"),
    "profile": ("convscope.api", "profile"),
    "predict_latency": ("convscope.api", "predict_latency"),
    "with_latency": ("convscope.api", "with_latency"),
}


def __getattr__(name: str) -> Any:
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'convscope' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(target[0]), target[1])
