"""convscope: static analysis and profiling for PyTorch CNN architectures.

Importing the package is cheap: torch is imported only when an analysis function is
first used, so ``convscope --help`` and ``convscope rule`` start fast.

In a notebook an analysis displays as HTML: imported inside a running IPython, the package
registers the notebook view with IPython's display formatter, for an ``Analysis`` and for
what ``Analysis.view(depth)`` returns (``%load_ext convscope`` registers it explicitly).
IPython is never imported here; the renderer is imported on the first display.
"""

from __future__ import annotations

import sys
from typing import Any

from convscope._version import __version__

__all__ = [
    "Analysis",
    "ModelInputs",
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
    "ModelInputs": ("convscope.api", "ModelInputs"),
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


def _analysis_html(obj: Any) -> str:
    # imported on the first display: the package import stays torch-free and rich-free
    from convscope.render.analysis import notebook

    return notebook.analysis_html(obj)


def _view_html(obj: Any) -> str:
    # imported on the first display: the package import stays torch-free and rich-free
    from convscope.render.analysis import notebook

    return notebook.view_html(obj)


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext convscope``: display an analysis and its ``view(depth)`` as HTML in
    this IPython shell (importing the package inside IPython does the same)."""
    html = ipython.display_formatter.formatters["text/html"]
    # by module and name: registering imports neither the classes nor torch
    html.for_type_by_name("convscope.analysis.build", "Analysis", _analysis_html)
    html.for_type_by_name("convscope.analysis.build", "AnalysisView", _view_html)


def _register_in_running_ipython() -> None:
    """Register the notebook view when imported inside a running IPython shell; outside
    one (IPython not imported, or no shell), do nothing."""
    ipython = sys.modules.get("IPython")
    get_ipython = getattr(ipython, "get_ipython", None)
    shell = get_ipython() if get_ipython is not None else None
    if shell is not None and hasattr(shell, "display_formatter"):
        load_ipython_extension(shell)


_register_in_running_ipython()
