"""AR002 judges a 1×1 after a depthwise conv by the block around it: an inverted residual
(a residual add after the narrow projection) with an activated projection is the mistake;
a depthwise-separable branch that narrows (a detection head's class branch) is not."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

import convscope
from convscope.linting.config import Settings
from convscope.linting.engine import lint
from convscope.linting.finding import Finding


def ar002(model: nn.Module, options: dict[str, Any] | None = None) -> list[Finding]:
    analysis = convscope.analyze(model, (1, 3, 32, 32), name=type(model).__name__)
    settings = Settings(select=("AR002",), rules={"AR002": options} if options else {})
    result = lint(analysis, settings)
    assert not result.skipped
    return list(result.findings)


def conv_bn_act(cin: int, cout: int, k: int, act: nn.Module, groups: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, padding=k // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
        act,
    )


class ClassBranch(nn.Module):
    """``wide`` channels from a 3×3 conv, a 1×1 neck conv ``wide → 256``, then depthwise 3×3
    (256) and 1×1 256→80 + BN + SiLU; with ``residual`` (``wide`` = 80) the branch's input
    is added back: an inverted residual."""

    def __init__(self, wide: int, residual: bool = False) -> None:
        super().__init__()
        act = nn.SiLU()  # one instance for every conv
        self.residual = residual
        self.stem = conv_bn_act(3, wide, 3, act)
        self.neck = conv_bn_act(wide, 256, 1, act)
        self.dw = conv_bn_act(256, 256, 3, act, groups=256)
        self.cls = conv_bn_act(256, 80, 1, act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        y = self.cls(self.dw(self.neck(x)))
        return x + y if self.residual else y


def test_a_separable_class_branch_is_no_bottleneck() -> None:
    # nothing is added after the 1×1: no inverted residual, whether the neck conv in front
    # narrows (384 → 256, a detection head) or widens (40 → 256)
    assert ar002(ClassBranch(384)) == []
    assert ar002(ClassBranch(40)) == []


def test_the_residual_add_makes_it_an_inverted_residual() -> None:
    [f] = ar002(ClassBranch(80, residual=True))
    assert f.layer == "cls.0"
    assert "(expansion `neck.0` 80→256, depthwise `dw.0`, residual add)" in f.message
    # the shared SiLU is named where this call runs (a row per place)
    assert "narrows 3.2×" in f.message and "(`cls.2`, silu)" in f.message
    # min_ratio: how much the projection must narrow
    assert ar002(ClassBranch(80, residual=True), {"min_ratio": 4.0}) == []


class SharedActivationBlocks(nn.Module):
    """Two inverted residuals (16 → 96 → 16) whose projection runs the shared ReLU6 too."""

    def __init__(self) -> None:
        super().__init__()
        self.act = nn.ReLU6()
        self.stem = nn.Conv2d(3, 16, 3, padding=1)
        self.blocks = nn.ModuleList(
            nn.ModuleDict(
                {
                    "expand": nn.Conv2d(16, 96, 1),
                    "dw": nn.Conv2d(96, 96, 3, padding=1, groups=96),
                    "project": nn.Conv2d(96, 16, 1),
                }
            )
            for _ in range(2)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.act(self.stem(x))
        for b in self.blocks:
            y = self.act(b["dw"](self.act(b["expand"](x))))
            x = x + self.act(b["project"](y))
        return x


def test_a_shared_activation_instance_does_not_hide_the_mistake() -> None:
    found = ar002(SharedActivationBlocks())
    assert [f.layer for f in found] == ["blocks.0.project", "blocks.1.project"]
    assert all(f.values["out_channels"] == 16 and f.values["in_channels"] == 96 for f in found)


class ConcatExpansion(nn.Module):
    """A block that widens 16 → 64 by concatenating four cheap maps (no conv widens), then
    depthwise 3×3, 1×1 64→16 + ReLU, and the residual add: the add names the block."""

    def __init__(self, residual: bool) -> None:
        super().__init__()
        self.residual = residual
        self.stem = nn.Conv2d(3, 16, 3, padding=1)
        self.dw = nn.Conv2d(64, 64, 3, padding=1, groups=64)
        self.project = nn.Conv2d(64, 16, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        wide = torch.cat([x, x.abs(), -x, x * 0.5], 1)
        y = torch.relu(self.project(self.dw(wide)))
        return x + y if self.residual else y


def test_a_residual_add_marks_an_inverted_residual_without_a_visible_expansion() -> None:
    [f] = ar002(ConcatExpansion(residual=True))
    assert "(depthwise `dw`, residual add)" in f.message
    assert ar002(ConcatExpansion(residual=False)) == []


def test_a_hand_written_swish_after_the_projection_is_an_activation() -> None:
    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stem = nn.Conv2d(3, 16, 3, padding=1)
            self.expand = nn.Conv2d(16, 96, 1)
            self.dw = nn.Conv2d(96, 96, 3, padding=1, groups=96)
            self.project = nn.Conv2d(96, 16, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = self.stem(x)
            y = self.project(self.dw(self.expand(x)))
            return x + y * torch.sigmoid(y)

    [f] = ar002(Block())
    assert f.layer == "project" and "sigmoid" in f.message
