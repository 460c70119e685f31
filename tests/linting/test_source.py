"""Source locations: where in the user's file a layer is created."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from convscope.linting.source import SourceLocator
from convscope.model.load import load_model

MODEL = textwrap.dedent("""
    import torch
    from torch import nn
    import torchvision

    INPUT_SHAPE = (1, 3, 32, 32)


    class Block(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.conv = nn.Conv2d(c, c, 3, padding=1)
            self.add_module("norm", nn.BatchNorm2d(c))
            setattr(self, "act", nn.ReLU())
            layers = [nn.Conv2d(c, c, 1) for _ in range(2)]
            self.seq = nn.Sequential(*layers)
            for i in range(2):
                self.add_module(f"extra{i}", nn.Identity())

        def forward(self, x):
            return self.seq(self.act(self.norm(self.conv(x))))


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Sequential(
                nn.Conv2d(3, 8, 3, padding=1),
                nn.BatchNorm2d(8),
                nn.ReLU(),
            )
            self.blocks = nn.ModuleList([Block(8), Block(8)])
            self.body: nn.Module = Block(8)
            self.backbone = torchvision.ops.Conv2dNormActivation(8, 8)

        def forward(self, x):
            x = self.stem(x)
            for b in self.blocks:
                x = b(x)
            return self.backbone(self.body(x))


    def build_model():
        return Net()
""")

SEQ = textwrap.dedent("""
    from torch import nn

    INPUT_SHAPE = (1, 3, 16, 16)


    def build_model():
        return nn.Sequential(
            nn.Conv2d(3, 8, 3),
            nn.ReLU(),
            nn.Conv2d(8, 8, 3),
        )
""")


def line_of(path: Path, needle: str, start: int = 0) -> int:
    lines = path.read_text().splitlines()
    for i, text in enumerate(lines[start:], start + 1):
        if needle in text:
            return i
    raise AssertionError(needle)


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> tuple[SourceLocator, Path]:
    path = tmp_path_factory.mktemp("src") / "model_src.py"
    path.write_text(MODEL)
    loaded = load_model(str(path))
    return SourceLocator(loaded.module, loaded.source_file), path


@pytest.mark.parametrize(
    "layer, needle",
    [
        ("stem", "self.stem = nn.Sequential("),
        ("stem.0", "nn.Conv2d(3, 8, 3, padding=1),"),
        ("stem.1", "nn.BatchNorm2d(8),"),
        ("stem.2", "nn.ReLU(),"),
        ("blocks", "self.blocks = nn.ModuleList"),
        ("blocks.1", "self.blocks = nn.ModuleList"),
        ("blocks.0.conv", "self.conv = nn.Conv2d"),
        ("blocks.0.norm", 'self.add_module("norm"'),
        ("blocks.1.act", 'setattr(self, "act"'),
        ("blocks.0.seq.1", "self.seq = nn.Sequential(*layers)"),
        ("body", "self.body: nn.Module = Block(8)"),
        ("body.conv", "self.conv = nn.Conv2d"),
        ("blocks.0.extra1", "class Block(nn.Module):"),  # dynamic name: the class line
        ("", "class Net(nn.Module):"),
        ("backbone.0", "self.backbone = torchvision.ops"),  # library internals: nearest user line
        ("stem.9", "self.stem = nn.Sequential("),  # unknown child: nearest existing ancestor
    ],
)
def test_locations(net: tuple[SourceLocator, Path], layer: str, needle: str) -> None:
    locator, path = net
    loc = locator.locate(layer)
    assert loc is not None
    assert loc.file == path.resolve()
    assert loc.line == line_of(path, needle), (layer, loc.line)
    assert locator.locate(layer) is loc  # cached


def test_sequential_built_in_a_function(tmp_path: Path) -> None:
    path = tmp_path / "seq_model.py"
    path.write_text(SEQ)
    loaded = load_model(str(path))
    locator = SourceLocator(loaded.module, loaded.source_file)
    loc = locator.locate("2")
    assert loc is not None and loc.line == line_of(path, "nn.Conv2d(8, 8, 3)")


def test_library_model_points_into_the_library() -> None:
    loaded = load_model("torchvision:resnet18")
    locator = SourceLocator(loaded.module, loaded.source_file)
    loc = locator.locate("layer1.0.conv1")
    assert loc is not None and loc.file.name == "resnet.py" and loc.third_party
    text = loc.file.read_text().splitlines()[loc.line - 1]
    assert "self.conv1 =" in text


def test_no_source_gives_none() -> None:
    from types import SimpleNamespace

    assert SourceLocator(SimpleNamespace(_modules={}), None).locate("x") is None
