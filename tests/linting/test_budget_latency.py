"""The ``latency`` budget: predicted milliseconds on a target with a hand-made kernel model."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from torch import nn

import convscope
from convscope.cli.app import main
from convscope.errors import ConvscopeError
from convscope.linting.config import Budgets, Settings, load_settings
from convscope.linting.engine import lint
from convscope.linting.registry import default_registry
from convscope.validate import ConfigError

REG = default_registry()
# conv 8→16 3×3 on 16×16: 294,912 MACs at 1 ns = 294.912 µs; the relu 1 µs; the
# Sequential's call 2 µs: 0.297912 ms predicted.
PREDICTED_MS = 0.297912

MODEL_FILE = """
from torch import nn

INPUT_SHAPE = (1, 8, 16, 16)
model = nn.Sequential(nn.Conv2d(8, 16, 3, padding=1), nn.ReLU())
"""


@pytest.mark.parametrize(
    ("text", "ms"), [("12ms", 12.0), ("0.5s", 500.0), ("12.5", 12.5), ("3", 3.0)]
)
def test_the_budget_reads_milliseconds(tmp_path: Path, text: str, ms: float) -> None:
    path = tmp_path / "convscope.yaml"
    path.write_text(f"budgets: {{latency: {text}}}\n", encoding="utf-8")
    assert load_settings(REG, path).budgets.latency == ms


@pytest.mark.parametrize("text", ["fast", "-2ms", "0", "12MiB"])
def test_a_bad_latency_budget_names_the_key(tmp_path: Path, text: str) -> None:
    path = tmp_path / "convscope.yaml"
    path.write_text(f"budgets: {{latency: {text}}}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"budgets\.latency: expected a predicted latency"):
        load_settings(REG, path)


def _analysis() -> convscope.Analysis:
    net = nn.Sequential(nn.Conv2d(8, 16, 3, padding=1), nn.ReLU())
    return convscope.analyze(net, (1, 8, 16, 16), name="net")


@pytest.mark.parametrize(("limit", "exceeded"), [(0.29, True), (0.3, False)])
def test_the_budget_holds_the_prediction(
    kernel_profile: Callable[..., Path], limit: float, exceeded: bool
) -> None:
    target = str(kernel_profile("dev", per_work={"conv.dense": 1e-3}))
    settings = Settings(select=("PF002",), target=target, budgets=Budgets(latency=limit))
    result = lint(_analysis(), settings)
    [b] = result.budgets
    assert b.metric == "latency" and b.actual == pytest.approx(PREDICTED_MS, abs=1e-6)
    assert b.exceeded is exceeded and result.fails(settings.fail_on) is exceeded
    if exceeded:
        [f] = result.budget_findings
        assert f.message.startswith("latency budget exceeded: 0.2979 ms (predicted) > 0.29 ms")


def test_without_a_kernel_model_the_budget_is_an_error() -> None:
    settings = Settings(budgets=Budgets(latency=10.0))
    with pytest.raises(ConvscopeError, match="target 'generic' has no kernel model"):
        lint(_analysis(), settings)


def test_cli(kernel_profile: Callable[..., Path], tmp_path: Path) -> None:
    model = tmp_path / "net.py"
    model.write_text(MODEL_FILE, encoding="utf-8")
    config = tmp_path / "cfg.yaml"
    config.write_text("budgets: {latency: 0.25ms}\n", encoding="utf-8")
    target = str(kernel_profile("dev", per_work={"conv.dense": 1e-3}))
    runner = CliRunner()
    args = ["lint", str(model), "--config", str(config), "--select", "PF002"]
    over = runner.invoke(main, [*args, "--target", target])
    assert over.exit_code == 1, over.stderr
    assert "budget latency: 0.2979 ms of 0.25 ms predicted (119.2%) EXCEEDED" in over.stdout
    bad = runner.invoke(main, args)
    assert bad.exit_code == 2
    [line] = bad.stderr.strip().splitlines()
    assert line.startswith("error: budget 'latency' needs a predicted latency")
