"""The lint recall corpus: ``cases.yaml`` plus one model file per case in ``models/``.

``first_merged.yaml`` is the corpus as first merged, a frozen set run beside the grown one;
``models.sha256`` pins every model file (cases are appended, never edited: ``README.md``).

Shared by ``test_corpus.py`` and ``benchmarks/lint_recall.py``. A case is linted the way a
user runs the linter — ``convscope lint MODEL --format json`` through the Click entry point
— and its report is compared with the case's expectations.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import yaml
from click.testing import CliRunner
from torch import nn

from convscope.cli.app import main

HERE = Path(__file__).resolve().parent
MODELS = HERE / "models"
CASES = HERE / "cases.yaml"
FIRST_MERGED = HERE / "first_merged.yaml"
MANIFEST = HERE / "models.sha256"
# An explicit config, so a convscope.yaml or [tool.convscope] in the checkout cannot change
# which rules the corpus measures.
CONFIG = HERE / "convscope.yaml"
BLOCKING = ("warning", "error")
# What the linter shows as the layer of an op that runs in the root module's own forward.
ROOT_LAYERS = ("", "(root)")
FAMILIES = ("RF", "DW", "QF", "AR", "HW", "PF")
_FIELDS = frozenset(
    {
        "target",
        "must_fire",
        "must_not_fire",
        "must_pass",
        "why",
        "weights",
        "extend_select",
        "named_layer",
        "known_miss",
        "changed",
    }
)

Report = dict[str, Any]


@dataclass(frozen=True)
class Case:
    file: str
    why: str
    target: str = "generic"
    must_fire: tuple[str, ...] = ()
    must_not_fire: tuple[str, ...] = ()
    must_pass: bool = False
    weights: str | None = None
    extend_select: tuple[str, ...] = ()
    named_layer: bool = False
    known_miss: str | None = None
    changed: str | None = None

    @property
    def path(self) -> Path:
        return MODELS / self.file

    @property
    def family(self) -> str:
        """``control``, or the family (code letters) of the rules the case must trigger."""
        return "control" if self.must_pass else self.must_fire[0].rstrip("0123456789")


def load_cases(path: Path = CASES) -> list[Case]:
    raw: dict[str, dict[str, Any]] = yaml.safe_load(path.read_text(encoding="utf-8"))["cases"]
    cases = []
    for file, entry in raw.items():
        unknown = set(entry) - _FIELDS
        if unknown:  # a typo would silently drop an expectation
            raise ValueError(f"{path}: {file}: unknown field(s) {', '.join(sorted(unknown))}")
        cases.append(
            Case(
                file=file,
                why=entry["why"],
                target=entry.get("target", "generic"),
                must_fire=tuple(entry.get("must_fire", ())),
                must_not_fire=tuple(entry.get("must_not_fire", ())),
                must_pass=bool(entry.get("must_pass", False)),
                weights=entry.get("weights"),
                extend_select=tuple(entry.get("extend_select", ())),
                named_layer=bool(entry.get("named_layer", False)),
                known_miss=entry.get("known_miss"),
                changed=entry.get("changed"),
            )
        )
    return cases


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_manifest(path: Path = MANIFEST) -> dict[str, str]:
    """file name → SHA-256 pinned in ``models.sha256`` (``sha256sum`` format)."""
    pinned = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            digest, name = line.split(maxsplit=1)
            pinned[name.strip()] = digest
    return pinned


def _checkpoint(case: Case, directory: Path) -> Path:
    """The state dict of a fresh ``case.weights`` instance: the weight rules only run on
    ``--weights``, and the damage the model's ``__init__`` sets is what they must see."""
    spec = importlib.util.spec_from_file_location(f"corpus_{uuid.uuid4().hex}", case.path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model: nn.Module = getattr(module, str(case.weights))()
    ckpt = directory / f"{case.path.stem}.pt"
    torch.save(model.state_dict(), ckpt)
    return ckpt


def lint(case: Case, workdir: Path) -> Report:
    """``convscope lint`` on the case's model; its entry of the JSON report."""
    args = [
        "lint",
        str(case.path),
        "--config",
        str(CONFIG),
        "--target",
        case.target,
        "--format",
        "json",
        "--exit-zero",
    ]
    if case.extend_select:
        args += ["--extend-select", ",".join(case.extend_select)]
    if case.weights:
        args += ["--weights", str(_checkpoint(case, workdir))]
    result = CliRunner().invoke(main, args)
    if result.exit_code != 0:
        raise RuntimeError(
            f"convscope {' '.join(args)} exited {result.exit_code}: {result.output.strip()}"
        )
    report: Report = json.loads(result.stdout)["models"][0]
    return report


def misses(case: Case, report: Report) -> list[str]:
    """Expected findings the report lacks (recall)."""
    skipped = {s["code"]: s["reason"] for s in report["skipped"]}
    out = []
    for code in case.must_fire:
        hits = [f for f in report["findings"] if f["code"] == code]
        if not hits:
            out.append(
                f"{code} did not fire" + (f" (skipped: {skipped[code]})" if code in skipped else "")
            )
        elif case.named_layer and all(f["layer"] in ROOT_LAYERS for f in hits):
            out.append(f"{code} names no layer (reported at the root module): {hits[0]['message']}")
    return out


def false_alarms(case: Case, report: Report) -> list[str]:
    """Findings the case forbids (precision): a must_not_fire code, or for a control any
    warning or error."""
    return [
        f"{f['code']} {f['severity']} at {f['layer'] or '(root)'}: {f['message']}"
        for f in report["findings"]
        if f["code"] in case.must_not_fire or (case.must_pass and f["severity"] in BLOCKING)
    ]


def problems(case: Case, report: Report) -> list[str]:
    return misses(case, report) + false_alarms(case, report)
