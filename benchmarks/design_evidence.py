"""What the design rules cost, measured: RF002, RF001, DW001 and the spatialize rewrite on
trained models.

A task where spatial context matters, built from scikit-learn's bundled 8×8 digits (no
download): each digit is upscaled to 12×12 and placed at a random position on a 32×32
canvas together with random distractor strokes; the label is the digit. Small CNNs are
trained on it (seeded, CPU, several seeds per variant):

* a reference CNN of six 3×3 convs; the same network with its first ``k`` 3×3 convs
  replaced by 1×1 (k = 0..6), with a run of three replaced at later positions, and with
  the last ones replaced — what convscope's lint (``generic``) reports on each, and the
  receptive field at the end of the replaced run;
* the RF002-flagged variant rewritten as a user applies the finding's command
  (``convscope rewrite MODEL --only ... --mode spatialize``, through the library's
  ``rewrite``), and the same with random, frozen depthwise filters (``--frozen-spatial``:
  only the 1×1 channel mixing is learned);
* a depthwise-separable network at a narrow and a wide depthwise width, in float and with
  INT8 weights (BatchNorm folded; symmetric, per tensor and per channel);
* RF001: the variants whose final receptive field covers less than 80 % of the canvas
  against those that cover it.

``python benchmarks/design_evidence.py [--quick] [--seeds 3] [--threads 1] [--no-write]``
rewrites the ``## Design rules on trained models`` section of ``benchmarks/RESULTS.md``
and the plot ``benchmarks/design_evidence.png``. Needs the ``bench`` extra (scikit-learn)
and matplotlib.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import json
import math
import os
import platform
import shlex
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fake_quant import Scheme, fake_quant_weight
from results_file import RESULTS, write_section

from convscope import api

SECTION = "## Design rules on trained models"
PLOT = Path(__file__).resolve().parent / "design_evidence.png"

# --------------------------------------------------------------------------- the task

CANVAS = 32  # side of the image the networks classify
DIGIT = 12  # side of an upscaled digit on it
STROKES = 3  # distractor strokes per image
STROKE_LENGTH = (5.0, 11.0)  # pixels
TEST_SHARE = 0.2
DATA_SEED = 0  # the split and the test canvases; the training seed varies the rest


@dataclass(frozen=True)
class Task:
    """Training digits (placed anew every epoch) and fixed test canvases."""

    train_digits: Tensor  # [N, 1, DIGIT, DIGIT] in [0, 1]
    train_labels: Tensor
    test_x: Tensor  # [M, 1, CANVAS, CANVAS]
    test_y: Tensor


def compose(digits: Tensor, gen: torch.Generator, canvas: int = CANVAS) -> Tensor:
    """Each digit at a uniformly random position of a blank canvas, then ``STROKES`` random
    line segments (anti-aliased, about 2 px wide, intensity 0.5–1) anywhere on it, merged
    with max: the strokes have the digits' own stroke width and brightness, so only their
    shape and arrangement tell them apart."""
    n, side = digits.shape[0], digits.shape[-1]
    out = torch.zeros(n, 1, canvas, canvas)
    pos = torch.randint(0, canvas - side + 1, (n, 2), generator=gen)
    for i in range(n):
        y, x = int(pos[i, 0]), int(pos[i, 1])
        out[i, 0, y : y + side, x : x + side] = digits[i, 0]
    grid = torch.arange(canvas, dtype=torch.float32)
    py, px = grid.view(1, canvas, 1), grid.view(1, 1, canvas)
    for _ in range(STROKES):
        start = torch.rand(n, 2, generator=gen) * (canvas - 1)
        angle = torch.rand(n, generator=gen) * math.pi
        lo, hi = STROKE_LENGTH
        length = lo + torch.rand(n, generator=gen) * (hi - lo)
        end = start + length[:, None] * torch.stack([angle.sin(), angle.cos()], 1)
        level = 0.5 + 0.5 * torch.rand(n, generator=gen)
        sy, sx = start[:, 0].view(n, 1, 1), start[:, 1].view(n, 1, 1)
        dy, dx = (end - start)[:, 0].view(n, 1, 1), (end - start)[:, 1].view(n, 1, 1)
        t = (((py - sy) * dy + (px - sx) * dx) / (dy * dy + dx * dx)).clamp(0, 1)
        dist = torch.hypot(py - (sy + t * dy), px - (sx + t * dx))
        ink = (1.0 - dist).clamp(min=0) * level.view(n, 1, 1)
        out[:, 0] = torch.maximum(out[:, 0], ink)
    return out


TEST_COPIES = 2  # placements of each held-out digit


def load_task(test_copies: int = TEST_COPIES) -> Task:
    """scikit-learn's 1,797 digits in [0, 1], bilinearly upscaled to ``DIGIT``; a seeded
    80/20 split; each test digit composed ``test_copies`` times at fixed seeded places."""
    # scikit-learn is the bench extra, not a dependency of convscope or its tests
    from sklearn.datasets import load_digits

    raw = load_digits()
    x = torch.tensor(raw.images, dtype=torch.float32).unsqueeze(1) / 16.0
    x = F.interpolate(x, size=(DIGIT, DIGIT), mode="bilinear", align_corners=False).clamp(0, 1)
    y = torch.tensor(raw.target, dtype=torch.long)
    gen = torch.Generator().manual_seed(DATA_SEED)
    perm = torch.randperm(len(y), generator=gen)
    n_test = round(TEST_SHARE * len(y))
    test, train = perm[:n_test], perm[n_test:]
    test_digits = x[test].repeat(test_copies, 1, 1, 1)
    return Task(x[train], y[train], compose(test_digits, gen), y[test].repeat(test_copies))


# --------------------------------------------------------------------------- the networks

#: (output channels, stride) of the six convs of the plain network
PLAIN = ((8, 1), (16, 2), (16, 1), (32, 2), (32, 1), (32, 1))


class Plain(nn.Module):
    """Six conv + BN + ReLU blocks (``features.i.0`` is conv i), global average pool,
    linear. ``kernels[i]`` is conv i's side: 3 in the reference, 1 where it is replaced."""

    def __init__(self, kernels: Sequence[int], classes: int = 10) -> None:
        super().__init__()
        if len(kernels) != len(PLAIN):
            raise ValueError(f"{len(PLAIN)} kernel sides expected, got {len(kernels)}")
        blocks: list[nn.Module] = []
        c_in = 1
        for k, (c_out, stride) in zip(kernels, PLAIN, strict=True):
            blocks.append(
                nn.Sequential(
                    nn.Conv2d(c_in, c_out, k, stride, k // 2, bias=False),
                    nn.BatchNorm2d(c_out),
                    nn.ReLU(),
                )
            )
            c_in = c_out
        self.features = nn.Sequential(*blocks)
        self.fc = nn.Linear(c_in, classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc(self.features(x).mean((2, 3)))


def conv_path(i: int) -> str:
    return f"features.{i}.0"


def kernels_replaced(positions: Sequence[int]) -> tuple[int, ...]:
    """The reference's kernel sides with the convs at ``positions`` made 1×1."""
    return tuple(1 if i in positions else 3 for i in range(len(PLAIN)))


class SeparableBlock(nn.Module):
    """Depthwise 3×3 + BN + ReLU, pointwise 1×1 + BN + ReLU."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.dw = nn.Conv2d(c_in, c_in, 3, stride, 1, groups=c_in, bias=False)
        self.dw_bn = nn.BatchNorm2d(c_in)
        self.pw = nn.Conv2d(c_in, c_out, 1, bias=False)
        self.pw_bn = nn.BatchNorm2d(c_out)

    def forward(self, x: Tensor) -> Tensor:
        x = F.relu(self.dw_bn(self.dw(x)))
        return F.relu(self.pw_bn(self.pw(x)))


class Separable(nn.Module):
    """A 3×3 stem conv to ``width`` channels, then five separable blocks at the plain
    network's strides whose depthwise convs all run over ``width`` channels (the last
    pointwise conv widens to 32 for the classifier)."""

    def __init__(self, width: int, classes: int = 10) -> None:
        super().__init__()
        self.stem = nn.Conv2d(1, width, 3, 1, 1, bias=False)
        self.stem_bn = nn.BatchNorm2d(width)
        strides = [s for _, s in PLAIN[1:]]
        outs = [width] * (len(strides) - 1) + [32]
        self.blocks = nn.Sequential(
            *(SeparableBlock(width, c, s) for c, s in zip(outs, strides, strict=True))
        )
        self.fc = nn.Linear(32, classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.blocks(F.relu(self.stem_bn(self.stem(x))))
        return self.fc(x.mean((2, 3)))


NARROW, WIDE = 8, 32  # depthwise widths: below / at edge-int8's min-depthwise-channels


# --------------------------------------------------------------------------- variants


@dataclass(frozen=True)
class Variant:
    """One trained design: ``build(seed)`` returns a fresh model (seeded init)."""

    name: str
    group: Literal["prefix", "window", "suffix", "spatialize", "separable"]
    text: str
    build: Callable[[int], nn.Module]
    replaced: tuple[int, ...] = ()  # plain convs made 1×1
    quantize: bool = False  # also evaluated with INT8 weights


def seeded(build: Callable[[], nn.Module], seed: int) -> nn.Module:
    """``build()`` with parameters drawn from ``seed``; the caller's RNG is left alone."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build()


def plain_builder(positions: Sequence[int]) -> Callable[[int], nn.Module]:
    kernels = kernels_replaced(positions)
    return lambda seed: seeded(lambda: Plain(kernels), seed)


def plain_variants() -> list[Variant]:
    n = len(PLAIN)
    out = [
        Variant(
            f"first {k} → 1×1" if k else "reference (3×3)",
            "prefix",
            f"convs 0–{k - 1} 1×1" if k > 1 else ("conv 0 1×1" if k else "six 3×3 convs"),
            plain_builder(range(k)),
            tuple(range(k)),
        )
        for k in range(n + 1)
    ]
    for j in range(1, n - 2):
        pos = tuple(range(j, j + 3))
        out.append(
            Variant(
                f"convs {j}–{j + 2} → 1×1",
                "window",
                f"a run of three 1×1 convs starting at conv {j}",
                plain_builder(pos),
                pos,
            )
        )
    for m in (1, 2):
        pos = tuple(range(n - m, n))
        out.append(
            Variant(
                f"last {m} → 1×1",
                "suffix",
                f"the last {m} conv(s) 1×1",
                plain_builder(pos),
                pos,
            )
        )
    return out


def separable_builder(width: int) -> Callable[[int], nn.Module]:
    return lambda seed: seeded(lambda: Separable(width), seed)


def separable_variants() -> list[Variant]:
    return [
        Variant(
            f"separable, depthwise over {w}",
            "separable",
            f"3×3 stem + 5 depthwise-separable blocks, every depthwise conv over {w} channels",
            separable_builder(w),
            quantize=True,
        )
        for w in (NARROW, WIDE)
    ]


# --------------------------------------------------------------------------- lint, rewrite

INPUT = (1, 1, CANVAS, CANVAS)


@dataclass(frozen=True)
class LintSummary:
    codes: tuple[str, ...]  # every finding's code, sorted, with repeats
    rf002: tuple[dict[str, Any], ...]  # RF002 findings: layer, message, rewrite command
    rf001_coverage: float | None  # the RF001 finding's coverage, None when it is silent


def lint_model(model: nn.Module, target: str = "generic") -> LintSummary:
    """convscope's lint with the default rule selection, as ``convscope lint`` runs it."""
    registry = api.default_registry()
    settings = api.Settings().with_overrides(registry, target=target)
    analysis = api.analyze(model, INPUT, name="model.py")
    result = api.lint(
        analysis,
        settings,
        module=model,
        receptive_field=api.with_receptive_field,
        registry=registry,
    )
    rf002 = tuple(
        {"layer": f.layer, "message": f.message, "rewrite": f.rewrite}
        for f in result.findings
        if f.code == "RF002"
    )
    cover = next((f.value for f in result.findings if f.code == "RF001"), None)
    return LintSummary(tuple(sorted(f.code for f in result.findings)), rf002, cover)


def receptive_fields(model: nn.Module) -> dict[str, int]:
    """Receptive field side (input pixels) of each conv's output, from convscope's pass."""
    rf = api.receptive_field(model, INPUT)
    return {
        path: int(node.size[0])
        for path, node in rf.per_layer.items()
        if isinstance(model.get_submodule(path), nn.Conv2d)
    }


def rewrite_only(command: str) -> tuple[list[str], str]:
    """The ``--only`` layers and ``--mode`` of a finding's ``convscope rewrite`` command."""
    words = shlex.split(command)
    only = [words[i + 1] for i, w in enumerate(words) if w == "--only"]
    mode = words[words.index("--mode") + 1]
    return only, mode


def spatialized(model: nn.Module, command: str, frozen: bool, seed: int) -> nn.Module:
    """The finding's rewrite applied through the library (the original is untouched)."""
    only, mode = rewrite_only(command)
    result = api.rewrite(model, INPUT, only=only, mode=mode, frozen_spatial=frozen, seed=seed)
    return result.model


# --------------------------------------------------------------------------- training


@dataclass(frozen=True)
class Recipe:
    epochs: int
    batch: int = 128
    lr: float = 0.01
    weight_decay: float = 5e-4


def train(model: nn.Module, task: Task, recipe: Recipe, seed: int) -> nn.Module:
    """AdamW with a one-cycle schedule; every epoch places the training digits anew (seeded).
    Parameters with ``requires_grad`` off (frozen depthwise filters) stay as they are."""
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=recipe.lr, weight_decay=recipe.weight_decay)
    n = len(task.train_labels)
    steps = recipe.epochs * math.ceil(n / recipe.batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=recipe.lr, total_steps=steps)
    gen = torch.Generator().manual_seed(1000 + seed)
    model.train()
    for _ in range(recipe.epochs):
        x_all = compose(task.train_digits, gen)
        order = torch.randperm(n, generator=gen)
        for idx in order.split(recipe.batch):
            loss = F.cross_entropy(model(x_all[idx]), task.train_labels[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
    return model.eval()


@torch.no_grad()
def accuracy(model: nn.Module, x: Tensor, y: Tensor) -> float:
    model.eval()
    return float((model(x).argmax(1) == y).float().mean())


# --------------------------------------------------------------------------- INT8 weights


def fold_batchnorm(model: nn.Module) -> nn.Module:
    """A copy with every BatchNorm folded into the conv before it (``W·γ/√(var+ε)``, bias
    ``β − γ·mean/√(var+ε)``) and replaced by the identity: the weights a deployed INT8
    model stores."""
    out = copy.deepcopy(model).eval()
    pairs = [
        (name, conv, bn)
        for name, conv, bn in _conv_bn_pairs(out)
        if isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d)
    ]
    with torch.no_grad():
        for name, conv, bn in pairs:
            assert bn.running_var is not None and bn.running_mean is not None
            f = bn.weight / torch.sqrt(bn.running_var + bn.eps)
            bias = bn.bias - f * bn.running_mean
            if conv.bias is not None:
                bias = bias + f * conv.bias
            conv.weight.mul_(f.view(-1, 1, 1, 1))
            conv.bias = nn.Parameter(bias)
            out.set_submodule(name, nn.Identity())
    return out


def _conv_bn_pairs(model: nn.Module) -> Iterator[tuple[str, nn.Module, nn.Module]]:
    """(BN path, conv, BN) for the conv → BN pairs of this file's networks (each BN is
    registered right after its conv)."""
    prev: nn.Module | None = None
    for name, m in model.named_modules():
        if isinstance(m, nn.BatchNorm2d) and prev is not None:
            yield name, prev, m
        if isinstance(m, nn.Conv2d):
            prev = m


def quantized(model: nn.Module, scheme: Scheme, only: Callable[[nn.Module], bool]) -> nn.Module:
    """A BatchNorm-folded copy whose weights of the layers ``only`` accepts are INT8."""
    out = fold_batchnorm(model)
    with torch.no_grad():
        for m in out.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)) and only(m):
                m.weight.copy_(fake_quant_weight(m.weight, scheme))
    return out


def is_depthwise(m: nn.Module) -> bool:
    return isinstance(m, nn.Conv2d) and m.groups == m.in_channels > 1


QUANT_SETTINGS: tuple[tuple[str, Scheme, Callable[[nn.Module], bool]], ...] = (
    ("W8 per-tensor", "per-tensor", lambda m: True),
    ("W8 per-channel", "per-channel", lambda m: True),
    ("W8 per-tensor, depthwise only", "per-tensor", is_depthwise),
)


# --------------------------------------------------------------------------- running


@dataclass
class Outcome:
    """Accuracy per seed of one variant (and per INT8 setting), with its lint summary."""

    variant: Variant
    lint: LintSummary
    lint_edge: LintSummary | None = None
    rf_start: int | None = None  # RF at the input of the first replaced conv
    rf_end: int | None = None  # RF at the end of the replaced run
    rf_final: int | None = None  # RF of the last conv's output
    accuracy: list[float] = field(default_factory=list)
    quant: dict[str, list[float]] = field(default_factory=dict)
    train_s: list[float] = field(default_factory=list)
    params: int = 0
    trainable: int = 0


def run_variant(
    variant: Variant,
    task: Task,
    recipe: Recipe,
    seeds: Sequence[int],
    make: Callable[[int], nn.Module] | None = None,
) -> Outcome:
    build = make or variant.build
    probe = build(seeds[0] if seeds else 0)
    rfs = receptive_fields(probe)
    last = [n for n, m in probe.named_modules() if isinstance(m, nn.Conv2d)][-1]
    first = min(variant.replaced, default=0)
    end = conv_path(max(variant.replaced)) if variant.replaced else None
    out = Outcome(
        variant,
        lint_model(probe),
        lint_model(probe, "edge-int8") if variant.quantize else None,
        rfs.get(conv_path(first - 1)) if first > 0 else 1,
        rfs.get(end) if end else None,
        rfs[last],
        params=sum(p.numel() for p in probe.parameters()),
        trainable=sum(p.numel() for p in probe.parameters() if p.requires_grad),
    )
    for seed in seeds:
        model = build(seed)
        start = time.perf_counter()
        train(model, task, recipe, seed)
        out.train_s.append(time.perf_counter() - start)
        out.accuracy.append(accuracy(model, task.test_x, task.test_y))
        if variant.quantize:
            for label, scheme, only in QUANT_SETTINGS:
                q = quantized(model, scheme, only)
                out.quant.setdefault(label, []).append(accuracy(q, task.test_x, task.test_y))
        print(
            f"  {variant.name} seed {seed}: {100 * out.accuracy[-1]:.1f}% "
            f"({out.train_s[-1]:.1f} s)",
            flush=True,
        )
    return out


def spatialize_variants(flagged: Outcome) -> list[tuple[Variant, Callable[[int], nn.Module]]]:
    """The flagged variant's RF002 rewrite, learned and with frozen random filters."""
    finding = next(f for f in flagged.lint.rf002 if f["rewrite"])
    command = str(finding["rewrite"])
    shown = command.replace("model.py", "MODEL")
    out: list[tuple[Variant, Callable[[int], nn.Module]]] = []
    for frozen in (False, True):
        name = "spatialized, frozen random depthwise" if frozen else "spatialized"
        text = f"`{shown}{' --frozen-spatial' if frozen else ''}` on `{flagged.variant.name}`"
        make = _spatialized_builder(flagged.variant.build, command, frozen)
        out.append((Variant(name, "spatialize", text, make, flagged.variant.replaced), make))
    return out


def _spatialized_builder(
    build: Callable[[int], nn.Module], command: str, frozen: bool
) -> Callable[[int], nn.Module]:
    return lambda seed: spatialized(build(seed), command, frozen, seed)


def run_all(recipe: Recipe, seeds: Sequence[int], task: Task) -> list[Outcome]:
    """Every variant; the spatialize rewrite is that of the shortest prefix variant RF002
    flags (the first one a user would be told to fix)."""
    outcomes: list[Outcome] = []
    for v in plain_variants():
        outcomes.append(run_variant(v, task, recipe, seeds))
        if v.group == "prefix" and flagged_prefix(outcomes) is outcomes[-1]:
            for sv, make in spatialize_variants(outcomes[-1]):
                outcomes.append(run_variant(sv, task, recipe, seeds, make))
    for v in separable_variants():
        outcomes.append(run_variant(v, task, recipe, seeds))
    return outcomes


def flagged_prefix(outcomes: Sequence[Outcome]) -> Outcome | None:
    """The prefix variant with the fewest 1×1 convs that RF002 flags with a rewrite."""
    return next(
        (
            o
            for o in outcomes
            if o.variant.group == "prefix" and any(f["rewrite"] for f in o.lint.rf002)
        ),
        None,
    )


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run with ``n`` intra-op threads, then give the caller's setting back."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


# --------------------------------------------------------------------------- report


def mean_std(xs: Sequence[float]) -> str:
    if not xs:
        return "–"
    m = 100 * statistics.fmean(xs)
    s = 100 * statistics.stdev(xs) if len(xs) > 1 else 0.0
    return f"{m:.1f} ± {s:.1f}"


def _codes(s: LintSummary) -> str:
    counts: dict[str, int] = {}
    for c in s.codes:
        counts[c] = counts.get(c, 0) + 1
    return ", ".join(f"{c}" + (f" ×{n}" if n > 1 else "") for c, n in counts.items()) or "–"


def _mean(xs: Sequence[float]) -> float:
    return 100 * statistics.fmean(xs) if xs else math.nan


def _std(xs: Sequence[float]) -> float:
    return 100 * statistics.stdev(xs) if len(xs) > 1 else 0.0


def plot(outcomes: Sequence[Outcome], path: Path) -> None:
    """Accuracy against where the 1×1 replacement sits, RF002's thresholds marked."""
    # matplotlib draws this plot only (not a convscope dependency); Agg needs no display
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ref = next(o for o in outcomes if o.variant.group == "prefix" and not o.variant.replaced)
    prefix = [o for o in outcomes if o.variant.group == "prefix"]
    windows = [o for o in prefix if len(o.variant.replaced) == 3]
    windows += [o for o in outcomes if o.variant.group == "window"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.4), dpi=110, sharey=True)
    for ax, pts, xof, label in (
        (left, prefix, lambda o: len(o.variant.replaced), "first k convs → 1×1"),
        (right, windows, lambda o: min(o.variant.replaced), "convs j, j+1, j+2 → 1×1"),
    ):
        xs = [xof(o) for o in pts]
        ax.errorbar(
            xs,
            [_mean(o.accuracy) for o in pts],
            yerr=[_std(o.accuracy) for o in pts],
            fmt="o-",
            capsize=3,
            label=label,
        )
        fired = [(x, _mean(o.accuracy)) for o, x in zip(pts, xs, strict=True) if o.lint.rf002]
        if fired:
            ax.plot(*zip(*fired, strict=True), "x", color="red", ms=12, mew=2, label="RF002 fires")
        ax.axhline(_mean(ref.accuracy), color="grey", lw=0.8, ls=":", label="reference")
        ax.grid(alpha=0.3)
    flagged = flagged_prefix(outcomes)
    if flagged is not None:
        k = len(flagged.variant.replaced)
        spatial = [o for o in outcomes if o.variant.group == "spatialize"]
        for o, marker, dx in zip(spatial, ("D", "v"), (0.15, 0.3), strict=False):
            left.errorbar(
                [k + dx],
                [_mean(o.accuracy)],
                yerr=[_std(o.accuracy)],
                fmt=marker,
                capsize=3,
                label=o.variant.name,
            )
        left.axvline(k - 0.5, color="red", lw=1, ls="--")
        left.text(
            k - 0.45,
            3,
            "RF002 fires from here (min_run = 3\nchannel-mixing 1×1 convs; conv 0\n"
            "has one input channel: not counted)",
            color="red",
            fontsize=7,
        )
    last = max((min(o.variant.replaced) for o in windows if o.lint.rf002), default=None)
    if last is not None:
        right.axvline(last + 0.5, color="red", lw=1, ls="--")
        right.text(
            last + 0.55,
            3,
            f"RF002 max_rf_fraction = 10 %: flagged\nup to here (a run that starts at\n"
            f"RF ≤ {0.1 * CANVAS:g} of {CANVAS} px)",
            color="red",
            fontsize=7,
        )
    left.set_xlabel("k: number of 3×3 convs replaced by 1×1 from the stem on")
    right.set_xlabel("j: first conv of a run of three replaced by 1×1")
    left.set_ylabel("test accuracy, % (mean ± std over seeds)")
    left.set_ylim(0, 100)
    right.set_xticks(sorted({min(o.variant.replaced) for o in windows}))
    for ax in (left, right):
        ax.legend(fontsize=8, loc="lower left")
    fig.suptitle(f"3×3 → 1×1 on digits placed on a {CANVAS}×{CANVAS} canvas with distractors")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _rf_text(rf: int | None) -> str:
    return "–" if rf is None else f"{rf} ({100 * rf / CANVAS:.0f} %)"


def render(
    outcomes: Sequence[Outcome],
    recipe: Recipe,
    seeds: Sequence[int],
    task: Task,
    threads: int,
    total_s: float,
    load: tuple[str, str],
    plot_name: str | None,
) -> str:
    ref = next(o for o in outcomes if o.variant.group == "prefix" and not o.variant.replaced)
    base = _mean(ref.accuracy)
    lines = [
        SECTION,
        "",
        f"Generated by `benchmarks/design_evidence.py` on {dt.date.today().isoformat()}. "
        f"Machine: {platform.processor() or platform.machine()}, {threads} torch thread(s), "
        f"Python {platform.python_version()}, torch {torch.__version__}; whole run "
        f"{total_s:.0f} s (load average before / after: {load[0]} / {load[1]}; the accuracies "
        "do not depend on it: training is seeded and deterministic on the CPU at a given "
        "thread count).",
        "",
        _task_text(task, recipe, seeds),
        "",
        "### 3×3 → 1×1: where the replacement sits (RF002, RF001)",
        "",
        "RF in input pixels of the 32-pixel side (convscope's receptive-field pass): at the "
        "input of the first replaced conv (what RF002 compares with `max_rf_fraction` = "
        "10 %, i.e. ≤ 3.2 px), at the output of the last replaced one, and of the last conv "
        "(what RF001 compares with `min_coverage` = 80 %, i.e. ≥ 25.6 px). Lint: every "
        "finding of `convscope lint` with the default rules on `generic`.",
        "",
        "| variant | 1×1 convs | RF at run start | RF at run end | final RF | lint (generic) "
        "| accuracy % | Δ vs reference |",
        "| --- | --- | ---: | ---: | ---: | --- | ---: | ---: |",
    ]
    for o in outcomes:
        if o.variant.group not in ("prefix", "window", "suffix"):
            continue
        lines.append(
            f"| {o.variant.name} | {_positions(o.variant.replaced)} | "
            f"{_rf_text(o.rf_start) if o.variant.replaced else '–'} | {_rf_text(o.rf_end)} | "
            f"{_rf_text(o.rf_final)} | {_codes(o.lint)} | {mean_std(o.accuracy)} | "
            f"{_delta(o, base)} |"
        )
    if plot_name:
        lines += ["", f"![accuracy against the position of the 1×1 replacement]({plot_name})"]
    lines += [
        "",
        "### The spatialize rewrite of the flagged variant",
        "",
        "The rewrite is the one RF002's finding prints, applied with the library's "
        "`convscope.api.rewrite` to the untrained flagged model, which is then trained "
        "with the same recipe and seeds (the identity-initialised depthwise 3×3 is learned; "
        "with `--frozen-spatial` it is random and frozen, so only the 1×1 channel mixing "
        "learns).",
        "",
        "| variant | how it is made | params (trainable) | final RF | lint (generic) | "
        "accuracy % | Δ vs reference |",
        "| --- | --- | ---: | ---: | --- | ---: | ---: |",
    ]
    spatial = [o for o in outcomes if o.variant.group == "spatialize"]
    flagged = flagged_prefix(outcomes)
    for o in [ref, *([flagged] if flagged else []), *spatial]:
        lines.append(
            f"| {o.variant.name} | {o.variant.text} | {o.params:,} ({o.trainable:,}) | "
            f"{_rf_text(o.rf_final)} | {_codes(o.lint)} | {mean_std(o.accuracy)} | "
            f"{_delta(o, base)} |"
        )
    lines += [
        "",
        "### Depthwise width and INT8 weights (DW001)",
        "",
        "BatchNorm folded into the convs, then weights fake-quantized with "
        "`torch.fake_quantize_per_tensor_affine` / `..._per_channel_affine` (symmetric "
        "INT8, levels ±127, zero point 0); activations stay fp32. *Depthwise only*: only "
        "the depthwise convs' weights quantized per tensor.",
        "",
        "| variant | params | lint (generic) | lint (edge-int8) | fp32 % | W8 per-tensor % "
        "| W8 per-channel % | W8 per-tensor, depthwise only % |",
        "| --- | ---: | --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for o in outcomes:
        if o.variant.group != "separable":
            continue
        edge = _codes(o.lint_edge) if o.lint_edge else "–"
        q = [mean_std(o.quant.get(label, [])) for label, _, _ in QUANT_SETTINGS]
        lines.append(
            f"| {o.variant.name} | {o.params:,} | {_codes(o.lint)} | {edge} | "
            f"{mean_std(o.accuracy)} | {' | '.join(q)} |"
        )
    lines += ["", *_rf001_table(outcomes), ""]
    return "\n".join(lines) + "\n"


def _rf001_table(outcomes: Sequence[Outcome]) -> list[str]:
    plain = [o for o in outcomes if o.variant.group in ("prefix", "window", "suffix")]
    plain = [o for o in plain if "RF002" not in o.lint.codes]
    plain.sort(key=lambda o: -(o.rf_final or 0))
    out = [
        "### Final receptive field against accuracy (RF001)",
        "",
        "The plain variants RF002 does not flag, by the receptive field of their last conv "
        "(RF001 fires below 80 % of the side):",
        "",
        "| variant | final RF | RF001 fires | accuracy % |",
        "| --- | ---: | :---: | ---: |",
    ]
    out += [
        f"| {o.variant.name} | {_rf_text(o.rf_final)} | "
        f"{'yes' if 'RF001' in o.lint.codes else '–'} | {mean_std(o.accuracy)} |"
        for o in plain
    ]
    return out


def _positions(replaced: Sequence[int]) -> str:
    return ", ".join(str(i) for i in replaced) or "none"


def _delta(o: Outcome, base: float) -> str:
    return f"{_mean(o.accuracy) - base:+.1f}"


def _task_text(task: Task, recipe: Recipe, seeds: Sequence[int]) -> str:
    widths = ", ".join(f"{c}{'/s2' if s == 2 else ''}" for c, s in PLAIN)
    return (
        f"Task: scikit-learn's bundled 8×8 digits (1,797 images, no download), bilinearly "
        f"upscaled to {DIGIT}×{DIGIT} and pasted at a uniformly random position of a "
        f"{CANVAS}×{CANVAS} canvas, with {STROKES} random distractor strokes (line segments "
        f"{STROKE_LENGTH[0]:g}–{STROKE_LENGTH[1]:g} px long, about 2 px wide, intensity "
        "0.5–1, anywhere, merged with max); classify the digit. Seeded 80/20 split of the "
        f"digits: {len(task.train_labels):,} training digits, placed anew every epoch; "
        f"{len(task.test_y):,} test canvases (each of the {len(task.test_y) // TEST_COPIES} "
        f"held-out digits {TEST_COPIES} times, at "
        "fixed seeded places; one canvas is "
        f"{100 / len(task.test_y):.2f} points). Plain network: six conv + BN + ReLU blocks "
        f"(channels/stride {widths}; 3×3 convs in the reference, final RF 29 of 32 px), "
        "global average pool, linear. Separable network: 3×3 stem, five depthwise 3×3 + "
        "pointwise 1×1 blocks at the same strides, every depthwise conv over the stated "
        f"width. Training: AdamW (lr {recipe.lr:g} one-cycle, weight decay "
        f"{recipe.weight_decay:g}), batch {recipe.batch}, {recipe.epochs} epochs, CPU; seeds "
        f"{', '.join(map(str, seeds))} (initialisation, placements, batch order); accuracy "
        "is mean ± sample std over the seeds, in %."
    )


def _as_json(outcomes: Sequence[Outcome]) -> list[dict[str, Any]]:
    return [
        {
            "variant": o.variant.name,
            "group": o.variant.group,
            "replaced": list(o.variant.replaced),
            "rf_start": o.rf_start,
            "rf_end": o.rf_end,
            "rf_final": o.rf_final,
            "lint_generic": list(o.lint.codes),
            "lint_edge_int8": list(o.lint_edge.codes) if o.lint_edge else None,
            "rf002": list(o.lint.rf002),
            "accuracy": o.accuracy,
            "quant": o.quant,
            "train_s": o.train_s,
            "params": o.params,
            "trainable": o.trainable,
        }
        for o in outcomes
    ]


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


QUICK = Recipe(epochs=1)
FULL = Recipe(epochs=10)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="seeds per variant (default 3)")
    parser.add_argument("--epochs", type=int, default=None, help="override the epochs")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument(
        "--quick", action="store_true", help="1 epoch, 1 seed, nothing written: a smoke run"
    )
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--plot", type=Path, default=PLOT)
    parser.add_argument("--json", type=Path, default=None, help="also dump raw numbers here")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    recipe = QUICK if args.quick else FULL
    if args.epochs is not None:
        recipe = Recipe(epochs=args.epochs)
    seeds = list(range(1 if args.quick else args.seeds))
    write = not (args.no_write or args.quick)
    start, load_before = time.perf_counter(), _load()
    with torch_threads(args.threads):
        task = load_task()
        outcomes = run_all(recipe, seeds, task)
    total = time.perf_counter() - start
    plot_name = None
    if write:
        plot(outcomes, args.plot)
        plot_name = os.path.relpath(args.plot, args.output.parent)
    section = render(
        outcomes, recipe, seeds, task, args.threads, total, (load_before, _load()), plot_name
    )
    print(section)
    if args.json is not None:
        args.json.write_text(json.dumps(_as_json(outcomes), indent=1))
    if write:
        write_section(section, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
