"""Keyword inputs in every command: a model file whose ``example_inputs()`` returns a dict
(and whose forward has a keyword-only argument), and ``-i NAME=SHAPE`` on the command line."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from convscope.cli.app import main

MODEL = str(Path(__file__).resolve().parents[1] / "fixtures" / "cli" / "keyword_inputs.py")
# conv 3→8 3×3, conv2 8→16 3×3, head 16→4 1×1, all on a 16×16 map
MACS_16 = 16 * 16 * (8 * 3 * 9 + 16 * 8 * 9 + 4 * 16)


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def analyze_json(*extra: str) -> dict:  # type: ignore[type-arg]
    code, out, err = run("analyze", MODEL, "--format", "json", *extra)
    assert code == 0, err
    return json.loads(out)


def test_analyze_from_the_files_dict_and_from_named_shapes() -> None:
    doc = analyze_json()
    assert doc["totals"]["macs"] == MACS_16
    assert doc["inputs"] == [[1, 3, 16, 16], [1, 1, 16, 16]]
    mixed = analyze_json("-i", "1,3,32,32", "-i", "mask=1,1,32,32")  # positional + keyword
    assert mixed["totals"]["macs"] == 4 * MACS_16
    named = analyze_json("-i", "mask=1,1,32,32", "-i", "pixel_values=1,3,32,32")
    assert named["totals"] == mixed["totals"]


def test_lint_and_report(tmp_path: Path) -> None:
    code, out, err = run("lint", MODEL, "-i", "pixel_values=1,3,32,32", "-i", "mask=1,1,32,32")
    assert code in (0, 1) and "error:" not in err, err
    assert "findings (" in out  # the model was traced and judged
    target = tmp_path / "r.json"
    code, _, err = run("report", MODEL, "--format", "json", "-o", str(target))
    assert code in (0, 1), err
    assert json.loads(target.read_text())["totals"]["macs"] == MACS_16


def test_profile_rewrite_and_diff(tmp_path: Path) -> None:
    code, out, err = run(
        "profile", MODEL, "--threads", "1", "--min-time", "0.05", "--warmup", "1",
        "--format", "json", "-i", "1,3,16,16", "-i", "mask=1,1,16,16",
    )  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["profile"]["batches"][0]["input_shapes"] == [
        [1, 3, 16, 16],
        [1, 1, 16, 16],
    ]
    code, out, err = run("rewrite", MODEL, "--min-savings", "0", "--format", "json")
    assert code == 0, err
    assert json.loads(out)["inputs"] == [[1, 3, 16, 16], [1, 1, 16, 16]]
    program = tmp_path / "sep.pt2"
    code, _, err = run("rewrite", MODEL, "--min-savings", "0", "--apply", "-o", str(program))
    assert code == 0 and program.exists(), err
    # the program keeps its keyword sample inputs, and analyzing it calls it with them
    code, out, err = run("analyze", str(program), "--format", "json")
    assert code == 0, err
    assert json.loads(out)["inputs"] == [[1, 3, 16, 16], [1, 1, 16, 16]]
    sides = ("diff", MODEL, MODEL, "-i", "pixel_values=1,3,16,16", "-i", "mask=1,1,16,16")
    code, out, err = run(*sides)
    assert code == 0 and "error:" not in err, err
