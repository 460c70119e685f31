"""``convscope analyze`` end to end, and the bad-input corpus: each bad input exits 2 with
one line on stderr that names the problem, and never leaves a partial output file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from torch import nn

from convscope.cli.app import main

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "cli"
TINY = str(FIX / "tiny.py")


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_table_output() -> None:
    code, out, err = run("analyze", TINY)
    assert code == 0, err
    assert "Conv2d" in out and "Total" in out and "Summary" in out


def test_json_to_file(tmp_path: Path) -> None:
    target = tmp_path / "tiny.json"
    code, _, err = run("analyze", TINY, "--format", "json", "-o", str(target))
    assert code == 0, err
    doc = json.loads(target.read_text())
    assert doc["inputs"] == [[1, 3, 16, 16]]  # from the file's INPUT_SHAPE
    assert doc["totals"]["params"] == 3 * 4 * 9 + 4 + 8 + 4 * 2 + 2
    assert [p.name for p in tmp_path.iterdir()] == ["tiny.json"]  # no temp files left


def test_input_override_and_markdown() -> None:
    code, out, _ = run("analyze", TINY, "-i", "2,3,8,8", "--format", "markdown")
    assert code == 0
    assert "2×3×8×8" in out and "<details>" in out


def test_named_object_and_depth() -> None:
    code, out, err = run("analyze", f"{TINY}:Tiny", "--depth", "0", "--format", "markdown")
    assert code == 0, err
    assert [line.split("|")[1].strip() for line in out.splitlines() if line.startswith("| `")] == [
        "`(root)`"
    ]
    # JSON stays complete whatever --depth says: it is what diff and lint read back.
    code, out, _ = run("analyze", f"{TINY}:Tiny", "--depth", "0", "--format", "json")
    assert [layer["path"] for layer in json.loads(out)["layers"]] == ["", "conv", "bn", "fc"]


def test_torchvision_spec_json() -> None:
    code, out, err = run(
        "analyze", "torchvision:mobilenet_v2", "-i", "1,3,224,224", "--format", "json"
    )
    assert code == 0, err
    doc = json.loads(out)
    assert doc["totals"]["params"] == 3_504_872
    assert round(doc["totals"]["macs"] / 1e9, 3) == 0.301


def test_html_format() -> None:
    code, out, _ = run("analyze", TINY, "--format", "html")
    assert code == 0 and out.startswith("<!doctype html>")


def test_strict_fails_on_unknown_op(tmp_path: Path) -> None:
    model = tmp_path / "histc.py"
    model.write_text(
        "import torch\nclass M(torch.nn.Module):\n"
        "    def forward(self, x):\n        return x.histc(8)\n"
    )
    code, out, _ = run("analyze", str(model), "-i", "1,3,4,4")
    assert code == 0 and "histc" in out
    code, _, err = run("analyze", str(model), "-i", "1,3,4,4", "--strict")
    assert code == 2 and "histc" in err


def test_weights_are_loaded(tmp_path: Path) -> None:
    sys.path.insert(0, str(FIX))
    try:
        import tiny  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(FIX))
    ckpt = tmp_path / "tiny.pt"
    torch.save(tiny.Tiny().state_dict(), ckpt)
    code, _, err = run("analyze", TINY, "--weights", str(ckpt), "--format", "json")
    assert code == 0, err


def _bad_checkpoint(tmp_path: Path) -> str:
    ckpt = tmp_path / "wrong.pt"
    torch.save(nn.Linear(3, 3).state_dict(), ckpt)
    return str(ckpt)


def _garbage_checkpoint(tmp_path: Path) -> str:
    ckpt = tmp_path / "garbage.pt"
    ckpt.write_bytes(b"this is not a checkpoint")
    return str(ckpt)


# (id, argv builder, words the one-line message must contain)
BAD = [
    ("missing-file", lambda t: ["analyze", "nope/missing.py"], ["not found", "missing.py"]),
    (
        "syntax-error",
        lambda t: ["analyze", str(FIX / "syntax_error.py")],
        ["syntax_error.py", "SyntaxError"],
    ),
    ("no-model", lambda t: ["analyze", str(FIX / "empty.py")], ["no model", "empty.py"]),
    ("ambiguous", lambda t: ["analyze", str(FIX / "two_models.py")], ["A", "B"]),
    ("factory-raises", lambda t: ["analyze", str(FIX / "raises.py")], ["width must be positive"]),
    ("not-a-module", lambda t: ["analyze", str(FIX / "returns_int.py")], ["int"]),
    (
        "import-error",
        lambda t: ["analyze", str(FIX / "bad_import.py")],
        ["convscope_no_such_package"],
    ),
    ("missing-name", lambda t: ["analyze", f"{TINY}:Nope"], ["Nope"]),
    ("wrong-shape", lambda t: ["analyze", TINY, "-i", "1,5,16,16"], ["conv", "Conv2d"]),
    ("bad-shape-text", lambda t: ["analyze", TINY, "-i", "1,x,16,16"], ["1,x,16,16"]),
    ("zero-dim", lambda t: ["analyze", TINY, "-i", "1,3,0,16"], ["1,3,0,16"]),
    ("mismatched-ckpt", lambda t: ["analyze", TINY, "--weights", _bad_checkpoint(t)], ["missing"]),
    (
        "garbage-ckpt",
        lambda t: ["analyze", TINY, "--weights", _garbage_checkpoint(t)],
        ["garbage.pt"],
    ),
    ("missing-ckpt", lambda t: ["analyze", TINY, "--weights", str(t / "none.pt")], ["none.pt"]),
    ("unknown-format", lambda t: ["analyze", TINY, "--format", "yaml"], ["yaml"]),
    (
        "out-dir-missing",
        lambda t: ["analyze", TINY, "-o", str(t / "no" / "dir" / "x.json")],
        ["does not exist"],
    ),
    ("unknown-torchvision", lambda t: ["analyze", "torchvision:resnet_nope"], ["resnet_nope"]),
    ("unknown-module", lambda t: ["analyze", "convscope_nosuch.mod:Net"], ["convscope_nosuch"]),
    ("negative-depth", lambda t: ["analyze", TINY, "--depth", "-1"], ["depth"]),
    ("unknown-command", lambda t: ["analyse", TINY], ["analyse"]),
]


@pytest.mark.parametrize(("case", "argv", "words"), BAD, ids=[b[0] for b in BAD])
def test_bad_input_exits_2_with_one_line(case: str, argv, words: list[str], tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out_file = tmp_path / "report.json"
    args = argv(tmp_path)
    if "-o" not in args and case not in ("unknown-command",):
        args = [*args, "-o", str(out_file)]
    code, _, err = run(*args)
    assert code == 2, (case, err)
    lines = [line for line in err.strip().splitlines() if line]
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    assert "Traceback" not in err
    for word in words:
        assert word.lower() in lines[0].lower(), (word, lines[0])
    assert not out_file.exists()
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".tmp") == []


def test_debug_shows_traceback() -> None:
    code, _, err = run("--debug", "analyze", str(FIX / "raises.py"))
    assert code == 2
    assert "Traceback" in err and err.strip().splitlines()[-1].startswith("error: ")


def test_help_does_not_import_torch() -> None:
    code = (
        "import sys, runpy; sys.argv = ['convscope', '--help']\n"
        "try:\n    runpy.run_module('convscope', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "assert 'torch' not in sys.modules, 'torch imported'\nprint('ok')"
    )
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=root,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 0, proc.stderr
    assert "ok" in proc.stdout and "analyze" in proc.stdout


def test_python_dash_m() -> None:
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.run(
        [sys.executable, "-m", "convscope", "--version"],
        capture_output=True,
        text=True,
        cwd=root,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 0 and "convscope" in proc.stdout


# ------------------------------------------------------------------ analysis sections


def test_json_always_has_receptive_fields(tmp_path: Path) -> None:
    target = tmp_path / "tiny.json"
    code, _, err = run("analyze", TINY, "--format", "json", "-o", str(target))
    assert code == 0, err
    doc = json.loads(target.read_text())
    conv = next(r for r in doc["layers"] if r["path"] == "conv")
    assert conv["rf"]["size"] == [3, 3] and conv["rf"]["stride"] == [1, 1]
    # global mean pooling: the output sees the whole 16×16 input
    assert doc["receptive_field"]["covers_input"] is True


def test_verify_rf_agrees_and_lands_in_json() -> None:
    code, out, err = run("analyze", TINY, "--verify-rf", "--format", "json")
    assert code == 0, err
    section = json.loads(out)["rf_verify"]
    assert section["all_agree"] is True and section["checked"] >= 1
    conv = next(c for c in section["layers"] if c["layer"] == "conv")
    # centre pixel (8, 8) of a 3×3 conv with padding 1 sees input rows/cols 7..9
    assert conv["measured"] == conv["analytic"] == [[7, 9], [7, 9]]


def test_verify_rf_table_states_the_verdict() -> None:
    code, out, err = run("analyze", TINY, "--verify-rf")
    assert code == 0, err
    assert "all agree" in out


def test_erf_reports_squares_in_json() -> None:
    code, out, err = run("analyze", TINY, "--erf", "--format", "json")
    assert code == 0, err
    erf = json.loads(out)["erf"]
    sides = erf["sides"]
    assert sides["0.5"] <= sides["0.9"] <= sides["0.99"] <= 16
    assert len(erf["map"]) == 16 and len(erf["map"][0]) == 16


def test_quant_without_weights_says_skipped() -> None:
    code, out, err = run("analyze", TINY, "--quant")
    assert code == 0, err
    assert "skipped" in out and "--weights" in out


def test_quant_with_weights_in_json(tmp_path: Path) -> None:
    ckpt = tmp_path / "tiny.pt"
    sys.path.insert(0, str(FIX))
    try:
        import tiny  # type: ignore[import-not-found]
    finally:
        sys.path.pop(0)
    torch.manual_seed(0)
    torch.save(tiny.Tiny().state_dict(), ckpt)
    code, out, err = run("analyze", TINY, "--weights", str(ckpt), "--quant", "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert "quant" in doc
    conv = next(r for r in doc["layers"] if r["path"] == "conv")
    assert "quant" in conv


def test_calibration_needs_quant() -> None:
    code, _, err = run("analyze", TINY, "--calibration", "random")
    assert code == 2
    assert err.strip() == "error: --calibration needs --quant"


def test_crosscheck_json_stays_valid() -> None:
    pytest.importorskip("fvcore")
    code, out, err = run("analyze", TINY, "--crosscheck", "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["crosscheck"]["totals"]["convscope_macs"] == doc["totals"]["macs"]
    assert doc["crosscheck"]["totals"]["flopcounter_flops"] == 2 * doc["totals"]["macs"]


def test_lazy_model_is_analyzed_from_its_example_input(tmp_path: Path) -> None:
    src = tmp_path / "lazy.py"
    src.write_text(
        "import torch.nn as nn\n"
        "model = nn.Sequential(nn.LazyConv2d(8, 3), nn.ReLU(), nn.Flatten(), nn.LazyLinear(10))\n"
    )
    target = tmp_path / "lazy.json"
    code, _, err = run(
        "analyze", str(src), "-i", "1,3,16,16", "--format", "json", "-o", str(target)
    )
    assert code == 0, err
    doc = json.loads(target.read_text())
    assert doc["totals"]["params"] == 3 * 8 * 9 + 8 + 8 * 14 * 14 * 10 + 10
    # a forward that cannot initialize the lazy layers: one error line, exit 2, no file
    src.write_text(
        "import torch.nn as nn\nmodel = nn.Sequential(nn.LazyConv2d(4, 3), nn.Linear(5, 2))\n"
    )
    target.unlink()
    code, _, err = run(
        "analyze", str(src), "-i", "1,3,16,16", "--format", "json", "-o", str(target)
    )
    assert code == 2 and not target.exists()
    assert err.startswith("error: ") and "LazyConv2d" in err and "Traceback" not in err
