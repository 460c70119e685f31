"""The bad-input corpus (``tests/bad_inputs/cases.yaml``) through the CLI.

Every case must exit 2 with exactly one line on stderr, starting with ``error: `` and naming
the problem (the case's key words), without a traceback, and must leave nothing behind: no
output file for ``-o`` / ``--write-baseline``, and no temporary file either. A few cases also
run as real subprocesses (``python -m convscope``), where nothing can hide in the test
runner's capture: logging from libraries, warnings, prints at import.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml
from click.testing import CliRunner
from torch import nn

from convscope.cli.app import main

ROOT = Path(__file__).resolve().parents[2]
BAD = Path(__file__).resolve().parents[1] / "bad_inputs"
TINY = ROOT / "tests" / "fixtures" / "cli" / "tiny.py"
CASES: list[dict[str, Any]] = yaml.safe_load((BAD / "cases.yaml").read_text())


# --------------------------------------------------------------------------- generators
# Checkpoints are built at test time (binary files of torch's format stay out of git).


def _tiny_state() -> dict[str, torch.Tensor]:
    """The state dict of tests/fixtures/cli/tiny.py's model, built from its source."""
    namespace: dict[str, Any] = {}
    exec(compile(TINY.read_text(), str(TINY), "exec"), namespace)
    model = namespace["Tiny"]()
    state: dict[str, torch.Tensor] = model.state_dict()
    return state


class NotAllowed:
    """An arbitrary Python object: weights_only loading must refuse it."""

    def __init__(self) -> None:
        self.payload = "would run code on load"


def good_checkpoint(d: Path) -> Path:
    path = d / "good.pt"
    torch.save(_tiny_state(), path)
    return path


def truncated_checkpoint(d: Path) -> Path:
    data = good_checkpoint(d).read_bytes()
    path = d / "truncated.pt"
    path.write_bytes(data[: len(data) // 2])
    return path


def other_model_checkpoint(d: Path) -> Path:
    """Same keys, other shapes: a state dict of a wider model of the same family."""
    path = d / "other.pt"
    torch.save({k: torch.zeros([s + 1 for s in v.shape]) for k, v in _tiny_state().items()}, path)
    return path


def wrapped_other_model_checkpoint(d: Path) -> Path:
    """A training checkpoint (``{"state_dict": ..., "epoch": ...}``) of another model."""
    path = d / "wrapped.pt"
    other = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Linear(4, 2))
    torch.save({"state_dict": other.state_dict(), "epoch": 7}, path)
    return path


def pickled_object_checkpoint(d: Path) -> Path:
    path = d / "pickled.pt"
    torch.save({**_tiny_state(), "extra": NotAllowed()}, path)
    return path


def pickled_callable_checkpoint(d: Path) -> Path:
    """A reference to ``os.system``: what a malicious pickle would call on load."""
    path = d / "callable.pt"
    torch.save({"hook": os.system, **_tiny_state()}, path)
    return path


def whole_module_checkpoint(d: Path) -> Path:
    path = d / "module.pt"
    torch.save(nn.Conv2d(3, 4, 3), path)
    return path


def tensor_checkpoint(d: Path) -> Path:
    path = d / "tensor.pt"
    torch.save(torch.zeros(3), path)
    return path


def strings_checkpoint(d: Path) -> Path:
    path = d / "strings.pt"
    torch.save(dict.fromkeys(_tiny_state(), "not a tensor"), path)
    return path


def not_utf8_model(d: Path) -> Path:
    """Latin-1 bytes in a source file (kept out of git: linters refuse to read it)."""
    path = d / "not_utf8.py"
    path.write_bytes(b'"""caf\xe9"""\nfrom torch import nn\nmodel = nn.Conv2d(3, 4, 3)\n')
    return path


def _archives() -> Any:
    """tests/fixtures/pt2_archives.py, importable by name (its payload pickles by it)."""
    if "pt2_archives" not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            "pt2_archives", ROOT / "tests" / "fixtures" / "pt2_archives.py"
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["pt2_archives"] = module
        spec.loader.exec_module(module)
    return sys.modules["pt2_archives"]


def pickled_program(d: Path) -> Path:
    """A .pt2 whose sample inputs are a pickle that runs code when torch loads it."""
    return Path(_archives().malicious(d / "evil.pt2", "sample_inputs", d / "ran"))


def opaque_object_program(d: Path) -> Path:
    return Path(_archives().malicious(d / "opaque.pt2", "opaque", d / "ran"))


def model_copy(d: Path) -> Path:
    """tests/fixtures/cli/tiny.py copied (a case may try to overwrite it)."""
    return Path(shutil.copy(TINY, d / "net.py"))


def state_dict_folder(d: Path) -> Path:
    """``out.pt2`` whose sibling ``out.state_dict.pt`` is a folder."""
    (d / "out.state_dict.pt").mkdir()
    return d / "out.pt2"


# Deep nesting and long names are built here: as committed files they would be megabytes
# of brackets, or names some file systems cannot even check out.
DEEP = 30_000


def deep_yaml_config(d: Path) -> Path:
    path = d / "deep.yaml"
    path.write_text("select: " + "[" * DEEP + "]" * DEEP + "\n")
    return path


def deep_json_baseline(d: Path) -> Path:
    path = d / "deep_baseline.json"
    path.write_text('{"version": 1, "findings": ' + "[" * DEEP + "]" * DEEP + "}")
    return path


def deep_json_report(d: Path) -> Path:
    path = d / "deep_report.json"
    path.write_text('{"schema_version": 1, "totals": ' + "[" * DEEP + "]" * DEEP + "}")
    return path


def huge_total_report(d: Path) -> Path:
    """A total of 10**400: valid JSON, beyond any float (``float()`` overflows)."""
    path = d / "huge.json"
    path.write_text(
        '{"schema_version": 1, "model": "m", "totals": {"macs": 1' + "0" * 400 + '}, "layers": []}'
    )
    return path


def long_name(d: Path) -> Path:
    """A path whose last component (300 characters) is longer than NAME_MAX (255)."""
    return d / ("n" * 300 + ".json")


def long_model_name(d: Path) -> Path:
    return d / ("m" * 300 + ".py")


def long_checkpoint_name(d: Path) -> Path:
    return d / ("w" * 300 + ".pt")


def long_config_name(d: Path) -> Path:
    return d / ("c" * 300 + ".yaml")


def directory_named_py(d: Path) -> Path:
    path = d / "model.py"
    path.mkdir()
    return path


def directory_named_pt2(d: Path) -> Path:
    path = d / "model.pt2"
    path.mkdir()
    return path


def pickled_calibration(d: Path) -> Path:
    """Calibration data that references ``os.system``: weights_only loading refuses it."""
    path = d / "evil.pt"
    torch.save({"data": torch.zeros(2, 3, 16, 16), "hook": os.system}, path)
    return path


MAKERS: dict[str, Callable[[Path], Path]] = {
    f.__name__: f
    for f in (
        not_utf8_model,
        good_checkpoint,
        truncated_checkpoint,
        other_model_checkpoint,
        wrapped_other_model_checkpoint,
        pickled_object_checkpoint,
        pickled_callable_checkpoint,
        whole_module_checkpoint,
        tensor_checkpoint,
        strings_checkpoint,
        pickled_program,
        opaque_object_program,
        model_copy,
        state_dict_folder,
        deep_yaml_config,
        deep_json_baseline,
        deep_json_report,
        huge_total_report,
        long_name,
        long_model_name,
        long_checkpoint_name,
        long_config_name,
        directory_named_py,
        directory_named_pt2,
        pickled_calibration,
    )
}


# --------------------------------------------------------------------------- the cases


def _argv(case: dict[str, Any], made: Path | None, out: Path) -> list[str]:
    values = {"bad": str(BAD), "tiny": str(TINY), "made": str(made), "out": str(out)}
    argv = [str(a).format(**values) for a in case["argv"]]
    if case.get("output", True):
        argv += ["-o", str(out / "report")]
    return argv


def _params() -> list[Any]:
    params = []
    for case in CASES:
        marks = []
        if case.get("xfail"):
            marks.append(pytest.mark.xfail(reason=case["xfail"], strict=True))
        params.append(pytest.param(case, id=case["id"], marks=marks))
    return params


def test_corpus_is_well_formed() -> None:
    ids = [c["id"] for c in CASES]
    assert len(ids) == len(set(ids)), "duplicate case ids"
    assert len(CASES) >= 150
    assert {c["argv"][0] for c in CASES} >= set(main.commands), "a command has no bad input"
    for case in CASES:
        assert set(case) <= {"id", "argv", "words", "make", "output", "xfail"}, case["id"]
        assert case["words"], case["id"]
        assert case.get("make") is None or case["make"] in MAKERS, case["id"]


@pytest.mark.parametrize("case", _params())
def test_bad_input(case: dict[str, Any], tmp_path: Path) -> None:
    if case["argv"][0] not in main.commands:  # a command another feature adds
        pytest.skip(f"`convscope {case['argv'][0]}` does not exist")
    inputs, out = tmp_path / "in", tmp_path / "out"
    inputs.mkdir()
    out.mkdir()
    made = MAKERS[case["make"]](inputs) if case.get("make") else None
    result = CliRunner().invoke(main, _argv(case, made, out))

    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code == 2, (result.exit_code, result.stderr, result.stdout)
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    assert "internal error" not in lines[0], lines[0]  # the cause is known: name it
    assert "Traceback" not in result.stderr + result.stdout
    for word in case["words"]:
        assert word.lower() in lines[0].lower(), (word, lines[0])
    assert list(out.iterdir()) == [], "a (partial or temporary) output file was left behind"


# --------------------------------------------------------------------------- subprocesses


SUBPROCESS_CASES = [
    "forward-raises-in-nested-layer",
    "truncated-zip-checkpoint",
    "lint-malformed-yaml",
    "export-program-garbage",
    "export-program-pickled-sample-inputs",
    "analyze-factory-sys-exit-3",
    "analyze-spec-sys-exit",
    "analyze-forward-never-returns",
]


@pytest.mark.parametrize(
    "case_id",
    [
        pytest.param(
            c,
            marks=[pytest.mark.xfail(reason=x, strict=True)]
            if (x := next(case for case in CASES if case["id"] == c).get("xfail"))
            else [],
        )
        for c in SUBPROCESS_CASES
    ],
)
def test_bad_input_in_a_real_process(case_id: str, tmp_path: Path) -> None:
    """The real CLI process: stderr is exactly one line (no logging, no warnings)."""
    case = next(c for c in CASES if c["id"] == case_id)
    if case["argv"][0] not in main.commands:
        pytest.skip(f"`convscope {case['argv'][0]}` does not exist")
    inputs, out = tmp_path / "in", tmp_path / "out"
    inputs.mkdir()
    out.mkdir()
    made = MAKERS[case["make"]](inputs) if case.get("make") else None
    proc = subprocess.run(
        [sys.executable, "-m", "convscope", *_argv(case, made, out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 2, proc.stderr
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    for word in case["words"]:
        assert word.lower() in lines[0].lower(), (word, lines[0])
    assert list(out.iterdir()) == []
