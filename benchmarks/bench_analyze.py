"""Process-to-process timing: ``convscope analyze`` vs fvcore vs torch's FlopCounterMode.

Each method runs as a fresh Python process (``sys.executable``), so the time includes
interpreter start, imports and model construction — what a user waits for at the shell.
For every model, each method gets one warm-up run (discarded: it fills the OS file cache)
and ``--runs`` timed runs; the table reports the median wall time. Runs are interleaved
(rep 1: every method on every model, rep 2: ...) so that machine drift hits all methods
alike.

Methods:

* ``convscope``: ``python -m convscope analyze torchvision:NAME -i 1,3,S,S --format json
  -o FILE`` — the full analyze command (trace on meta, cost, memory and mixing passes,
  JSON report written to a file). If the CLI cannot run, a ``-c`` snippet calling
  ``convscope.api.analyze_spec`` and the JSON reporter is used instead, and the table says
  so.
* ``fvcore``: build the model on CPU (random weights, eval mode) and print
  ``FlopCountAnalysis(model, torch.randn(1, 3, S, S)).total()``.
* ``FlopCounterMode``: build the model under ``torch.device("meta")`` and run it once
  inside ``torch.utils.flop_counter.FlopCounterMode``.
* ``baseline``: ``import torch, torchvision`` only — the floor every method pays.

Counts (all in MACs): convscope's ``totals.macs``; FlopCounterMode's FLOPs / 2; fvcore's
``total()`` (one "flop" per MAC for conv/linear, plus the norms and adaptive pools it also
counts) and its conv/linear/matmul part alone, which is what must equal convscope's MACs.

Writes the section "## analyze vs fvcore vs FlopCounterMode" of ``benchmarks/RESULTS.md``,
keeping any other section of that file. Run with ``make bench`` or
``python benchmarks/bench_analyze.py [--runs 5] [--models resnet50,mobilenet_v2]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from results_file import RESULTS, write_section  # noqa: E402

SECTION = "## analyze vs fvcore vs FlopCounterMode"
MODELS = ("resnet50", "mobilenet_v2", "convnext_tiny")
SIZE = 224
FVCORE_CONTRACTIONS = ("conv", "linear", "addmm", "bmm", "mm", "matmul", "einsum")

FVCORE_SNIPPET = """
import json, sys, warnings
warnings.simplefilter("ignore")
import torch, torchvision
from fvcore.nn import FlopCountAnalysis
model = torchvision.models.get_model(sys.argv[1]).eval()
fa = FlopCountAnalysis(model, torch.randn(1, 3, int(sys.argv[2]), int(sys.argv[2])))
fa.unsupported_ops_warnings(False)
fa.uncalled_modules_warnings(False)
total = fa.total()
by_operator = {k: int(v) for k, v in fa.by_operator().items()}
print(json.dumps({"total": int(total), "by_operator": by_operator}))
"""

FLOPCOUNTER_SNIPPET = """
import json, sys
import torch, torchvision
from torch.utils.flop_counter import FlopCounterMode
with torch.device("meta"):
    model = torchvision.models.get_model(sys.argv[1]).eval()
x = torch.empty(1, 3, int(sys.argv[2]), int(sys.argv[2]), device="meta")
with torch.no_grad(), FlopCounterMode(display=False) as counter:
    model(x)
print(json.dumps({"flops": int(counter.get_total_flops())}))
"""

CONVSCOPE_API_SNIPPET = """
import sys
from convscope.api import analyze_spec
from convscope.render.analysis import json as json_report
size = int(sys.argv[2])
a = analyze_spec("torchvision:" + sys.argv[1], input_shapes=[(1, 3, size, size)])
open(sys.argv[3], "w").write(json_report.render(a))
"""

BASELINE_SNIPPET = "import torch, torchvision"


@dataclass
class Method:
    name: str
    argv: Callable[[str, Path], list[str]]  # (model, output file) → command line
    count: Callable[[str, Path], dict[str, int]]  # (stdout, output file) → counts
    per_model: bool = True


@dataclass
class Result:
    times: list[float] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    error: str | None = None


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    env.setdefault("OMP_NUM_THREADS", str(os.cpu_count() or 1))
    return env


def _run(argv: Sequence[str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.perf_counter()
    proc = subprocess.run(argv, cwd=ROOT, env=_env(), capture_output=True, text=True, check=False)
    return time.perf_counter() - start, proc


def _json_macs(_: str, out: Path) -> dict[str, int]:
    return {"macs": int(json.loads(out.read_text())["totals"]["macs"])}


def _fvcore_counts(stdout: str, _: Path) -> dict[str, int]:
    data = json.loads(stdout.strip().splitlines()[-1])
    contraction = sum(v for k, v in data["by_operator"].items() if k in FVCORE_CONTRACTIONS)
    return {"total": data["total"], "contraction": contraction}


def _flopcounter_counts(stdout: str, _: Path) -> dict[str, int]:
    flops = json.loads(stdout.strip().splitlines()[-1])["flops"]
    return {"flops": flops, "macs": flops // 2}


def _methods(convscope_via_cli: bool) -> list[Method]:
    py = sys.executable
    size = str(SIZE)
    if convscope_via_cli:

        def convscope(model: str, out: Path) -> list[str]:
            return [
                py,
                "-m",
                "convscope",
                "analyze",
                f"torchvision:{model}",
                "-i",
                f"1,3,{size},{size}",
                "--format",
                "json",
                "-o",
                str(out),
            ]
    else:

        def convscope(model: str, out: Path) -> list[str]:
            return [py, "-c", CONVSCOPE_API_SNIPPET, model, size, str(out)]

    return [
        Method("convscope", convscope, _json_macs),
        Method("fvcore", lambda m, _: [py, "-c", FVCORE_SNIPPET, m, size], _fvcore_counts),
        Method(
            "FlopCounterMode",
            lambda m, _: [py, "-c", FLOPCOUNTER_SNIPPET, m, size],
            _flopcounter_counts,
        ),
        Method(
            "baseline", lambda m, _: [py, "-c", BASELINE_SNIPPET], lambda s, o: {}, per_model=False
        ),
    ]


def _cli_works(tmp: Path) -> bool:
    """Whether ``python -m convscope analyze`` runs here (it is checked on a tiny model)."""
    out = tmp / "probe.json"
    _, proc = _run(
        [
            sys.executable,
            "-m",
            "convscope",
            "analyze",
            "torchvision:squeezenet1_0",
            "-i",
            "1,3,64,64",
            "--format",
            "json",
            "-o",
            str(out),
        ]
    )
    return proc.returncode == 0 and out.exists()


def measure(
    models: Sequence[str], runs: int, warmup: int
) -> tuple[dict[tuple[str, str], Result], bool]:
    results: dict[tuple[str, str], Result] = {}
    with tempfile.TemporaryDirectory(prefix="convscope-bench-") as tmpdir:
        tmp = Path(tmpdir)
        via_cli = _cli_works(tmp)
        methods = _methods(via_cli)
        for rep in range(warmup + runs):
            for model in models:
                for method in methods:
                    key = (method.name, model if method.per_model else "")
                    if not method.per_model and model != models[0]:
                        continue
                    res = results.setdefault(key, Result())
                    if res.error:
                        continue
                    out = tmp / f"{method.name}-{model}.json"
                    seconds, proc = _run(method.argv(model, out))
                    if proc.returncode != 0:
                        tail = (proc.stderr.strip().splitlines() or ["?"])[-1]
                        res.error = f"exit {proc.returncode}: {tail}"[:200]
                        continue
                    if rep >= warmup:
                        res.times.append(seconds)
                    res.counts = method.count(proc.stdout, out)
                    label = "warm-up" if rep < warmup else f"run {rep - warmup + 1}/{runs}"
                    print(
                        f"{label:>9}  {method.name:<15} {model if method.per_model else '':<14}"
                        f" {seconds:6.2f} s",
                        flush=True,
                    )
    return results, via_cli


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(pkg: str) -> str:
    try:
        return metadata.version(pkg)
    except metadata.PackageNotFoundError:
        return "not installed"


def _med(res: Result | None) -> float | None:
    return statistics.median(res.times) if res and res.times else None


def _fmt_s(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f} s"


def _cell(res: Result | None) -> str:
    """Median and the min–max spread of the timed runs."""
    if not res or not res.times:
        return "—" if not res or not res.error else "failed"
    return f"{statistics.median(res.times):.2f} s ({min(res.times):.2f}–{max(res.times):.2f})"


def _overlap(a: Result | None, b: Result | None) -> bool:
    if not a or not b or not a.times or not b.times:
        return False
    return min(a.times) <= max(b.times) and min(b.times) <= max(a.times)


def _loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


def _fmt_n(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


def render(
    results: dict[tuple[str, str], Result],
    models: Sequence[str],
    runs: int,
    warmup: int,
    via_cli: bool,
    load: tuple[str, str] = ("n/a", "n/a"),
) -> str:
    convscope_cmd = (
        "`python -m convscope analyze torchvision:NAME -i 1,3,224,224 --format json -o FILE`"
        if via_cli
        else "a `-c` snippet calling `convscope.api.analyze_spec` and the JSON reporter "
        "(the CLI did not run)"
    )
    base = _med(results.get(("baseline", "")))
    lines = [
        SECTION,
        "",
        f"Generated by `benchmarks/bench_analyze.py` on {dt.date.today().isoformat()}. "
        f"Machine: {_cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"torch {_version('torch')}, torchvision {_version('torchvision')}, "
        f"fvcore {_version('fvcore')}.",
        "",
        f"Wall time of a whole fresh process (interpreter start, imports, model build, "
        f"counting), median of {runs} runs after {warmup} warm-up run(s), input 1×3×224×224. "
        f"convscope: {convscope_cmd}; fvcore: CPU model, `FlopCountAnalysis(model, "
        f"torch.randn(...)).total()`; FlopCounterMode: meta model, one forward. "
        f'Baseline `python -c "import torch, torchvision"`: '
        f"{_cell(results.get(('baseline', '')))}. Cells: median (min–max). "
        f"Load average before / after the runs: {load[0]} / {load[1]}.",
        "",
        "| model | convscope analyze | fvcore total() | FlopCounterMode (meta) "
        "| convscope / fvcore | convscope / FlopCounterMode "
        "| over baseline: convscope / fvcore / FCM |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for model in models:
        cs, fv, fc = (
            _med(results.get((m, model))) for m in ("convscope", "fvcore", "FlopCounterMode")
        )
        ratio_fv = f"{cs / fv:.2f}×" if cs and fv else "—"
        ratio_fc = f"{cs / fc:.2f}×" if cs and fc else "—"
        cells = " | ".join(
            _cell(results.get((m, model))) for m in ("convscope", "fvcore", "FlopCounterMode")
        )
        over = (
            "—"
            if base is None or None in (cs, fv, fc)
            else " / ".join(f"{t - base:+.2f}" for t in (cs, fv, fc) if t is not None) + " s"
        )
        lines.append(f"| {model} | {cells} | {ratio_fv} | {ratio_fc} | {over} |")
    lines += [
        "",
        'Counts (MACs). fvcore counts one "flop" per MAC for conv/linear/matmul and adds the '
        "norms and adaptive pools it also handles; its conv/linear/matmul part is what must "
        "equal convscope's MACs. FlopCounterMode counts FLOPs = 2 × MACs.",
        "",
        "| model | convscope MACs | FlopCounterMode / 2 | agrees | fvcore conv/linear "
        "| agrees | fvcore total() | fvcore total − MACs |",
        "| --- | ---: | ---: | :---: | ---: | :---: | ---: | ---: |",
    ]
    for model in models:
        cs_r, fv_r, fc_r = (
            results.get((m, model)) for m in ("convscope", "fvcore", "FlopCounterMode")
        )
        macs = cs_r.counts.get("macs") if cs_r else None
        fc_macs = fc_r.counts.get("macs") if fc_r else None
        fv_con = fv_r.counts.get("contraction") if fv_r else None
        fv_tot = fv_r.counts.get("total") if fv_r else None

        def agree(other: int | None, macs: int | None = macs) -> str:
            if other is None or macs is None:
                return "—"
            return "yes" if other == macs else "**no**"

        extra = "—"
        if fv_tot is not None and macs:
            extra = f"{fv_tot - macs:+,} ({(fv_tot - macs) / macs:+.2%})"
        lines.append(
            f"| {model} | {_fmt_n(macs)} | {_fmt_n(fc_macs)} | {agree(fc_macs)} "
            f"| {_fmt_n(fv_con)} | {agree(fv_con)} | {_fmt_n(fv_tot)} | {extra} |"
        )
    errors = [
        f"- {m} on {model or 'all'}: {r.error}" for (m, model), r in results.items() if r.error
    ]
    if errors:
        lines += ["", "Failures:", "", *errors]
    lines += ["", _verdict(results, models, base), ""]
    return "\n".join(lines)


def _verdict(
    results: dict[tuple[str, str], Result], models: Sequence[str], base: float | None
) -> str:
    """One honest sentence per target: is convscope's full analyze faster than fvcore?"""
    parts = []
    for model in models:
        cs, fv = _med(results.get(("convscope", model))), _med(results.get(("fvcore", model)))
        if cs is None or fv is None:
            parts.append(f"{model}: not measured")
            continue
        word = "faster" if cs < fv else "slower"
        noise = (
            ", but the run ranges overlap: within run-to-run noise"
            if _overlap(results.get(("convscope", model)), results.get(("fvcore", model)))
            else ", ranges do not overlap"
        )
        parts.append(
            f"{model}: convscope {word} by median ({cs:.2f} s vs {fv:.2f} s, {cs / fv:.2f}×{noise})"
        )
    text = "Target (a full analyze faster than fvcore's count alone) — " + "; ".join(parts) + "."
    if base is not None:
        text += (
            f" Every process pays about {base:.2f} s to import torch and torchvision "
            "before counting anything."
        )
    return text


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs per method and model")
    parser.add_argument("--warmup", type=int, default=1, help="discarded runs first")
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated names")
    parser.add_argument("--output", type=Path, default=RESULTS, help="markdown file to update")
    args = parser.parse_args(argv)
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    load_before = _loadavg()
    results, via_cli = measure(models, args.runs, args.warmup)
    section = render(results, models, args.runs, args.warmup, via_cli, (load_before, _loadavg()))
    write_section(section, args.output)
    print()
    print(section)
    print(f"updated {args.output}")
    return 1 if any(r.error for r in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
