"""The example model files in ``examples/`` build, run and have the shapes and sizes we expect."""

from __future__ import annotations

import importlib.util
import json
import re
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest
import torch
from click.testing import CliRunner
from torch import nn

from convscope.cli.app import main

EXAMPLES_DIR = Path(__file__).resolve().parents[1] / "examples"

# File name → output shape of ``build_model()(torch.randn(INPUT_SHAPE))``, worked out by hand.
EXPECTED_OUTPUT_SHAPES: dict[str, tuple[int, ...]] = {
    "resnet.py": (1, 10),
    "mobilenet.py": (1, 10),
    "convmixer.py": (1, 10),
    "onebyone_trap.py": (1, 10),
    "unet.py": (1, 2, 128, 128),  # 2 classes, per pixel at full resolution
    "inception.py": (1, 10),
}

EXPECTED_INPUT_SHAPES: dict[str, tuple[int, int, int, int]] = {
    "resnet.py": (1, 3, 224, 224),
    "mobilenet.py": (1, 3, 224, 224),
    "convmixer.py": (1, 3, 64, 64),
    "onebyone_trap.py": (1, 3, 128, 128),
    "unet.py": (1, 3, 128, 128),
    "inception.py": (1, 3, 96, 96),
}

EXAMPLE_FILES = sorted(EXPECTED_OUTPUT_SHAPES)


def load_example(file_name: str) -> ModuleType:
    """Import ``examples/<file_name>`` from its path, without touching ``sys.path``."""
    path = EXAMPLES_DIR / file_name
    spec = importlib.util.spec_from_file_location(f"convscope_example_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_every_example_file_is_covered() -> None:
    on_disk = {p.name for p in EXAMPLES_DIR.glob("*.py")}
    assert on_disk == set(EXAMPLE_FILES)


@pytest.mark.parametrize("file_name", EXAMPLE_FILES)
def test_example_forward_shape(file_name: str) -> None:
    module = load_example(file_name)
    input_shape = tuple(module.INPUT_SHAPE)
    assert input_shape == EXPECTED_INPUT_SHAPES[file_name]
    torch.manual_seed(0)
    model = module.build_model()
    assert isinstance(model, nn.Module)
    model.eval()
    with torch.no_grad():
        out = model(torch.randn(module.INPUT_SHAPE))
    assert tuple(out.shape) == EXPECTED_OUTPUT_SHAPES[file_name]
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("file_name", EXAMPLE_FILES)
def test_example_builds_on_meta(file_name: str) -> None:
    module = load_example(file_name)
    with torch.device("meta"):
        model = module.build_model()
    params = list(model.parameters())
    assert params
    assert all(p.is_meta for p in params)
    assert all(b.is_meta for b in model.buffers())
    # A forward on meta tensors works too (no data-dependent code).
    with torch.no_grad():
        out = model(torch.empty(module.INPUT_SHAPE, device="meta"))
    assert out.is_meta
    assert tuple(out.shape) == EXPECTED_OUTPUT_SHAPES[file_name]


def test_resnet_param_count() -> None:
    # conv weights have no bias (BN follows); each BatchNorm2d(c) has 2c params.
    # stem:    conv 7×7 3→32 = 32·3·49 = 4,704;  bn 64                          →     4,768
    # layer1:  2 × (2 × 32·32·9 = 18,432 + 2 bn·64 = 128)     = 2 × 18,560          →    37,120
    # layer2:  block1: 32·64·9 = 18,432 + 64·64·9 = 36,864 + 1×1 32·64 = 2,048
    #                  + 3 bn·128 = 384                          = 57,728
    #          block2: 2 × 36,864 + 2 bn·128 = 256              = 73,984          →   131,712
    # layer3:  block1: 64·128·9 = 73,728 + 128·128·9 = 147,456 + 1×1 64·128 = 8,192
    #                  + 3 bn·256 = 768                          = 230,144
    #          block2: 2 × 147,456 + 2 bn·256 = 512             = 295,424         →   525,568
    # layer4:  block1: 128·256·9 = 294,912 + 256·256·9 = 589,824 + 1×1 128·256 = 32,768
    #                  + 3 bn·512 = 1,536                        = 919,040
    #          block2: 2 × 589,824 + 2 bn·512 = 1,024           = 1,180,672       → 2,099,712
    # fc:      256·10 + 10                                                          →     2,570
    # total:   4,768 + 37,120 + 131,712 + 525,568 + 2,099,712 + 2,570 = 2,801,450
    model = load_example("resnet.py").build_model()
    assert count_params(model) == 2_801_450


def test_convmixer_param_count() -> None:
    # patch embed: conv 4×4 3→128 with bias = 128·3·16 + 128 = 6,272;  bn 256
    # per layer:   depthwise 7×7 = 128·49 + 128 = 6,400; bn 256;
    #              pointwise 1×1 = 128·128 + 128 = 16,512; bn 256  → 23,424;  × 6 = 140,544
    # head:        128·10 + 10 = 1,290
    # total:       6,272 + 256 + 140,544 + 1,290 = 148,362
    model = load_example("convmixer.py").build_model()
    assert count_params(model) == 148_362


# --- the findings each example's docstring promises are the ones `convscope lint` gives ---

_CODE = re.compile(r"\b[A-Z]{2}\d{3}\b")
_CLAIM = re.compile(r"^\* on ``(?:--target )?([a-z0-9-]+)``[^:]*: (.*)$")
_COUNT = re.compile(r"([A-Z]{2}\d{3}) ×(\d+)")


def _claims(doc: str) -> dict[str, Counter[str]]:
    """target → findings per code, from the docstring's "What ``convscope lint`` reports"."""
    section = doc.split("What ``convscope lint`` reports", 1)[1]
    claims = {}
    for line in section.splitlines():
        if m := _CLAIM.match(line.strip()):
            target, said = m.groups()
            claims[target] = Counter({c: int(n) for c, n in _COUNT.findall(said)})
            assert claims[target] or said == "nothing.", f"unreadable claim: {line!r}"
    return claims


def _lint_counts(file_name: str, target: str) -> Counter[str]:
    result = CliRunner().invoke(
        main,
        ["lint", str(EXAMPLES_DIR / file_name), "--target", target, "--format", "json"],
        catch_exceptions=False,
    )
    assert result.exit_code in (0, 1), result.output
    doc = json.loads(result.stdout)
    return Counter(f["code"] for m in doc["models"] for f in m["findings"])


@pytest.mark.parametrize("file_name", EXAMPLE_FILES)
def test_docstring_findings_are_what_lint_reports(file_name: str) -> None:
    doc = load_example(file_name).__doc__ or ""
    claims = _claims(doc)
    assert "generic" in claims, "every example says what the default gate reports"
    for target, expected in claims.items():
        assert _lint_counts(file_name, target) == expected, (file_name, target)
    # A rule named elsewhere in the docstring is either claimed above or said to stay quiet.
    claimed = {code for counts in claims.values() for code in counts}
    narrative = doc.split("What ``convscope lint`` reports", 1)[0]
    for sentence in re.split(r"(?<=[.:;])\s+|\n\* ", narrative):
        for code in set(_CODE.findall(sentence)) - claimed:
            assert "quiet" in sentence or f"no {code}" in sentence, (file_name, code, sentence)
