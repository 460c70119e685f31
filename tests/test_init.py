"""The package entry point: lazy re-exports, and the notebook view registered with IPython's
display formatter only when the package is imported inside a running IPython shell."""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from torch import nn

import convscope
from convscope.render.analysis import notebook

ROOT = Path(__file__).resolve().parents[1]


class _HTMLFormatter:
    """The part of IPython's ``text/html`` formatter a library registers with."""

    def __init__(self) -> None:
        self.by_name: dict[tuple[str, str], Callable[[Any], str]] = {}

    def for_type_by_name(self, module: str, name: str, func: Callable[[Any], str]) -> None:
        self.by_name[(module, name)] = func


class _Shell:
    def __init__(self) -> None:
        html = _HTMLFormatter()
        self.html = html
        self.display_formatter = type("DisplayFormatter", (), {"formatters": {"text/html": html}})


def test_load_ext_registers_the_notebook_view_of_an_analysis_and_of_its_view() -> None:
    shell = _Shell()
    convscope.load_ipython_extension(shell)
    registered = shell.html.by_name
    assert set(registered) == {
        ("convscope.analysis.build", "Analysis"),
        ("convscope.analysis.build", "AnalysisView"),
    }
    for module, name in registered:  # the names IPython matches are the classes' own
        cls = getattr(importlib.import_module(module), name)
        assert (cls.__module__, cls.__qualname__) == (module, name)
    a = convscope.analyze(nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU()), (1, 3, 8, 8), name="m")
    html = registered[("convscope.analysis.build", "Analysis")](a)
    assert html == notebook.analysis_html(a)
    assert "<b>convscope · m</b>" in html and "Conv2d" in html and "output RF 3×3" in html
    view = registered[("convscope.analysis.build", "AnalysisView")](a.view(depth=None))
    assert view == notebook.view_html(a.view(depth=None))


_SHELL = (
    "class F:\n"
    "    def __init__(self): self.names = []\n"
    "    def for_type_by_name(self, module, name, func): self.names.append(name)\n"
    "class Shell:\n"
    "    def __init__(self):\n"
    "        self.html = F()\n"
    "        self.display_formatter = type('D', (), {'formatters': {'text/html': self.html}})\n"
)


@pytest.mark.parametrize(
    ("setup", "registered"),
    [
        ("shell = None\n", "[]"),  # a plain interpreter: IPython never imported
        (  # IPython imported (by a library, say) but no shell running
            "import types\nshell = None\nsys.modules['IPython'] = types.SimpleNamespace("
            "get_ipython=lambda: None)\n",
            "[]",
        ),
        (  # inside a running shell
            "import types\nshell = Shell()\nsys.modules['IPython'] = types.SimpleNamespace("
            "get_ipython=lambda: shell)\n",
            "['Analysis', 'AnalysisView']",
        ),
    ],
)
def test_importing_the_package_registers_only_inside_a_running_ipython(
    setup: str, registered: str
) -> None:
    code = (
        "import sys\n" + _SHELL + setup + "had_ipython = 'IPython' in sys.modules\n"
        "import convscope\n"
        "print(shell.html.names if shell else [])\n"
        "assert ('IPython' in sys.modules) == had_ipython, 'IPython imported'\n"
        "bad = [m for m in ('torch', 'rich') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT), "PATH": ""},
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == registered
