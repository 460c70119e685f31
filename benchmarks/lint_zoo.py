"""Lint precision on a fixed reference zoo: what the default rules say about well-known designs.

Every model of :data:`ZOO` (torchvision classification and segmentation, timm families) is
linted at its native input size on each target profile with convscope's default rule
selection and the default gate (``fail-on: warning``). These designs are trained and
deployed widely, so a warning on one of them is a candidate false positive: the table shows
which rules would fail a CI gate on a proven architecture, and how often.

lint is run the way a user runs it, through the CLI in a fresh process per target
(``python -m convscope lint --config ZOO.yaml --target T --format json --exit-zero``), with
one temporary config that lists every model and its input, so ``import torch`` is paid once
per target and the benchmark does not depend on convscope's internals. A model that cannot
be loaded makes the whole command exit 2; the batch is then split in halves until the
failing models are isolated, so one bad model costs a few extra processes, not the sweep.

The reference zoo is in-sample: the rules and their thresholds were adjusted until it
passed. ``--set thirdparty`` lints :data:`THIRD_PARTY` instead, designs from packages the
rules were not shaped on (built by ``thirdparty_designs.py``; the ``zoo`` extra): the
held-out figure.

Usage::

    python benchmarks/lint_zoo.py                                  # ~2 min on 2 cores
    python benchmarks/lint_zoo.py --models resnet18,timm:dla34 --targets generic --no-write
    python benchmarks/lint_zoo.py --set thirdparty --targets generic   # ~2 min

A full run (50 models × 3 targets, 3 processes) took 84–110 s on a 2-core AMD EPYC
(shared with other jobs), 23–48 s per target.

Writes the ``## Lint precision on the reference zoo`` section of ``benchmarks/RESULTS.md``
(other sections are kept) and ``benchmarks/lint-zoo-results.json`` (every finding: model,
target, code, severity, layer, message; the gate result per model and target), or with
``--set thirdparty`` its own section and ``lint-zoo-thirdparty-results.json``. Needs
torchvision and timm (and the ``zoo`` extra for ``--set thirdparty``). Exit code 1 if a
model failed to load or lint, 2 for a bad option.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(ROOT), str(BENCH)]
from results_file import RESULTS, write_section  # noqa: E402
from zoo import machine  # noqa: E402

JSON_OUT = BENCH / "lint-zoo-results.json"
SECTION = "## Lint precision on the reference zoo"
TARGETS = ("generic", "edge-int8", "gpu-fp16")
FAILING = ("warning", "error")  # the default gate: fail-on warning
FINDING_KEYS = ("code", "severity", "layer", "message")
MESSAGE_WIDTH = 150  # example messages in RESULTS.md are cut here; the JSON keeps them whole


@dataclass(frozen=True)
class ZooModel:
    spec: str  # what the tables show; also the MODEL spec unless `load` is given
    side: int  # native square input: 1×3×side×side, unless `shapes` is given
    group: str
    shapes: tuple[tuple[int, ...], ...] = ()
    load: str = ""  # the MODEL spec lint gets, when it differs from `spec`

    @property
    def inputs(self) -> list[list[int]]:
        return [list(s) for s in self.shapes] or [[1, 3, self.side, self.side]]

    @property
    def model_spec(self) -> str:
        return self.load or self.spec

    @property
    def name(self) -> str:
        return self.spec.partition(":")[2]

    @property
    def input_text(self) -> str:
        if not self.shapes:
            return f"{self.side}²"
        return " + ".join("×".join(map(str, s)) for s in self.shapes)


def _group(group: str, side: int, names: str) -> list[ZooModel]:
    source = "timm" if group == "timm" else "torchvision"
    return [ZooModel(f"{source}:{n}", side, group) for n in names.split()]


# Native sizes: torchvision's weights' crop_size (segmentation: the weights' 520 resize),
# timm's pretrained_cfg["input_size"] (checked against timm 1.0.31).
ZOO: tuple[ZooModel, ...] = (
    *_group(
        "torchvision classification",
        224,
        "resnet18 resnet50 resnext50_32x4d wide_resnet50_2 regnet_y_400mf regnet_x_400mf "
        "mobilenet_v2 mobilenet_v3_large mobilenet_v3_small efficientnet_b0 mnasnet1_0 "
        "shufflenet_v2_x1_0 squeezenet1_1 densenet121 googlenet vgg16_bn alexnet "
        "convnext_tiny swin_t vit_b_16 maxvit_t",
    ),
    *_group("torchvision classification", 299, "inception_v3"),
    *_group("torchvision classification", 384, "efficientnet_v2_s"),
    *_group(
        "torchvision segmentation",
        520,
        "fcn_resnet50 deeplabv3_mobilenet_v3_large lraspp_mobilenet_v3_large",
    ),
    *_group(
        "timm",
        224,
        "resnet50d repvgg_a0 ghostnet_100 convmixer_768_32 efficientformer_l1 "
        "mobilenetv4_conv_small regnety_008 convnext_nano efficientnet_b0 mixnet_s "
        "rexnet_100 dla34 hrnet_w18_small res2net50_26w_4s seresnext26d_32x4d "
        "tf_mobilenetv3_small_100 levit_128 mobileone_s0 ese_vovnet19b_dw lcnet_050",
    ),
    *_group("timm", 256, "fastvit_t8 mobilevit_s cspresnet50 edgenext_small"),
)

DESIGNS_FILE = BENCH / "thirdparty_designs.py"


def _thirdparty(group: str, shapes: Sequence[Sequence[int]], names: str) -> list[ZooModel]:
    """Designs built by the functions of ``thirdparty_designs.py``; ``spec`` is
    ``PACKAGE:FUNCTION`` for the tables, ``load`` the file spec lint is given."""
    package = group.split()[0]
    shape = tuple(tuple(s) for s in shapes)
    return [
        ZooModel(f"{package}:{n}", 0, group, shape, f"{DESIGNS_FILE}:{n}") for n in names.split()
    ]


# Designs from packages the rules were never tuned on (a held-out set), random weights. Inputs:
# the package's native size where it is modest (YOLO 640², classifiers 224², smp 256² —
# divisible by its 32× output stride), reduced where the native size would make the trace
# slow on 2 cores (MONAI 3-D at 96³, the diffusers UNets at 64² pixels / 32² latents).
THIRD_PARTY: tuple[ZooModel, ...] = (
    *_thirdparty(
        "ultralytics",
        [[1, 3, 640, 640]],
        "yolo11n_detect yolo11n_seg yolo11n_pose yolov8n_detect yolov8n_seg yolov8n_pose rtdetr_l",
    ),
    *_thirdparty("ultralytics", [[1, 3, 224, 224]], "yolo11n_cls yolov8n_cls"),
    *_thirdparty(
        "smp",
        [[1, 3, 256, 256]],
        "smp_unet_resnet34 smp_unet_mobilenet_v2 smp_unetplusplus_resnet18 smp_fpn_resnet34 "
        "smp_fpn_efficientnet_b0 smp_pspnet_resnet34 smp_deeplabv3plus_resnet50 "
        "smp_deeplabv3_resnet34 smp_linknet_resnet18 smp_pan_resnet34 smp_manet_mobilenet_v2",
    ),
    *_thirdparty(
        "monai 3-D",
        [[1, 1, 96, 96, 96]],
        "monai_unet monai_basicunet monai_segresnet monai_densenet121 monai_attentionunet "
        "monai_dynunet monai_vnet monai_resnet18",
    ),
    *_thirdparty("diffusers", [[1, 3, 64, 64], [1]], "diffusers_unet2d"),
    *_thirdparty("diffusers", [[1, 4, 32, 32], [1], [1, 77, 128]], "diffusers_unet2d_condition"),
    *_thirdparty("diffusers", [[1, 3, 256, 256]], "diffusers_vae_encoder"),
    *_thirdparty("diffusers", [[1, 4, 32, 32]], "diffusers_vae_decoder"),
    *_thirdparty(
        "pytorchcv",
        [[1, 3, 224, 224]],
        "pytorchcv_mixnet_s pytorchcv_mnasnet_b1 pytorchcv_shufflenetv2_w1 pytorchcv_peleenet "
        "pytorchcv_darknet53 pytorchcv_hardnet39ds pytorchcv_proxylessnas_mobile "
        "pytorchcv_igcv3_w1",
    ),
    *_thirdparty(
        "transformers",
        [[1, 3, 224, 224]],
        "hf_resnet50 hf_convnext_tiny hf_convnextv2_tiny hf_regnet_y_040 hf_efficientnet_b0 "
        "hf_mobilenet_v2 hf_mobilenet_v1 hf_bit_resnetv2_50",
    ),
    *_thirdparty("transformers", [[1, 3, 256, 256]], "hf_mobilevit_small"),
)

SETS: dict[str, tuple[ZooModel, ...]] = {"reference": ZOO, "thirdparty": THIRD_PARTY}
SECTIONS = {
    "reference": SECTION,
    "thirdparty": "## Lint precision on third-party designs (held-out)",
}
JSON_FILES = {
    "reference": JSON_OUT,
    "thirdparty": BENCH / "lint-zoo-thirdparty-results.json",
}


# =========================================================================== running lint


@dataclass
class Outcome:
    """One target's lint results: the JSON ``models`` records and the models that failed."""

    records: list[dict[str, Any]]
    failures: dict[str, str]
    processes: int
    wall_s: float


def _config(models: Sequence[ZooModel]) -> str:
    # Only `models`, and given with --config so no config file found on the way up from
    # the current directory can change the rule selection. JSON is valid YAML.
    entries = [{"spec": m.model_spec, "input": m.inputs} for m in models]
    return json.dumps({"models": entries}, indent=1)


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:300] if lines else "no output"


def _command(config: Path, target: str, out: Path) -> list[str]:
    cli = [sys.executable, "-m", "convscope", "lint", "--config", str(config)]
    return [*cli, "--target", target, "--format", "json", "--exit-zero", "-o", str(out)]


def _env() -> dict[str, str]:
    # This checkout's convscope, whichever one the venv has installed.
    paths = [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}


def _run_cli(
    models: Sequence[ZooModel], target: str, timeout_s: float
) -> tuple[list[dict[str, Any]] | None, str]:
    """The ``models`` records of one ``convscope lint`` process, or None and why not."""
    with tempfile.TemporaryDirectory(prefix="lint-zoo-") as tmp:
        config, out = Path(tmp, "zoo.yaml"), Path(tmp, "lint.json")
        config.write_text(_config(models))
        try:
            proc = subprocess.run(
                _command(config, target, out),
                env=_env(),
                capture_output=True,
                text=True,
                timeout=timeout_s,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return None, f"timed out after {timeout_s:.0f} s"
        if proc.returncode != 0 or not out.is_file():
            return None, f"exit {proc.returncode}: {_last_line(proc.stderr)}"
        return json.loads(out.read_text())["models"], ""


def check_target(target: str) -> str | None:
    """Why ``target`` is not a target profile, or None. ``convscope config`` does not import
    torch, so a typo costs a second instead of a bisection down to every single model."""
    cmd = [sys.executable, "-m", "convscope", "config", "--target", target]
    proc = subprocess.run(cmd, env=_env(), capture_output=True, text=True, check=False)
    return None if proc.returncode == 0 else _last_line(proc.stderr)


def lint_target(models: Sequence[ZooModel], target: str, timeout_per_model: float) -> Outcome:
    """All ``models`` on ``target``; a failing batch is bisected to isolate its culprits."""
    t0 = time.perf_counter()
    outcome = Outcome([], {}, 0, 0.0)
    pending = [list(models)]
    while pending:
        batch = pending.pop()
        records, error = _run_cli(batch, target, timeout_per_model * len(batch))
        outcome.processes += 1
        if records is not None:
            outcome.records.extend(records)
        elif len(batch) == 1:
            outcome.failures[batch[0].model_spec] = error
        else:
            pending += [batch[len(batch) // 2 :], batch[: len(batch) // 2]]
        print(
            f"  {target}: {len(batch)} model(s) {'ok' if records is not None else error}",
            file=sys.stderr,
        )
    # lint's records name the model by the spec it was given; the tables use `spec`.
    shown = {m.model_spec: m.spec for m in models}
    for r in outcome.records:
        r["model"] = shown.get(r["model"], r["model"])
    outcome.failures = {shown.get(k, k): v for k, v in outcome.failures.items()}
    order = {m.spec: i for i, m in enumerate(models)}
    outcome.records.sort(key=lambda r: order.get(r["model"], len(order)))
    outcome.wall_s = time.perf_counter() - t0
    return outcome


# =========================================================================== results


def _failing_codes(record: dict[str, Any]) -> set[str]:
    return {f["code"] for f in record["findings"] if f["severity"] in FAILING}


def passes_gate(record: dict[str, Any]) -> bool:
    """The default gate: no finding at warning or above, no budget exceeded."""
    return not _failing_codes(record) and not any(b["exceeded"] for b in record["budgets"])


def to_json(models: Sequence[ZooModel], outcomes: dict[str, Outcome]) -> dict[str, Any]:
    findings, gate = [], []
    for target, outcome in outcomes.items():
        for r in outcome.records:
            gate.append(
                {
                    "model": r["model"],
                    "target": target,
                    "passes": passes_gate(r),
                    "skipped": sorted({s["code"] for s in r["skipped"]}),
                }
            )
            findings += [
                {"model": r["model"], "target": target, **{k: f[k] for k in FINDING_KEYS}}
                for f in r["findings"]
            ]
    return {
        "generated": dt.date.today().isoformat(),
        "machine": machine(),
        "models": [{"model": m.spec, "group": m.group, "input": m.inputs} for m in models],
        "targets": {
            t: {
                "models": len(o.records) + len(o.failures),
                "pass": sum(passes_gate(r) for r in o.records),
                "failed_to_lint": o.failures,
                "processes": o.processes,
                "wall_s": round(o.wall_s, 1),
            }
            for t, o in outcomes.items()
        },
        "gate": gate,
        "findings": findings,
    }


def dump_json(doc: dict[str, Any]) -> str:
    """Indented, except one line per ``models``, ``gate`` and ``findings`` record: a rule
    change shows up in ``git diff`` as the findings it adds or drops."""
    parts = []
    for key, value in doc.items():
        if key in ("models", "gate", "findings"):
            rows = ",\n".join("  " + json.dumps(v, ensure_ascii=False) for v in value)
            text = f"[\n{rows}\n ]" if rows else "[]"
        else:
            text = json.dumps(value, ensure_ascii=False, indent=1).replace("\n", "\n ")
        parts.append(f" {json.dumps(key)}: {text}")
    return "{\n" + ",\n".join(parts) + "\n}\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _severities(records: Sequence[dict[str, Any]]) -> dict[str, str]:
    """code → the severities it reported at on this target (``warning``, ``info/warning``)."""
    seen: dict[str, set[str]] = defaultdict(set)
    for r in records:
        for f in r["findings"]:
            seen[f["code"]].add(f["severity"])
    return {code: "/".join(sorted(s)) for code, s in seen.items()}


def target_table(
    models: Sequence[ZooModel], target: str, outcome: Outcome, kind: str = ""
) -> list[str]:
    """Per model: the gate and the number of findings per rule code."""
    by_model = {r["model"]: r for r in outcome.records}
    severities = _severities(outcome.records)
    codes = sorted(severities)
    n_pass = sum(passes_gate(r) for r in outcome.records)
    lines = [
        f"### `{target}`",
        "",
        f"**{n_pass} of {len(models)} models pass the default gate**{kind} "
        f"({len(outcome.failures)} failed to lint; {outcome.processes} process(es), "
        f"{outcome.wall_s:.0f} s).",
        "",
        "| model | input | gate | " + " | ".join(codes) + " |",
        "| --- | --- | --- | " + " | ".join("---:" for _ in codes) + " |",
    ]
    flagged: Counter[str] = Counter()
    for m in models:
        r = by_model.get(m.spec)
        if r is None:
            row = ["**error**"] + ["" for _ in codes]
        else:
            counts = Counter(f["code"] for f in r["findings"])
            flagged.update(counts.keys())
            row = ["pass" if passes_gate(r) else "**FAIL**"] + [
                str(counts[c]) if counts[c] else "·" for c in codes
            ]
        lines.append(f"| {m.spec} | {m.input_text} | " + " | ".join(row) + " |")
    lines.append("| models flagged | | | " + " | ".join(str(flagged[c]) for c in codes) + " |")
    lines += [
        "",
        "Severity on this target: "
        + (", ".join(f"{c} {severities[c]}" for c in codes) or "no findings")
        + ".",
    ]
    lines += [f"- failed: `{spec}`: {_cell(err)}" for spec, err in outcome.failures.items()]
    return [*lines, ""]


def examples_table(outcome: Outcome) -> list[str]:
    """Per rule code: the models it fires on, the models it alone fails (they would pass
    without it) and its first finding, as the user sees it."""
    first: dict[str, tuple[str, dict[str, Any]]] = {}
    fired: Counter[str] = Counter()
    alone: Counter[str] = Counter()
    for r in outcome.records:
        for f in r["findings"]:
            first.setdefault(f["code"], (r["model"], f))
        fired.update({f["code"] for f in r["findings"]})
        failing = _failing_codes(r)
        if len(failing) == 1 and not any(b["exceeded"] for b in r["budgets"]):
            alone.update(failing)
    lines = [
        "| code | models | fails alone | first finding (model `layer`: message) |",
        "| --- | ---: | ---: | --- |",
    ]
    for code in sorted(first):
        model, f = first[code]
        msg = (
            f["message"]
            if len(f["message"]) <= MESSAGE_WIDTH
            else f["message"][:MESSAGE_WIDTH] + "…"
        )
        lines.append(
            f"| {code} {f['name']} | {fired[code]} | {alone[code] or '·'} | "
            f"{model} `{_cell(f['layer'] or '-')}`: {_cell(msg)} |"
        )
    return [*lines, ""]


# What a pass count measures: the reference zoo is the set the rules and their thresholds
# were adjusted on until it passed, so its figure is in-sample; the third-party set is not.
KINDS = {"reference": " (in-sample)", "thirdparty": " (held-out)"}
INTROS = {
    "reference": (
        "**In-sample:** the default rules and their thresholds were adjusted until these "
        "designs passed (the generic `min-depthwise-channels: 8`, DW002's chain length and "
        "QF003's reparameterization exception cite them), so their pass count shows the "
        "rules stay quiet on what they were shaped on, not precision on new designs; the "
        "held-out figure is `python benchmarks/lint_zoo.py --set thirdparty` (its own "
        "section). {n} well-known designs (torchvision and timm; random weights, traced on "
        "meta) at their native input"
    ),
    "thirdparty": (
        "**Held-out:** the rules were not shaped on these designs before their first run, "
        "which is kept in its own section (*before any rule change*); a later run measures "
        "rules whose changes may have used them. "
        "{n} published designs from packages outside the reference zoo — Ultralytics, "
        "segmentation_models_pytorch, MONAI (3-D), diffusers, pytorchcv, transformers — built "
        "with random weights by `benchmarks/thirdparty_designs.py` (transformers models "
        "behind a positional adapter that passes `pixel_values=`, diffusers UNets behind one "
        "that passes the timestep positionally and takes `return_dict=False`; inputs in the "
        "table)"
    ),
}


def rules_commit() -> str:
    """The commit whose rules were measured (``+ local changes`` when the rule code differs)."""

    def git(*args: str) -> str:
        proc = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
        return proc.stdout.strip() if proc.returncode == 0 else ""

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--", "convscope")
    return head + (" + local changes" if dirty else "")


def render(
    models: Sequence[ZooModel],
    outcomes: dict[str, Outcome],
    wall_s: float,
    *,
    which: str = "reference",
    title: str = SECTION,
    json_name: str = JSON_OUT.name,
    options: Sequence[str] = (),
) -> str:
    command = " ".join(["python benchmarks/lint_zoo.py", *map(shlex.quote, options)])
    lines = [
        title,
        "",
        f"Generated by `{command}` on {dt.date.today().isoformat()} in {wall_s:.0f} s, "
        f"convscope at {rules_commit()}. Machine: {machine()}.",
        "",
        INTROS[which].format(n=len(models))
        + ", linted with `python -m convscope lint --config ZOO.yaml --target T --format "
        "json --exit-zero`: the default rule selection and the default gate (a finding at "
        "warning or above, or an exceeded budget, fails the model). Cells count findings by "
        f"rule code (· = none). Every finding is in [`{json_name}`]({json_name}).",
        "",
    ]
    for target, outcome in outcomes.items():
        lines += target_table(models, target, outcome, KINDS[which])
        lines += [
            f"Rule codes on `{target}`: the models each fires on, the models it alone "
            "fails (they would pass without it) and its first finding.",
            "",
        ]
        lines += examples_table(outcome)
    return "\n".join(lines)


# =========================================================================== main


def usage_error(message: str) -> NoReturn:
    print(message, file=sys.stderr)
    sys.exit(2)  # 1 is taken: a model failed to lint


def select_models(wanted: str | None, which: str = "reference") -> list[ZooModel]:
    """``--models``: specs (``timm:dla34``) or bare names, which match either source."""
    zoo = SETS[which]
    if not wanted:
        return list(zoo)
    names = [w.strip() for w in wanted.split(",") if w.strip()]
    unknown = [n for n in names if not any(n in (m.spec, m.name) for m in zoo)]
    if unknown:
        usage_error(
            f"not in the {which} set: {', '.join(unknown)} "
            f"(known: {', '.join(m.spec for m in zoo)})"
        )
    return [m for m in zoo if m.spec in names or m.name in names]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument(
        "--set",
        dest="which",
        choices=sorted(SETS),
        default="reference",
        help="reference: torchvision and timm (the zoo the rules were shaped on); "
        "thirdparty: designs from other packages, held out (default: %(default)s)",
    )
    p.add_argument("--models", help="comma-separated subset of the set (names or specs)")
    p.add_argument(
        "--targets",
        default=",".join(TARGETS),
        help="comma-separated target profiles (default: %(default)s)",
    )
    p.add_argument(
        "--output",
        type=Path,
        default=RESULTS,
        help="markdown file whose section is replaced (default: benchmarks/RESULTS.md)",
    )
    p.add_argument(
        "--json",
        type=Path,
        help="machine-readable results (default: benchmarks/lint-zoo-results.json, "
        "lint-zoo-thirdparty-results.json for --set thirdparty)",
    )
    p.add_argument(
        "--section",
        help="the RESULTS.md section title (a `## ` line) to write instead of the set's own, "
        "to keep a run as a record that later runs do not replace",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=120.0,
        help="seconds per model allowed to one lint process (default: %(default)s)",
    )
    p.add_argument("--no-write", action="store_true", help="print the section, write nothing")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    models = select_models(args.models, args.which)
    title = args.section or SECTIONS[args.which]
    if not title.startswith("## "):
        usage_error("--section: a section title starts with '## '")
    json_path: Path = args.json or JSON_FILES[args.which]
    targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    for target in targets:
        if problem := check_target(target):
            usage_error(f"--targets: {problem}")
    t0 = time.perf_counter()
    outcomes = {t: lint_target(models, t, args.timeout) for t in targets}
    section = render(
        models,
        outcomes,
        time.perf_counter() - t0,
        which=args.which,
        title=title,
        json_name=json_path.name,
        options=sys.argv[1:] if argv is None else argv,
    )
    if args.no_write:
        print(section)
    else:
        write_section(section, args.output)
        json_path.write_text(dump_json(to_json(models, outcomes)), encoding="utf-8")
        print(f"wrote {args.output} and {json_path}", file=sys.stderr)
    for target, o in outcomes.items():
        n_pass = sum(passes_gate(r) for r in o.records)
        print(f"{target}: {n_pass} of {len(models)} models pass the default gate", file=sys.stderr)
    return 1 if any(o.failures for o in outcomes.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
