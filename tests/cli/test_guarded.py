"""Every command runs the model's code guarded: its prints stay off stdout, the caller's
global settings survive the command, and output problems surface before any work."""

from __future__ import annotations

import errno
import json
import random
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from convscope.cli.app import main
from convscope.model.state import global_state, preserved_global_state

ROOT = Path(__file__).resolve().parents[2]
TINY = str(ROOT / "tests" / "fixtures" / "cli" / "tiny.py")

CHATTY = """
import torch
from torch import nn

print("imported " * 20000)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        print("built")
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        print("forward " * 5000)
        return self.fc(self.conv(x).mean((2, 3)))


INPUT_SHAPE = (1, 3, 16, 16)
"""

QUICK_PROFILE = ["--min-time", "0", "--max-iters", "1", "--warmup", "0", "--no-per-layer"]


def _json_commands(model: str) -> dict[str, list[str]]:
    return {
        "analyze": ["analyze", model, "--format", "json"],
        "lint": ["lint", model, "--format", "json", "--exit-zero"],
        "rewrite": ["rewrite", model, "--format", "json"],
        "profile": ["profile", model, "--format", "json", *QUICK_PROFILE],
        "report": ["report", model, "--format", "json"],
        "diff": ["diff", model, model, "--format", "json"],
    }


@pytest.mark.parametrize("command", sorted(_json_commands("m")))
def test_model_prints_never_reach_machine_readable_stdout(command: str, tmp_path: Path) -> None:
    model = tmp_path / "chatty.py"
    model.write_text(CHATTY)
    result = CliRunner().invoke(main, _json_commands(str(model))[command])
    assert result.exit_code == 0, result.stderr
    json.loads(result.stdout)  # all of stdout is the one JSON document
    assert "forward forward" in result.stderr or "imported imported" in result.stderr


@pytest.fixture
def unusual_caller_state() -> Iterator[None]:
    with preserved_global_state():
        torch.manual_seed(99)
        random.seed(3)
        np.random.seed(4)
        torch.set_grad_enabled(False)
        torch.set_num_threads(1)
        yield


def _all_commands(tmp: Path) -> dict[str, list[str]]:
    return {
        "analyze": ["analyze", TINY, "--device", "cpu", "--erf", "--verify-rf"],
        "lint": ["lint", TINY, "--exit-zero"],
        "rewrite": ["rewrite", TINY],
        "profile": ["profile", TINY, *QUICK_PROFILE, "--seed", "5"],
        "report": ["report", TINY, "--erf", "--rewrite", "-o", str(tmp / "r.html")],
        "diff": ["diff", TINY, TINY],
        "rule": ["rule", "DW001"],
        "config": ["config"],
    }


@pytest.mark.parametrize("command", sorted(_all_commands(Path("."))))
def test_command_keeps_the_callers_global_state(
    command: str, tmp_path: Path, unusual_caller_state: None
) -> None:
    argv = _all_commands(tmp_path)[command]
    before = global_state()
    result = CliRunner().invoke(main, argv)
    assert result.exit_code == 0, result.stderr
    assert before.same(global_state()) == [], command


def test_every_command_is_checked_for_global_state() -> None:
    assert set(_all_commands(Path("."))) == set(main.commands)


def test_a_read_only_output_directory_fails_before_the_model_is_imported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "imported"
    model = tmp_path / "m.py"
    model.write_text(
        f"from pathlib import Path\nPath({str(marker)!r}).touch()\n"
        "from torch import nn\nmodel = nn.Conv2d(3, 4, 3)\n"
    )
    out = tmp_path / "out"
    out.mkdir()

    def read_only(*args: Any, **kwargs: Any) -> Any:
        raise OSError(errno.EROFS, "Read-only file system")

    # running as root ignores permission bits, so simulate the file system's refusal
    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    result = CliRunner().invoke(main, ["analyze", str(model), "-o", str(out / "r.json")])
    assert result.exit_code == 2
    assert result.stderr.strip() == f"error: cannot write {out / 'r.json'}: Read-only file system"
    assert not marker.exists(), "the model ran before the output was checked"
    assert list(out.iterdir()) == []


def test_timeout_bounds_a_forward_that_only_hangs_on_real_data(tmp_path: Path) -> None:
    """Tracing on meta passes; the profiled forward on real tensors never returns."""
    model = tmp_path / "late.py"
    model.write_text(
        "import torch\nfrom torch import nn\n\n\nclass Net(nn.Module):\n"
        "    def __init__(self):\n        super().__init__()\n"
        "        self.conv = nn.Conv2d(3, 4, 3)\n\n"
        "    def forward(self, x):\n        while not x.is_meta:\n            pass\n"
        "        return self.conv(x)\n\n\nINPUT_SHAPE = (1, 3, 16, 16)\n"
    )
    result = CliRunner().invoke(main, ["profile", str(model), "--timeout", "0.3", *QUICK_PROFILE])
    assert result.exit_code == 2
    assert result.stderr.strip().startswith("error: Net (")
    assert "late.py): forward did not finish within --timeout 0.3 s" in result.stderr
