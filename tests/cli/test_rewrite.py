"""``convscope rewrite`` end to end: plan output, --apply round trip through a .pt2 file,
spatialize on the 1×1-trap example, and one-line usage errors with exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from convscope import api
from convscope.cli.app import main
from convscope.model.load import load_model

ROOT = Path(__file__).resolve().parents[2]
TRAP = str(ROOT / "examples" / "onebyone_trap.py")
TINY = str(Path(__file__).resolve().parents[1] / "fixtures" / "cli" / "tiny.py")


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def analyze_program(path: Path) -> api.Analysis:
    """``analyze`` on a saved .pt2 (an unlifted torch.export module)."""
    return api.analyze_spec(str(path))


def test_plan_table_for_resnet18() -> None:
    code, out, err = run("rewrite", "torchvision:resnet18", "-i", "1,3,64,64")
    assert code == 0, err
    assert "layer3.0.conv2" in out and "Conv2d 256→256 3×3 → dw 3×3 + pw 256→256" in out
    assert "590K → 67.8K" in out and "88.5%" in out  # 589,824 → 67,840 weights
    assert "17 layers" in out and "Weight error" in out
    assert "equal the plan exactly" in out


def test_apply_layer3_roundtrip(tmp_path: Path) -> None:
    target = tmp_path / "resnet18_sep.pt2"
    code, out, err = run(
        "rewrite",
        "torchvision:resnet18",
        "-i",
        "1,3,64,64",
        "--only",
        "layer3.*",
        "--apply",
        "-o",
        str(target),
        "--format",
        "json",
    )
    assert code == 0, err
    doc = json.loads(out)
    assert [layer["path"] for layer in doc["layers"]] == [
        "layer3.0.conv1",
        "layer3.0.conv2",
        "layer3.1.conv1",
        "layer3.1.conv2",
    ]
    assert [s["path"] for s in doc["skipped"]] == ["layer3.0.downsample.0"]
    conv2 = doc["layers"][1]
    assert (conv2["params_before"], conv2["params_after"]) == (589_824, 67_840)
    totals = doc["totals"]
    assert totals["params_after"] == 11_689_512 - 3 * (589_824 - 67_840) - (294_912 - 33_920)
    assert (
        doc["verification"]["ok"]
        and doc["verification"]["params_measured"] == (totals["params_after"])
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "resnet18_sep.pt2",
        "resnet18_sep.state_dict.pt",
    ]
    assert f"wrote {target}" in err

    program = torch.export.load(target)
    with torch.no_grad():
        y = program.module()(torch.randn(1, 3, 64, 64))
    assert y.shape == (1, 1000)
    unique = {id(p): p.numel() for p in program.module().parameters()}
    assert sum(unique.values()) == totals["params_after"]
    state = torch.load(tmp_path / "resnet18_sep.state_dict.pt", weights_only=True)
    assert "layer3.0.conv2.0.weight" in state and state["layer3.0.conv2.0.weight"].shape == (
        256,
        1,
        3,
        3,
    )
    analysis = analyze_program(target)
    assert analysis.totals.params == totals["params_after"]
    assert analysis.totals.macs == totals["macs_after"]


def test_spatialize_trap_example(tmp_path: Path) -> None:
    target = tmp_path / "fixed.pt2"
    code, out, err = run("rewrite", TRAP, "--mode", "spatialize", "--apply", "-o", str(target))
    assert code == 0, err
    for i in range(5):
        assert f"stem.{i}.0" in out
    assert "RF 1 → 3 (+2)" in out and "RF 1 → 11 (+10)" in out
    assert "function preserved" in out and "stage1" not in out
    # The CLI builds the model after torch.manual_seed(--seed 0): rebuild the same weights.
    torch.manual_seed(0)
    original = load_model(TRAP, device="cpu").module.eval()
    x = torch.randn(1, 3, 128, 128)  # the program is exported for the example batch size
    with torch.no_grad():
        assert torch.allclose(torch.export.load(target).module()(x), original(x), atol=1e-6, rtol=0)


def test_markdown_weights_and_min_savings(tmp_path: Path) -> None:
    model = load_model(TINY, device="cpu").module
    ckpt = tmp_path / "tiny.pt"
    torch.save(model.state_dict(), ckpt)
    code, out, err = run(
        "rewrite", TINY, "--format", "markdown", "--multiplier", "9", "--weights", str(ckpt)
    )
    assert code == 0, err
    assert out.startswith("## convscope rewrite") and "| `conv` |" in out
    assert f"trained ({ckpt})" in out
    doc = json.loads(run("rewrite", TINY, "--weights", str(ckpt), "--format", "json")[1])
    w = model.conv.weight.detach().double()
    s = torch.linalg.svdvals(w.transpose(0, 1).reshape(3, 4, 9))
    assert doc["layers"][0]["weight_error"] == pytest.approx(
        float(s[:, 1:].square().sum().sqrt() / w.norm()), rel=1e-5
    )
    code, _, err = run("rewrite", TINY, "--min-savings", "0.9")
    assert code == 2 and "below --min-savings" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--only", "nothing.*"), "no layer matches 'nothing.*'"),
        (("--apply",), "--apply needs -o"),
        (("--apply", "-o", "{tmp}/out.txt"), "must name a .pt2 file"),
        (("-o", "{tmp}/out.pt2"), "add --apply"),
        (("--apply", "-o", "{tmp}/missing/out.pt2"), "output directory does not exist"),
        (("--mode", "spatialize", "--multiplier", "2"), "separable mode only"),
    ],
)
def test_usage_errors(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    code, _, err = run("rewrite", TINY, *(a.replace("{tmp}", str(tmp_path)) for a in args))
    assert code == 2
    assert err.startswith("error: ") and message in err and len(err.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_from_lint_takes_the_dw003_layers() -> None:
    """--from-lint rewrites exactly the layers rule DW003 names (run alone, defaults)."""
    from convscope.linting.config import Settings
    from convscope.linting.engine import lint
    from convscope.linting.registry import default_registry

    registry = default_registry()
    analysis = api.analyze_spec("torchvision:resnet18", input_shapes=[(1, 3, 64, 64)])
    named = {
        f.layer
        for f in lint(
            analysis, Settings().with_overrides(registry, select="DW003"), registry=registry
        ).findings
    }
    assert named, "DW003 should name some dense 3x3 convs of resnet18"
    code, out, err = run(
        "rewrite", "torchvision:resnet18", "-i", "1,3,64,64", "--from-lint", "--format", "json"
    )
    assert code == 0, err
    planned = {row["path"] for row in json.loads(out)["layers"]}
    assert planned == named
