"""convscope against its peers, and how analyze scales.

**Peers** — on 10 torchvision models at 1×3×224×224, each tool runs as a fresh process
(``sys.executable``); the table reports the median wall time of ``--runs`` runs (interpreter
start, imports, model build and counting: what a user waits for) and the peak RSS of that
process (``os.wait4`` rusage of the child, so each process is measured on its own):

==================  ==========================================================================
tool                what the process does (and its unit, converted to MACs)
==================  ==========================================================================
convscope           ``python -m convscope analyze torchvision:NAME -i 1,3,224,224 --format json
                    -o FILE``: meta trace, cost/memory/mixing passes, JSON written. MACs.
FlopCounterMode     meta model (built under ``torch.device("meta")``; a constructor that
                    computes on tensors, RegNet's, is built on CPU and moved to meta), one
                    forward in ``torch.utils.flop_counter.FlopCounterMode``. FLOPs; MACs =
                    FLOPs / 2.
fvcore              CPU model (random weights), ``FlopCountAnalysis(model, x).total()``. fvcore
                    counts one "flop" per MAC for conv/linear/matmul: taken as MACs; it adds
                    norms, pooling and upsampling it also handles.
torchinfo           CPU model, ``summary(model, input_size=..., verbose=0)``:
                    ``total_mult_adds`` (mult-adds = MACs) and ``total_params``.
ptflops (pytorch)   CPU model, ``get_model_complexity_info(..., backend="pytorch")`` (module
                    hooks + patched functionals, the default backend). MACs.
ptflops (aten)      the same with ``backend="aten"`` (a dispatch mode counting mm / addmm /
                    bmm / convolution). MACs.
baseline            ``import torch, torchvision`` and exit: the floor every process pays.
==================  ==========================================================================

Disagreements are explained from the numbers: an in-process convscope analysis splits each
model's work into components (conv, linear and activation-matmul MACs, attention MACs, bias
additions, norm / activation / pooling elements) and every tool's count is reconciled with
the components that tool is known to count; the reconciliation says whether it is exact.

**Scaling** — analyze time and peak RSS, each point a fresh process on meta: a synthetic
residual CNN with 10 / 100 / 1,000 blocks (conv3×3-BN-ReLU-conv3×3-BN + identity, 64
channels, 56×56); ResNet-50 at 224² / 512² / 1024² / 2048²; and a huge model (timm
``convnext_xlarge`` if timm is installed, else torchvision ``convnext_large``) at 1024²,
whose float32 weights alone would take more memory than the whole analyzing process.

Cost: with the default ``--runs 3`` the whole script starts about 210 processes and takes
about 20 minutes on 2 cores (``--runs 1`` about 7); ``--render`` redraws the tables from the
last raw results without measuring.

Writes the ``## Peers and scaling`` section of ``benchmarks/RESULTS.md`` (other sections
kept). Needs fvcore, torchinfo, ptflops (``pip install -e .[bench]``); a missing tool is
reported as such.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results_file import RESULTS, write_section
from zoo import ROOT, machine

SECTION = "## Peers and scaling"
MODELS = (
    "resnet18",
    "resnet50",
    "mobilenet_v2",
    "mobilenet_v3_large",
    "efficientnet_b0",
    "convnext_tiny",
    "vit_b_16",
    "densenet121",
    "regnet_y_400mf",
    "shufflenet_v2_x1_0",
)
SIZE = 224

PRELUDE = """
import json, sys, warnings
warnings.simplefilter("ignore")
import torch, torchvision
name, size = sys.argv[1], int(sys.argv[2])
def cpu_model():
    torch.manual_seed(0)
    return torchvision.models.get_model(name).eval()
"""

SNIPPETS: dict[str, str] = {
    "FlopCounterMode": PRELUDE
    + """
from torch.utils.flop_counter import FlopCounterMode
try:
    with torch.device("meta"):
        model = torchvision.models.get_model(name).eval()
except Exception:  # a constructor computing on tensors (RegNet): build on CPU, move to meta
    model = cpu_model().to("meta")
x = torch.empty(1, 3, size, size, device="meta")
with torch.no_grad(), FlopCounterMode(display=False) as counter:
    model(x)
flops = int(counter.get_total_flops())
print(json.dumps({"macs": flops // 2, "raw": flops,
                  "params": sum(p.numel() for p in model.parameters())}))
""",
    "fvcore": PRELUDE
    + """
from fvcore.nn import FlopCountAnalysis, parameter_count
model = cpu_model()
fa = FlopCountAnalysis(model, torch.randn(1, 3, size, size))
fa.unsupported_ops_warnings(False)
fa.uncalled_modules_warnings(False)
total = int(fa.total())
print(json.dumps({"macs": total, "raw": total, "params": int(parameter_count(model)[""]),
                  "by_operator": {k: int(v) for k, v in fa.by_operator().items()}}))
""",
    "torchinfo": PRELUDE
    + """
from torchinfo import summary
model = cpu_model()
s = summary(model, input_size=(1, 3, size, size), verbose=0, device="cpu")
print(json.dumps({"macs": int(s.total_mult_adds), "raw": int(s.total_mult_adds),
                  "params": int(s.total_params)}))
""",
    "ptflops (pytorch)": PRELUDE
    + """
from ptflops import get_model_complexity_info
model = cpu_model()
with torch.no_grad():
    macs, params = get_model_complexity_info(model, (3, size, size), as_strings=False,
        print_per_layer_stat=False, verbose=False, backend="pytorch")
print(json.dumps({"macs": int(macs), "raw": int(macs), "params": int(params)}))
""",
    "ptflops (aten)": PRELUDE
    + """
from ptflops import get_model_complexity_info
model = cpu_model()
with torch.no_grad():
    macs, params = get_model_complexity_info(model, (3, size, size), as_strings=False,
        print_per_layer_stat=False, verbose=False, backend="aten")
print(json.dumps({"macs": int(macs), "raw": int(macs), "params": int(params)}))
""",
    "baseline": "import torch, torchvision\nprint('{}')\n",
}
TOOLS = (
    "convscope",
    "FlopCounterMode",
    "fvcore",
    "torchinfo",
    "ptflops (pytorch)",
    "ptflops (aten)",
)
UNITS = {
    "convscope": "MACs (`totals.macs`)",
    "FlopCounterMode": "FLOPs ÷ 2",
    "fvcore": 'its "flops" = MACs for conv/linear/matmul, plus norm/pool/upsample elements',
    "torchinfo": "`total_mult_adds` (= MACs)",
    "ptflops (pytorch)": 'MACs ("GMac")',
    "ptflops (aten)": 'MACs ("GMac")',
}
FVCORE_CONTRACTIONS = (
    "conv",
    "linear",
    "addmm",
    "bmm",
    "mm",
    "matmul",
    "einsum",
    "scaled_dot_product_attention",
)


# =========================================================================== processes


@dataclass
class Run:
    seconds: list[float] = field(default_factory=list)
    rss: list[int] = field(default_factory=list)  # bytes
    out: dict[str, Any] | None = None
    error: str | None = None

    @property
    def median(self) -> float | None:
        return statistics.median(self.seconds) if self.seconds else None

    @property
    def peak(self) -> int | None:
        return max(self.rss) if self.rss else None


def _env() -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
        "PYTHONWARNINGS": "ignore",
    }


def run_process(argv: Sequence[str], timeout: float = 900.0) -> tuple[float, int, int, str, str]:
    """(wall seconds, peak RSS bytes, exit code, stdout, stderr) of one child process."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(list(argv), stdout=out, stderr=err, cwd=ROOT, env=_env(), text=True)
        deadline = t0 + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.005)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return wall, usage.ru_maxrss * 1024, proc.returncode, out.read(), err.read()


def tool_argv(tool: str, model: str, size: int, json_out: Path) -> list[str]:
    if tool == "convscope":
        return [
            sys.executable,
            "-m",
            "convscope",
            "analyze",
            f"torchvision:{model}",
            "-i",
            f"1,3,{size},{size}",
            "--format",
            "json",
            "-o",
            str(json_out),
        ]
    return [sys.executable, "-c", SNIPPETS[tool], model, str(size)]


def parse(tool: str, stdout: str, json_out: Path) -> dict[str, Any]:
    if tool == "convscope":
        doc = json.loads(json_out.read_text())
        return {
            "macs": int(doc["totals"]["macs"]),
            "raw": int(doc["totals"]["macs"]),
            "params": int(doc["totals"]["params"]),
        }
    line = [x for x in stdout.strip().splitlines() if x.startswith("{")][-1]
    parsed: dict[str, Any] = json.loads(line)
    return parsed


def measure_peers(models: Sequence[str], runs: int) -> dict[tuple[str, str], Run]:
    results: dict[tuple[str, str], Run] = {}
    tools = (*TOOLS, "baseline")
    with tempfile.TemporaryDirectory() as tmp:
        for rep in range(runs):  # interleaved, so drift hits every tool alike
            for model in models:
                for tool in tools:
                    key = (tool, "-" if tool == "baseline" else model)
                    if tool == "baseline" and model != models[0]:
                        continue
                    res = results.setdefault(key, Run())
                    if res.error:
                        continue
                    out = Path(tmp) / f"{model}.json"
                    wall, rss, code, stdout, stderr = run_process(tool_argv(tool, model, SIZE, out))
                    if code != 0:
                        lines = stderr.strip().splitlines() or [f"exit {code}"]
                        res.error = lines[-1][:200]
                        continue
                    res.seconds.append(wall)
                    res.rss.append(rss)
                    if res.out is None and tool != "baseline":
                        res.out = parse(tool, stdout, out)
                    print(
                        f"rep {rep + 1}/{runs} {tool:18s} {key[1]:20s} {wall:6.2f} s "
                        f"{rss / 2**20:7.0f} MiB",
                        flush=True,
                    )
    return results


# =========================================================================== components


def components(model_name: str) -> dict[str, int]:
    """convscope's split of one model's work, to reconcile every tool's count."""
    from convscope import analyze
    from convscope.ir import graph as ir
    from convscope.model.load import load_model

    model = load_model(f"torchvision:{model_name}").module.eval()  # meta, RegNet included
    a = analyze(model, (1, 3, SIZE, SIZE))
    c = dict.fromkeys(
        (
            "conv",
            "linear",
            "matmul",
            "attention",
            "conv_bias",
            "linear_bias",
            "bn_elems",
            "bn_affine_elems",
            "other_norm_elems",
            "act_elems",
            "pool_in",
            "adaptive_in",
            "eltwise",
            "torchinfo_rule",
            "mha_linear",
            "ptflops_act",
            "fn_global_pool_in",
        ),
        0,
    )
    for n in a.graph.nodes:
        cost = a.node_cost[n.id]
        out_n = n.outputs[0].numel if n.outputs else 0
        first_in = a.graph.tensor[n.inputs[0]].numel if n.inputs else 0
        at = n.attrs
        if n.kind is ir.OpKind.CONV and isinstance(at, ir.ConvAttrs):
            c["conv"] += cost.macs
            if at.has_bias:
                c["conv_bias"] += out_n
        elif n.kind is ir.OpKind.LINEAR and isinstance(at, ir.LinearAttrs):
            c["linear" if at.weight else "matmul"] += cost.macs
            if at.has_bias:
                c["linear_bias"] += out_n
            if n.module_type == "MultiheadAttention":  # inside MHA's fused CPU fast path
                c["mha_linear"] += cost.macs + (out_n if at.has_bias else 0)
        elif n.kind is ir.OpKind.ATTENTION:
            c["attention"] += cost.macs
        elif n.kind is ir.OpKind.NORM and isinstance(at, ir.NormAttrs):
            if at.kind == "batch":
                c["bn_elems"] += out_n
                c["bn_affine_elems"] += out_n if at.affine else 0
            else:
                c["other_norm_elems"] += out_n
        elif n.kind is ir.OpKind.ACTIVATION:
            c["act_elems"] += out_n
            c["ptflops_act"] += _ptflops_act_calls(n) * out_n
        elif n.kind is ir.OpKind.POOL:
            c["pool_in"] += first_in
        elif n.kind is ir.OpKind.ADAPTIVE_POOL or (
            n.kind is ir.OpKind.REDUCE and n.module_type.startswith("Adaptive")
        ):
            c["adaptive_in"] += first_in  # a global adaptive pool runs as aten.mean
        elif (
            n.kind is ir.OpKind.REDUCE
            and "mean" in n.op
            and isinstance(at, ir.ReduceAttrs)
            and at.keepdim
            and n.inputs
            and at.dims == tuple(range(2, len(a.graph.tensor[n.inputs[0]].shape)))
        ):
            # F.adaptive_avg_pool2d(x, 1) called in a forward: ATen sees a keepdim mean
            c["fn_global_pool_in"] += first_in
        elif n.kind is ir.OpKind.ELEMENTWISE:
            c["eltwise"] += out_n
    # torchinfo's rule (layer_info.calculate_macs), per module call: Conv layers count
    # (weight + bias elements) × batch × output positions; every other layer with
    # weight/bias parameters counts batch × those parameters.
    c["torchinfo_rule"] = _torchinfo_rule(model)
    c["macs"] = a.totals.macs
    c["params"] = a.totals.params
    return c


# ptflops' pytorch backend counts an activation's output elements once per counting call:
# its module hook (for these module types) and its patched functional (for these ATen ops,
# i.e. F.relu, F.prelu, F.elu, F.gelu, F.silu; F.relu6 runs as aten.hardtanh, which
# nn.ReLU6 also uses, through the unpatched F.hardtanh).
_PTFLOPS_ACT_HOOKS = frozenset({"ReLU", "PReLU", "ELU", "LeakyReLU", "ReLU6", "GELU"})
_PTFLOPS_ACT_FUNCTIONALS = frozenset(
    {"relu", "relu_", "_prelu_kernel", "prelu", "elu", "elu_", "gelu", "gelu_", "silu", "silu_"}
)


def _ptflops_act_calls(node: Any) -> int:
    """How many times ptflops' pytorch backend counts this activation node (0, 1 or 2)."""
    op = node.op.split(".")[1] if node.op.count(".") >= 2 else node.op
    hook = node.module_type in _PTFLOPS_ACT_HOOKS
    functional = op in _PTFLOPS_ACT_FUNCTIONALS or (
        op in ("hardtanh", "hardtanh_") and node.module_type not in ("ReLU6", "Hardtanh")
    )
    return int(hook) + int(functional)


def _torchinfo_rule(model: Any) -> int:
    import torch

    total = 0

    def hook(module: Any, args: Any, output: Any) -> None:
        nonlocal total
        if not isinstance(output, torch.Tensor):
            return
        numel = sum(
            p.numel() for n, p in module.named_parameters(recurse=False) if n in ("weight", "bias")
        )
        shape = tuple(output.shape)
        if "Conv" in type(module).__name__:
            positions = shape[0]
            for size in shape[2:]:
                positions *= size
            total += numel * positions
        elif numel:
            total += shape[0] * numel

    handles = [m.register_forward_hook(hook) for m in model.modules()]
    try:
        with torch.no_grad():
            model(torch.empty(1, 3, SIZE, SIZE, device="meta"))
    finally:
        for h in handles:
            h.remove()
    return total


def reconcile(tool: str, count: int, comp: dict[str, int], extra: dict[str, Any]) -> str:
    """Why ``count`` differs from convscope's MACs, from the components; says if exact."""
    macs = comp["macs"]
    diff = count - macs
    if diff == 0:
        return "equal"

    def exact(expected: int, text: str) -> str:
        mark = "exact" if expected == count else f"off by {count - expected:+,}"
        return f"{text} ({mark})"

    if tool == "fvcore":
        ops = extra.get("by_operator", {})
        core = sum(v for k, v in ops.items() if k in FVCORE_CONTRACTIONS)
        rest = {k: v for k, v in ops.items() if k not in FVCORE_CONTRACTIONS and v}
        listed = ", ".join(f"{k} {v:,}" for k, v in sorted(rest.items(), key=lambda kv: -kv[1]))
        if core == macs:
            same = "= convscope MACs"
        elif core == macs - comp["attention"] - comp["matmul"]:
            att = comp["attention"] + comp["matmul"]
            same = (
                f"= convscope MACs − attention {att:,} (fvcore's trace records "
                "`aten::scaled_dot_product_attention`, which it has no handler for; exact)"
            )
        else:
            same = f"≠ convscope MACs ({core - macs:+,})"
        return f"conv/linear/matmul part {same}" + (f"; plus {listed}" if rest else "")
    if tool == "ptflops (aten)":
        expected = macs + comp["conv_bias"] + comp["linear_bias"]
        text = f"adds bias additions {comp['conv_bias'] + comp['linear_bias']:,}"
        if comp["mha_linear"]:
            expected -= comp["attention"] + comp["mha_linear"]
            text += (
                f"; misses MultiheadAttention's fused CPU kernel "
                f"(`aten._native_multi_head_attention` under no_grad): its projections "
                f"and attention matmuls {comp['mha_linear'] + comp['attention']:,}"
            )
        elif comp["attention"]:
            expected -= comp["attention"]
            text += f"; misses SDPA attention {comp['attention']:,}"
        return exact(expected, text)
    if tool == "torchinfo":
        parts = [
            f"counts bias positions {comp['conv_bias']:,} and batch × parameters of "
            "non-conv layers (a Linear once per sample, not per token)"
        ]
        if comp["matmul"] or comp["attention"]:
            parts.append(
                f"misses activation matmuls/attention {comp['matmul'] + comp['attention']:,}"
            )
        return exact(comp["torchinfo_rule"], "; ".join(parts) + " = torchinfo's rule")
    if tool == "ptflops (pytorch)":
        once = (
            comp["conv_bias"]
            + comp["linear_bias"]
            + 2 * comp["bn_affine_elems"]
            + (comp["bn_elems"] - comp["bn_affine_elems"])
        )
        pools = comp["pool_in"] + comp["adaptive_in"]
        fn_pools = comp["fn_global_pool_in"]
        text = (
            f"adds bias {comp['conv_bias'] + comp['linear_bias']:,}, BatchNorm "
            f"2×{comp['bn_elems']:,}, pooling-module inputs {pools:,} twice (hook and the "
            f"patched `F.*pool*` it calls), functional global pooling {fn_pools:,} once, and "
            f"activation outputs {comp['ptflops_act']:,} (ReLU/GELU twice, hook and "
            "functional; ReLU6 once, hook only; SiLU once, functional only; Hardswish, "
            "Sigmoid none)"
        )
        if comp["attention"] or comp["matmul"] or comp["other_norm_elems"]:
            text += "; MultiheadAttention / LayerNorm hooks use their own formulas"
        return exact(macs + once + 2 * pools + fn_pools + comp["ptflops_act"], text)
    return f"{diff:+,}"


# =========================================================================== scaling

SCALING_SNIPPET = """
import json, resource, sys, time
t_import = time.perf_counter()
import torch
from torch import nn
import convscope
kind, arg = sys.argv[1], sys.argv[2]
convscope.analyze(nn.Conv2d(3, 4, 3), (1, 3, 8, 8))  # the one-off dispatch init, not timed

class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c),
                                  nn.ReLU(), nn.Conv2d(c, c, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(c))
        self.act = nn.ReLU()
    def forward(self, x):
        return self.act(x + self.body(x))

t0 = time.perf_counter()
if kind == "blocks":
    with torch.device("meta"):
        model = nn.Sequential(*[Block(64) for _ in range(int(arg))])
    shape = (1, 64, 56, 56)
elif kind == "size":
    import torchvision
    with torch.device("meta"):
        model = torchvision.models.resnet50()
    shape = (1, 3, int(arg), int(arg))
else:
    from convscope.model.load import load_model
    loaded = load_model(arg, input_shapes=[(1, 3, 1024, 1024)])
    model, shape = loaded.module, (1, 3, 1024, 1024)
t_build = time.perf_counter() - t0
t1 = time.perf_counter()
a = convscope.analyze(model, shape)
t_analyze = time.perf_counter() - t1
weights = sum(p.numel() * p.element_size() for p in model.parameters())
print(json.dumps({"analyze_s": t_analyze, "build_s": t_build, "nodes": len(a.graph.nodes),
                  "params": a.totals.params, "macs": a.totals.macs, "weight_bytes": weights,
                  "peak_act": a.totals.peak_activation_bytes, "mode": a.graph.mode,
                  "act_bytes": a.totals.activation_bytes,
                  "maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
"""


def huge_spec() -> str:
    try:
        import timm  # noqa: F401
    except ImportError:
        return "torchvision:convnext_large"
    return "timm:convnext_xlarge"


def measure_scaling(runs: int) -> list[dict[str, Any]]:
    points = [
        ("blocks", "10"),
        ("blocks", "100"),
        ("blocks", "1000"),
        ("size", "224"),
        ("size", "512"),
        ("size", "1024"),
        ("size", "2048"),
        ("huge", huge_spec()),
    ]
    out = []
    for kind, arg in points:
        samples: list[dict[str, Any]] = []
        for _ in range(runs):
            wall, rss, code, stdout, stderr = run_process(
                [sys.executable, "-c", SCALING_SNIPPET, kind, arg]
            )
            if code != 0:
                samples = [{"error": (stderr.strip().splitlines() or ["?"])[-1][:200]}]
                break
            rec = json.loads(stdout.strip().splitlines()[-1])
            rec["wall"] = wall
            rec["rss"] = rss
            samples.append(rec)
        best = samples[0]
        if "error" not in best:
            best = dict(samples[0])
            best["analyze_s"] = statistics.median(s["analyze_s"] for s in samples)
            best["wall"] = statistics.median(s["wall"] for s in samples)
            best["rss"] = max(s["rss"] for s in samples)
        best.update(kind=kind, arg=arg)
        print(f"scaling {kind} {arg}: {best}", flush=True)
        out.append(best)
    return out


# =========================================================================== rendering


def _s(v: float | None) -> str:
    return "—" if v is None else f"{v:.2f} s"


def _mib(v: int | None) -> str:
    return "—" if v is None else f"{v / 2**20:,.0f} MiB"


def _g(v: int | None) -> str:
    return "—" if v is None else f"{v / 1e9:.3f}"


def render(
    peers: dict[tuple[str, str], Run],
    comps: dict[str, dict[str, int]],
    scaling: list[dict[str, Any]],
    models: Sequence[str],
    runs: int,
    load: Sequence[float] | None = None,
) -> str:
    lines = [SECTION, ""]
    base = peers.get(("baseline", "-"))
    lines.append(
        f"Generated by `benchmarks/peers.py` on {dt.date.today().isoformat()}. Machine: "
        f"{machine()}. Each cell: one fresh process per run, median wall time of {runs} "
        "runs (interleaved) and the peak RSS of that process (`os.wait4` rusage). Input "
        f'1×3×{SIZE}×{SIZE}. Baseline `python -c "import torch, torchvision"`: '
        f"{_s(base.median if base else None)}, {_mib(base.peak if base else None)}. "
        "The machine's cores were shared with other jobs"
        + (
            f" (1-minute load average {load[0]:.1f} before and {load[1]:.1f} after measuring)"
            if load
            else ""
        )
        + ": per-process differences of a few tenths of a second are "
        "within run-to-run noise."
    )
    lines.append("")
    lines.append(
        "Units, all converted to MACs: " + "; ".join(f"{t}: {u}" for t, u in UNITS.items()) + "."
    )
    lines.append("")
    lines.append("### Time and peak memory per process")
    lines.append("")
    lines.append("| model | " + " | ".join(TOOLS) + " |")
    lines.append("| --- | " + " | ".join("---:" for _ in TOOLS) + " |")
    for m in models:
        cells = []
        for t in TOOLS:
            r = peers.get((t, m))
            if r is None:
                cells.append("—")
            elif r.error:
                cells.append(f"failed: {r.error.replace('|', '/')[:60]}")
            else:
                cells.append(f"{_s(r.median)}, {_mib(r.peak)}")
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    medians: dict[str, list[float]] = {}
    for t in TOOLS:
        medians[t] = [
            v for m in models if (t, m) in peers and (v := peers[(t, m)].median) is not None
        ]
    lines.append(
        "| **median** | "
        + " | ".join(_s(statistics.median(v)) if v else "—" for v in medians.values())
        + " |"
    )
    lines.append("")
    if base is not None and base.median is not None:
        above = [
            f"{t} {statistics.median(v) - base.median:+.2f} s" for t, v in medians.items() if v
        ]
        lines.append(
            "Median time above the `import torch, torchvision` baseline (what the "
            "tool itself costs, build included): " + ", ".join(above) + "."
        )
        lines.append("")

    lines.append("### Counts (GMACs) and params")
    lines.append("")
    lines.append("| model | params (convscope) | " + " | ".join(TOOLS) + " |")
    lines.append("| --- | ---: | " + " | ".join("---:" for _ in TOOLS) + " |")
    for m in models:
        cs = peers.get(("convscope", m))
        p = cs.out["params"] if cs and cs.out else None
        cells = []
        for t in TOOLS:
            r = peers.get((t, m))
            if r is None or r.out is None:
                cells.append("—")
                continue
            mark = "" if p is None or r.out.get("params") in (None, p) else " (params differ)"
            cells.append(_g(r.out["macs"]) + mark)
        lines.append(
            f"| {m} | {p:,} | " + " | ".join(cells) + " |"
            if p
            else f"| {m} | — | " + " | ".join(cells) + " |"
        )
    lines.append("")

    lines.append("### Disagreements, reconciled from convscope's per-op components")
    lines.append("")
    lines.append(
        "Each tool's count minus convscope's MACs, explained by the components that "
        "tool is known to count (computed from convscope's graph of the same model); "
        "*exact* means the explanation reproduces the tool's number to the unit."
    )
    lines.append("")
    lines.append("| model | tool | Δ vs convscope | explanation |")
    lines.append("| --- | --- | ---: | --- |")
    for m in models:
        comp = comps.get(m)
        for t in TOOLS[1:]:
            r = peers.get((t, m))
            if r is None or r.out is None or comp is None:
                continue
            diff = r.out["macs"] - comp["macs"]
            if diff == 0:
                continue
            lines.append(
                f"| {m} | {t} | {diff:+,} ({diff / comp['macs']:+.2%}) | "
                f"{reconcile(t, r.out['macs'], comp, r.out)} |"
            )
    lines.append("")
    agree = []
    for m in models:
        fcm = peers.get(("FlopCounterMode", m))
        if fcm is not None and fcm.out and fcm.out["macs"] == comps.get(m, {}).get("macs"):
            agree.append(m)
    lines.append(
        f"FlopCounterMode ÷ 2 equals convscope's MACs on {len(agree)} of {len(models)} models."
    )
    lines.append("")

    lines.append("### Scaling (meta, one fresh process per point)")
    lines.append("")
    lines.append(
        "`analyze` = `convscope.analyze(model, shape)` alone (median of runs, after "
        "the one-off dispatch initialisation); `process` = whole process wall time "
        "(imports and build included); peak RSS of the process."
    )
    lines.append("")
    lines.append(
        "| workload | ops traced | params | GMACs | analyze | µs / op | process | "
        "peak RSS | weights (fp32) | activations written |"
    )
    lines.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for p in scaling:
        label = {
            "blocks": f"residual CNN, {p['arg']} blocks, 64 ch @ 56²",
            "size": f"ResNet-50 @ {p['arg']}²",
            "huge": f"{p['arg']} @ 1024²",
        }[p["kind"]]
        if "error" in p:
            lines.append(f"| {label} | failed: {p['error']} | | | | | | | | |")
            continue
        lines.append(
            f"| {label} | {p['nodes']:,} | {p['params']:,} | {p['macs'] / 1e9:,.1f} | "
            f"{_s(p['analyze_s'])} | {1e6 * p['analyze_s'] / p['nodes']:.0f} | {_s(p['wall'])} "
            f"| {_mib(p['rss'])} | {_mib(p['weight_bytes'])} | {_mib(p['act_bytes'])} |"
        )
    lines.append("")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--skip-peers", action="store_true")
    parser.add_argument("--skip-scaling", action="store_true")
    parser.add_argument(
        "--raw", type=Path, default=Path(tempfile.gettempdir()) / "convscope-peers-raw.json"
    )
    parser.add_argument("--render", action="store_true", help="re-render from --raw only")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    models = args.models.split(",")

    empty: dict[str, Any] = {"peers": {}, "comps": {}, "scaling": []}
    # Start from the last raw results, so a partial run keeps the half not re-measured.
    raw = json.loads(args.raw.read_text()) if args.raw.exists() else empty
    if args.render and not args.raw.exists():
        parser.error(f"no raw results at {args.raw}")
    if not args.render:
        if not args.skip_peers:
            load_before = os.getloadavg()[0]
            peers = measure_peers(models, args.runs)
            raw["load"] = [load_before, os.getloadavg()[0]]
            raw["peers"] = {f"{t}|{m}": vars(r) for (t, m), r in peers.items()}
            args.raw.write_text(json.dumps(raw, indent=1))
        if not args.skip_scaling:
            raw["scaling"] = measure_scaling(args.runs)
        args.raw.write_text(json.dumps(raw, indent=1))  # measurements first: never lost
    raw["comps"] = {m: components(m) for m in models}  # in-process, not timed: always fresh
    args.raw.write_text(json.dumps(raw, indent=1))
    peers_back: dict[tuple[str, str], Run] = {}
    for key, value in raw["peers"].items():
        tool, model = key.split("|", 1)
        peers_back[(tool, model)] = Run(**value)
    section = render(peers_back, raw["comps"], raw["scaling"], models, args.runs, raw.get("load"))
    if not args.no_write:
        write_section(section, RESULTS)
    print(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
