"""Whole-zoo sweep: every torchvision model and a broad timm sample through ``analyze``.

For each model the sweep records: ok / crash (one-line error), the trace mode (meta, or CPU
fallback with its reason), the ops convscope has no formula for, the analyze wall time,
params and MACs against torchvision's weight metadata (``num_params``, ``_ops``), 2 × MACs
against torch's ``FlopCounterMode`` on meta, and whether ``convscope.linting`` raises (when the
lint package exists).

Models run in a pool of worker processes (``--worker``) with a per-model timeout and a
memory watchdog, so one model that hangs or explodes costs one restart, not the sweep.
One worker serves many models: the ~4 s of ``import torch, torchvision`` and the first
dispatch initialisation are paid once per worker, not once per model.

What is compared with torchvision's metadata (``_ops`` is GMACs rounded to 3 decimals):

* classification and quantization (the float, quantizable architecture the quantized entry
  describes: the builder's ``quantize_model`` made a no-op, or, for a builder that
  quantizes otherwise, ``quantize=False`` with the entry's classes): every weight entry, at
  its ``transforms().crop_size`` (224, 232, 299, 384, 518, 600...), params and MACs;
* segmentation: at 1×3×520×520 (the weights' ``resize_size``), params and MACs;
* video: at 1×3×16×crop×crop (16 frames, the weights' crop), params and MACs;
* detection: params only. Their MACs depend on the data (proposals surviving NMS, random
  weights) and on an internal resize whose input convention the metadata does not state;
* optical flow (RAFT): params only; ``_ops`` states no input size.

Metadata describes the model *as the weights build it*: segmentation models get their
auxiliary classifier (``aux_loss=True``) and detection backbones use ``FrozenBatchNorm2d``
(buffers, not parameters). ``torchvision:NAME`` builds with ``weights=None``, which drops
both, so the comparison model is built by the same builder with its ``DEFAULT`` weights
entry and the download and ``load_state_dict`` stubbed out (nothing is fetched; the model
stays on meta). The default ``torchvision:NAME`` numbers are recorded beside it.

Usage::

    python benchmarks/zoo.py                      # torchvision + timm, ~30 min on 2 cores
    python benchmarks/zoo.py --only torchvision   # or timm
    python benchmarks/zoo.py --models resnet18,vit_b_16 --only torchvision --no-write
    python benchmarks/zoo.py --render             # re-render from the last raw results
    python benchmarks/zoo.py --models ... --raw AFTER.json --coverage BEFORE.json
                                                  # unknown ops before / after, same models

Writes the ``## Zoo sweep`` section of ``benchmarks/RESULTS.md`` (other sections are kept)
and ``benchmarks/zoo-results.json`` (machine-readable: the summary per set and one record
per model). Needs torchvision, and timm for the timm part (``pip install -e .[timm]``).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import queue
import re
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(ROOT), str(BENCH)]
from results_file import write_section  # noqa: E402

from convscope._io import write_atomic  # noqa: E402

JSON_OUT = BENCH / "zoo-results.json"
RAW = Path(tempfile.gettempdir()) / "convscope-zoo-raw.json"
SECTION = "## Zoo sweep"
MARK = "@@ZOO@@ "

# timm families sampled: the family is the model name up to its first "_" or digit. Every
# family contributes its first model by name; families with >= BIG_FAMILY models also
# their middle one. Families of language-model encoders are left out (not CNN-like
# vision models at a fixed image size).
TIMM_SKIP_FAMILIES = frozenset({"deepseek", "gemma", "qwen"})
BIG_FAMILY = 10


# =========================================================================== results file


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    versions = []
    for pkg in ("torch", "torchvision", "timm"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions.append(f"{pkg} {metadata.version(pkg)}")
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, " + ", ".join(
        versions
    )


# =========================================================================== model lists


def torchvision_models() -> list[tuple[str, str]]:
    """(category, name) for every torchvision builder, quantization included."""
    import torchvision.models as tvm

    out = []
    for name in tvm.list_models():
        module = tvm.get_model_builder(name).__module__
        parts = module.split(".")
        category = parts[2] if len(parts) > 3 else "classification"
        out.append((category, name))
    order = ["classification", "quantization", "segmentation", "detection", "video", "optical_flow"]
    return sorted(out, key=lambda cn: (order.index(cn[0]) if cn[0] in order else 99, cn[1]))


def timm_family(name: str) -> str:
    return re.split(r"[_\d]", name, maxsplit=1)[0]


def timm_sample() -> list[tuple[str, str]]:
    """Deterministic sample across timm's families (see TIMM_SKIP_FAMILIES/BIG_FAMILY)."""
    import timm

    families: dict[str, list[str]] = defaultdict(list)
    for name in sorted(timm.list_models()):
        families[timm_family(name)].append(name)
    out: list[tuple[str, str]] = []
    for fam in sorted(families):
        if fam in TIMM_SKIP_FAMILIES:
            continue
        names = families[fam]
        picks = [names[0]]
        if len(names) >= BIG_FAMILY:
            picks.append(names[len(names) // 2])
        out.extend((fam, n) for n in picks)
    return out


# =========================================================================== worker


def _one_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    text = f"{type(exc).__name__}: {lines[0] if lines else ''}".strip()
    return text[:300]


@contextlib.contextmanager
def _weights_without_download() -> Iterator[None]:
    """Let a torchvision builder take a weights entry without fetching or loading it.

    The builder then makes exactly the model the weights describe (classes, auxiliary heads,
    frozen norms); only the state dict is skipped.
    """
    import torch
    from torchvision.models._api import WeightsEnum

    original_get = WeightsEnum.get_state_dict
    original_load = torch.nn.Module.load_state_dict

    def no_state(self: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return {}

    def no_load(self: Any, *args: Any, **kwargs: Any) -> Any:
        return None

    setattr(WeightsEnum, "get_state_dict", no_state)  # noqa: B010 - keeps mypy quiet
    setattr(torch.nn.Module, "load_state_dict", no_load)  # noqa: B010
    try:
        yield
    finally:
        setattr(WeightsEnum, "get_state_dict", original_get)  # noqa: B010
        setattr(torch.nn.Module, "load_state_dict", original_load)  # noqa: B010


@contextlib.contextmanager
def _patched(obj: Any, attr: str, value: Any, active: bool) -> Iterator[None]:
    """``obj.attr = value`` for the block when ``active``; restored afterwards."""
    if not active:
        yield
        return
    original = getattr(obj, attr)
    setattr(obj, attr, value)
    try:
        yield
    finally:
        setattr(obj, attr, original)


def _as_weights_build(name: str, weights_name: str | None, device: str) -> Any:
    """The model exactly as ``weights_name`` (default: ``DEFAULT``) builds it, no download."""
    import warnings

    import torch
    import torchvision.models as tvm

    enum = tvm.get_model_weights(name)
    weights = enum[weights_name] if weights_name else enum.DEFAULT
    # Quantization builders accept their (quantized) weights entry only with quantize=True;
    # with the module's `quantize_model` made a no-op they build the float, quantizable
    # architecture exactly as that entry describes it (classes, auxiliary heads dropped).
    # A quantization builder that quantizes otherwise (MobileNetV3: QAT prepare/convert)
    # is built without the entry, float, with the entry's number of classes.
    import inspect

    builder = tvm.get_model_builder(name)
    builder_module = sys.modules[builder.__module__]
    quantizable = callable(getattr(builder_module, "quantize_model", None))
    takes_quantize = "quantize" in inspect.signature(builder).parameters
    extra: dict[str, Any]
    if quantizable:
        entry, extra = weights, {"quantize": True}
    elif takes_quantize:
        entry, extra = None, {"quantize": False, "num_classes": len(weights.meta["categories"])}
    else:
        entry, extra = weights, {}

    def build() -> Any:
        return tvm.get_model(name, weights=entry, **extra)

    def no_quantization(*args: Any, **kwargs: Any) -> None:
        return None

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with (
            _weights_without_download(),
            _patched(builder_module, "quantize_model", no_quantization, quantizable),
        ):
            if device == "meta":
                # convscope's own meta construction (RegNet computes widths on tensors and
                # needs parameters moved to meta as they are registered).
                from convscope.model.building import WITHOUT_WEIGHTS, run_build

                return run_build(build, WITHOUT_WEIGHTS)
            with torch.device(device):
                return build()


def _analyze_as_weights(
    name: str, weights_name: str | None, shapes: Sequence[tuple[int, ...]]
) -> dict[str, Any]:
    import torch

    from convscope.api import analyze

    module = _as_weights_build(name, weights_name, "meta")
    a = analyze(
        module,
        [torch.empty(s, device="meta") for s in shapes],
        rebuild=lambda: _as_weights_build(name, weights_name, "cpu"),
    )
    return {
        "params": a.totals.params,
        "macs": a.totals.macs,
        "mode": a.graph.mode,
        "inputs": [list(s) for s in shapes],
    }


def _flop_counter(module: Any, inputs: Sequence[Any]) -> int:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    training = module.training
    module.eval()
    try:
        try:
            with torch.no_grad(), FlopCounterMode(display=False) as counter:
                module(*inputs)
        except AssertionError:
            # torch's ModuleTracker (inside FlopCounterMode) asserts under no_grad when a
            # module's input is a view of a parameter made in no_grad (CaiT's expanded
            # cls_token); with grad enabled it works, and on meta it costs nothing.
            with FlopCounterMode(display=False) as counter:
                module(*inputs)
    finally:
        module.train(training)
    return int(counter.get_total_flops())


def _summary(a: Any) -> dict[str, Any]:
    return {
        "params": a.totals.params,
        "macs": a.totals.macs,
        "other_flops": a.totals.other_flops,
        "mode": a.graph.mode,
        "fallback_reason": a.graph.fallback_reason,
        "unknown": {u.op: u.count for u in a.unknown},
        "data_dependent": {u.op: u.count for u in getattr(a, "data_dependent", ())},
        "inputs": [list(s) for s in a.input_shapes],
        "rows_sum_ok": sum(r.macs for r in a.rows) == a.totals.macs
        and sum(r.params for r in a.rows) == a.totals.params,
    }


def _lint_fn() -> Any:
    try:
        from convscope import api
    except Exception:
        return None
    fn = getattr(api, "lint", None)
    return fn if callable(fn) else None


def run_lint(lint_fn: Any, a: Any) -> str:
    """``ok (N findings)``, ``rule crashed CODE: message`` (a CS000 finding: the engine
    caught a rule's exception) or ``raised ...``. Rules that need the receptive field get it
    as in ``convscope lint``."""
    provider: Any = None
    try:
        from convscope.analysis.rf import with_receptive_field

        provider = with_receptive_field
    except ImportError:
        pass
    try:
        result = lint_fn(a, receptive_field=provider)
    except Exception as exc:
        return f"raised {_one_line(exc)}"
    findings = list(getattr(result, "findings", ()))
    crashed = [f for f in findings if getattr(f, "code", "") == "CS000"]
    if crashed:
        return f"rule crashed: {getattr(crashed[0], 'message', '?')}"[:300]
    codes = Counter(str(getattr(f, "code", "?")) for f in findings)
    listed = ", ".join(f"{c}×{n}" for c, n in sorted(codes.items()))
    return f"ok ({len(findings)} findings{': ' + listed if listed else ''})"


def _torchvision_meta(name: str, category: str, default: dict[str, Any]) -> dict[str, Any]:
    """Analyses at the metadata's input convention, and the metadata itself.

    Classification: every weight entry, built as that entry builds it (ViT-H/14's SWAG
    entry makes a 518-pixel model), at the entry's crop. Other sets: the DEFAULT entry.
    """
    import torchvision.models as tvm

    entries = []
    for w in tvm.get_model_weights(name):
        crop = getattr(w.transforms(), "crop_size", None)
        entries.append(
            {
                "weights": w.name,
                "num_params": w.meta.get("num_params"),
                "ops": w.meta.get("_ops"),
                "crop": list(crop) if crop else None,
            }
        )
    out: dict[str, Any] = {"entries": entries, "at": {}}
    if category in ("classification", "quantization"):
        for e in entries:
            if e["crop"]:
                c = e["crop"][0]
                out["at"][e["weights"]] = _analyze_as_weights(name, e["weights"], [(1, 3, c, c)])
        return out
    if category == "segmentation":
        shapes: list[tuple[int, ...]] = [(1, 3, 520, 520)]
    else:  # video: the default clip is the metadata's; detection/flow: params only
        shapes = [tuple(s) for s in default["inputs"]]
    out["as_weights"] = _analyze_as_weights(name, None, shapes)
    return out


def run_task(task: dict[str, Any], lint_fn: Any) -> dict[str, Any]:
    import torch

    from convscope.api import analyze_spec
    from convscope.model.load import load_model

    spec = f"{task['source']}:{task['name']}"
    rec: dict[str, Any] = {**task, "spec": spec, "status": "ok"}
    torch.manual_seed(0)
    t0 = time.perf_counter()
    try:
        a = analyze_spec(spec)
    except Exception as exc:
        rec.update(
            status="crash",
            error=_one_line(exc),
            time_s=time.perf_counter() - t0,
            where=traceback.format_exc().strip().splitlines()[-3:],
        )
        return rec
    rec["time_s"] = time.perf_counter() - t0
    rec.update(_summary(a))

    if lint_fn is None:
        rec["lint"] = "n/a"
    else:
        rec["lint"] = run_lint(lint_fn, a)

    if a.graph.mode == "meta":
        try:
            loaded = load_model(spec)
            module = loaded.module if loaded.on_meta else loaded.module.to("meta")
            rec["fcm_flops"] = _flop_counter(module, loaded.inputs.args)
        except Exception as exc:
            rec["fcm_error"] = _one_line(exc)
    del a

    if task["source"] == "torchvision":
        try:
            rec["tv_meta"] = _torchvision_meta(task["name"], task["group"], rec)
        except Exception as exc:
            rec["tv_meta_error"] = _one_line(exc)
    return rec


def worker() -> int:
    """Serve tasks: one JSON object per stdin line, one marked JSON result per stdout line."""
    import warnings

    warnings.simplefilter("ignore")
    import torch

    from convscope.api import analyze

    analyze(torch.nn.Conv2d(3, 4, 3), (1, 3, 8, 8))  # pay the lazy dispatch init up front
    lint_fn = _lint_fn()
    for line in sys.stdin:
        if not line.strip():
            continue
        task = json.loads(line)
        try:
            rec = run_task(task, lint_fn)
        except BaseException as exc:  # the sweep's own failure: still report and go on
            rec = {**task, "status": "crash", "error": "zoo: " + _one_line(exc)}
        sys.stdout.write(MARK + json.dumps(rec) + "\n")
        sys.stdout.flush()
    return 0


# =========================================================================== pool


def _rss_bytes(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class Worker:
    """One ``zoo.py --worker`` process and a thread that forwards its marked lines."""

    def __init__(self, log: Path) -> None:
        env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
        self.log = open(log, "a")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
            cwd=ROOT,
            env=env,
            bufsize=1,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith(MARK):
                self.lines.put(line[len(MARK) :])
        self.lines.put(None)

    def ask(self, task: dict[str, Any], timeout: float, max_rss: int) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(task) + "\n")
        self.proc.stdin.flush()
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=0.5)
            except queue.Empty:
                if _rss_bytes(self.proc.pid) > max_rss:
                    self.stop()
                    return {
                        **task,
                        "status": "crash",
                        "error": f"zoo: worker exceeded {max_rss >> 30} GiB RSS",
                    }
                if time.monotonic() > deadline:
                    self.stop()
                    return {
                        **task,
                        "status": "crash",
                        "error": f"zoo: timeout after {timeout:.0f} s",
                    }
                continue
            if line is None:
                code = self.proc.wait()
                return {**task, "status": "crash", "error": f"zoo: worker died (exit {code})"}
            result: dict[str, Any] = json.loads(line)
            return result

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            if self.proc.stdin:
                self.proc.stdin.close()
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.log.close()


def sweep(
    tasks: list[dict[str, Any]], timeout: float, max_rss: int, recycle_rss: int, log: Path
) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    w: Worker | None = None
    for i, task in enumerate(tasks, 1):
        if w is None or not w.alive() or _rss_bytes(w.proc.pid) > recycle_rss:
            if w is not None:
                w.stop()
            w = Worker(log)
        rec = w.ask(task, timeout, max_rss)
        if not w.alive():
            w = None
        results.append(rec)
        extra = rec.get("error") or f"{rec.get('mode')} {rec.get('time_s', 0):.2f}s"
        print(
            f"[{i}/{len(tasks)}] {rec['spec'] if 'spec' in rec else task['name']}: "
            f"{rec['status']} {extra}",
            flush=True,
        )
    if w is not None:
        w.stop()
    return results


# =========================================================================== verdicts


def fcm_verdict(rec: dict[str, Any]) -> str:
    """``agree`` / ``differ`` / ``n/a`` for 2 × MACs vs FlopCounterMode."""
    if rec.get("status") != "ok" or "fcm_flops" not in rec:
        return "n/a"
    return "agree" if rec["fcm_flops"] == 2 * rec["macs"] else "differ"


def tv_checks(rec: dict[str, Any]) -> list[dict[str, Any]]:
    """One check per compared metadata entry: params/macs ours vs theirs and agreement."""
    meta = rec.get("tv_meta")
    if not meta:
        return []
    group = rec["group"]
    checks = []
    for e in meta["entries"]:
        if group in ("classification", "quantization"):
            if not e["crop"]:
                continue
            ours = meta["at"].get(e["weights"])
            where = f"1×3×{e['crop'][0]}×{e['crop'][0]}"
            compare_macs = True
        else:
            ours = meta.get("as_weights")
            where = "×".join(map(str, ours["inputs"][0])) if ours else "?"
            # Two-stage detectors run their RoI heads on however many proposals survive
            # NMS: data-dependent. One-stage detectors and the rest are not.
            compare_macs = group in ("segmentation", "video") or (
                group == "detection" and "rcnn" not in rec["name"]
            )
        if not ours:
            continue
        params_ok = e["num_params"] is None or ours["params"] == e["num_params"]
        gmacs = round(ours["macs"] / 1e9, 3)
        macs_ok = not compare_macs or e["ops"] is None or abs(gmacs - float(e["ops"])) < 5e-4
        checks.append(
            {
                "weights": e["weights"],
                "where": where,
                "params": ours["params"],
                "num_params": e["num_params"],
                "gmacs": gmacs,
                "ops": e["ops"],
                "params_ok": params_ok,
                "macs_ok": macs_ok,
                "macs_compared": compare_macs,
            }
        )
    return checks


# Explanations for the disagreements the sweep is known to find; anything else shows as
# "unexplained" in the report so a regression cannot hide.
EXPLAIN_FCM: dict[str, str] = {}
EXPLAIN_META: dict[str, str] = {
    "quantized_inception_v3": (
        "`num_params` counts the auxiliary classifier `AuxLogits` (3,326,696 params: "
        "27,161,264 − 23,834,568, checked by building it with `aux_logits=True`); the "
        "quantization builder deletes it after loading the weights, so the built model "
        "has no such layer"
    ),
}
EXPLAIN_FCM_ERROR: dict[str, str] = {}


def _explain(table: dict[str, str], rec: dict[str, Any]) -> str:
    for key in (rec.get("spec", ""), rec.get("name", ""), rec.get("group", "")):
        if key in table:
            return table[key]
    for pattern, text in table.items():
        if pattern.startswith("re:") and re.search(pattern[3:], rec.get("name", "")):
            return text
    return "**unexplained**"


# =========================================================================== rendering


def _n(v: Any) -> str:
    return f"{v:,}" if isinstance(v, int) else ("—" if v is None else str(v))


def _reason(text: str | None) -> str:
    if not text:
        return ""
    text = text.replace("|", "\\|")
    return text if len(text) <= 160 else text[:157] + "..."


def render(
    results: list[dict[str, Any]], elapsed: float, limits: dict[str, Any]
) -> tuple[str, str]:
    """(RESULTS.md section, zoo-results.json text)."""
    tv = [r for r in results if r.get("source") == "torchvision"]
    tm = [r for r in results if r.get("source") == "timm"]
    lines = [SECTION, ""]
    lines.append(
        f"Generated by `benchmarks/zoo.py` on {dt.date.today().isoformat()}. Machine: "
        f"{machine()}. Sweep wall time {elapsed / 60:.1f} min (worker processes; each model "
        f"limited to {limits.get('timeout', '?')} s and {limits.get('max_rss_gb', '?')} GiB RSS, "
        "beyond which it counts as a crash; analyze time below is `analyze_spec` inside a warm "
        "worker, build included). "
        "Per-model records: [`zoo-results.json`](zoo-results.json)."
    )
    lines.append("")
    lines.append(
        "Scope: every `torchvision.models.list_models()` entry — classification, "
        "quantization (the float quantizable architecture, `quantize=False`), segmentation, "
        "detection, video, optical flow — at its default input (`torchvision:NAME`, no "
        "`-i`: 1×3×224×224 for classification, segmentation and detection — detection "
        "models resize inside their transform, to an 800-pixel short side for R-CNN, "
        "RetinaNet and FCOS and to 300/320 for SSD, so a smaller input would not be cheaper; "
        "video 1×3×16×crop×crop with the weights' crop, 112 or 224; optical flow two "
        "1×3×224×224 frames; the metadata checks below use the weights' own conventions), "
        "and a timm sample: every timm family's first model by name plus the middle "
        f"one of families with ≥ {BIG_FAMILY} models (language-model encoder families "
        f"{', '.join(sorted(TIMM_SKIP_FAMILIES))} left out), random weights, each at its "
        "`pretrained_cfg` input size."
    )
    lines.append("")
    lines.append(
        "| set | models | ok | crash | meta | CPU fallback | with unknown ops | "
        "2×MACs = FlopCounterMode | differ | n/a | lint raised or rule crashed | "
        "analyze time median / max |"
    )
    lines.append(
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    )
    groups: list[tuple[str, list[dict[str, Any]]]] = []
    for cat in (
        "classification",
        "quantization",
        "segmentation",
        "detection",
        "video",
        "optical_flow",
    ):
        sel = [r for r in tv if r["group"] == cat]
        if sel:
            groups.append((f"torchvision {cat}", sel))
    if tv:
        groups.append(("**torchvision all**", tv))
    if tm:
        groups.append(("**timm sample**", tm))
    for label, sel in groups:
        ok = [r for r in sel if r["status"] == "ok"]
        verdicts = Counter(fcm_verdict(r) for r in sel)
        times = sorted(r["time_s"] for r in ok)
        lint_raised = sum(1 for r in ok if not str(r.get("lint", "ok")).startswith(("ok", "n/a")))
        lint_na = all(r.get("lint") == "n/a" for r in ok)
        lines.append(
            f"| {label} | {len(sel)} | {len(ok)} | {len(sel) - len(ok)} | "
            f"{sum(r['mode'] == 'meta' for r in ok)} | {sum(r['mode'] == 'cpu' for r in ok)} | "
            f"{sum(bool(r['unknown']) for r in ok)} | {verdicts['agree']} | "
            f"{verdicts['differ']} | {verdicts['n/a']} | "
            f"{'n/a' if lint_na else lint_raised} | "
            + (f"{times[len(times) // 2]:.2f} s / {times[-1]:.1f} s |" if times else "— |")
        )
    lines.append("")
    lines.append(
        "*n/a* for FlopCounterMode: the model does not run on meta (convscope fell "
        "back to CPU; FlopCounterMode is only compared on meta)."
    )
    lines.append("")

    crashes = [r for r in results if r["status"] != "ok"]
    lines.append(f"### Crashes ({len(crashes)})")
    lines.append("")
    if crashes:
        lines.append("| model | error |")
        lines.append("| --- | --- |")
        lines.extend(
            f"| `{r.get('spec', r['name'])}` | {_reason(r.get('error'))} |" for r in crashes
        )
    else:
        lines.append("None.")
    lines.append("")

    fallbacks = [r for r in results if r["status"] == "ok" and r["mode"] == "cpu"]
    lines.append(f"### CPU fallbacks ({len(fallbacks)})")
    lines.append("")
    if fallbacks:
        lines.append("| model | why meta failed |")
        lines.append("| --- | --- |")
        lines.extend(f"| `{r['spec']}` | {_reason(r['fallback_reason'])} |" for r in fallbacks)
    else:
        lines.append("None.")
    lines.append("")

    op_models: dict[str, list[str]] = defaultdict(list)
    for r in results:
        if r["status"] == "ok":
            for op in r["unknown"]:
                op_models[op].append(r["spec"])
    lines.append(f"### Ops without a cost formula ({len(op_models)})")
    lines.append("")
    if op_models:
        lines.append("| op | models | which |")
        lines.append("| --- | ---: | --- |")
        for op, models in sorted(op_models.items(), key=lambda kv: (-len(kv[1]), kv[0])):
            shown = ", ".join(f"`{m}`" for m in models[:4]) + (" …" if len(models) > 4 else "")
            lines.append(f"| `{op}` | {len(models)} | {shown} |")
    else:
        lines.append("None.")
    lines.append("")

    # metadata agreement
    checks = [(r, c) for r in tv for c in tv_checks(r)]
    lines.append("### Params and MACs vs torchvision weight metadata")
    lines.append("")
    by_group: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r, c in checks:
        by_group[r["group"]].append(c)
    lines.append(
        "| set | weight entries | params equal `num_params` | MACs compared | "
        "GMACs equal `_ops` (3 decimals) | convention |"
    )
    lines.append("| --- | ---: | ---: | ---: | ---: | --- |")
    convention = {
        "classification": "each entry's `transforms().crop_size`, 1×3×crop×crop",
        "quantization": "as classification; the float, quantizable architecture the "
        "quantized entry describes (`quantize_model` made a no-op, or "
        "`quantize=False` with the entry's classes)",
        "segmentation": "1×3×520×520, built as the weights build it (aux classifier)",
        "detection": "default input 1×3×224×224 (resized inside to 800 or the model's "
        "size), FrozenBatchNorm2d backbone as trained; MACs only for one-stage "
        "detectors (R-CNN heads are data-dependent)",
        "video": "1×3×16×crop×crop",
        "optical_flow": "params only; `_ops` input size not stated",
    }
    for cat in convention:
        cs = by_group.get(cat, [])
        if not cs:
            continue
        compared = [c for c in cs if c["macs_compared"] and c["ops"] is not None]
        lines.append(
            f"| {cat} | {len(cs)} | {sum(c['params_ok'] for c in cs)} | {len(compared)} | "
            f"{sum(c['macs_ok'] for c in compared)} | {convention[cat]} |"
        )
    lines.append("")

    # disagreements
    rows = []
    for r, c in checks:
        if not (c["params_ok"] and c["macs_ok"]):
            rows.append(
                f"| `{r['spec']}` | metadata ({c['weights']}, {c['where']}) | params "
                f"{_n(c['params'])} vs {_n(c['num_params'])}; GMACs {c['gmacs']} vs {c['ops']} "
                f"| {_explain(EXPLAIN_META, r)} |"
            )
    for r in results:
        if fcm_verdict(r) == "differ":
            rows.append(
                f"| `{r['spec']}` | FlopCounterMode | 2×MACs {_n(2 * r['macs'])} vs "
                f"{_n(r['fcm_flops'])} ({(2 * r['macs'] - r['fcm_flops']) / r['fcm_flops']:+.2%})"
                f" | {_explain(EXPLAIN_FCM, r)} |"
            )
        if r.get("status") == "ok" and r["mode"] == "meta" and "fcm_error" in r:
            rows.append(
                f"| `{r['spec']}` | FlopCounterMode | could not run: "
                f"{_reason(r['fcm_error'])} | {_explain(EXPLAIN_FCM_ERROR, r)} |"
            )
        if r.get("tv_meta_error"):
            rows.append(
                f"| `{r['spec']}` | metadata | could not build/compare: "
                f"{_reason(r['tv_meta_error'])} | — |"
            )
        if r.get("status") == "ok" and not r.get("rows_sum_ok", True):
            rows.append(f"| `{r['spec']}` | rows vs totals | rows do not sum to totals | **bug** |")
        if not str(r.get("lint", "ok")).startswith(("ok", "n/a")):
            rows.append(f"| `{r['spec']}` | lint | {_reason(r['lint'])} | **bug** |")
    lines.append(f"### Disagreements ({len(rows)})")
    lines.append("")
    if rows:
        lines.append("| model | against | numbers | explanation |")
        lines.append("| --- | --- | --- | --- |")
        lines.extend(rows)
    else:
        lines.append("None.")
    lines.append("")

    detection = [
        r
        for r in tv
        if r["status"] == "ok"
        and (r["group"] == "optical_flow" or (r["group"] == "detection" and "rcnn" in r["name"]))
    ]
    if detection:
        lines.append(
            "MACs not compared: two-stage detectors (data-dependent RoI heads; "
            "random weights keep a different number of proposals than trained ones) "
            "and optical flow (no input size stated). For the record, convscope at "
            "the default input vs `_ops`:"
        )
        lines.append("")
        lines.append("| model | input | trace | GMACs (default build) | `_ops` |")
        lines.append("| --- | --- | --- | ---: | ---: |")
        for r in detection:
            ops = (r.get("tv_meta") or {}).get("entries", [{}])[0].get("ops")
            shape = " + ".join("×".join(map(str, s)) for s in r["inputs"])
            lines.append(
                f"| `{r['spec']}` | {shape} | {r['mode']} | {r['macs'] / 1e9:.3f} | {ops} |"
            )
        lines.append("")

    slow = sorted((r for r in results if r["status"] == "ok"), key=lambda r: -r["time_s"])[:8]
    if slow:
        lines.append(
            "Slowest analyses: "
            + ", ".join(f"`{r['spec']}` {r['time_s']:.1f} s ({r['mode']})" for r in slow)
            + "."
        )
        lines.append("")

    return "\n".join(lines), render_json(results, elapsed, groups, limits)


COVERAGE = "## Zoo sweep: ops without a cost formula, before / after"


def _by_op(results: list[dict[str, Any]], key: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for r in results:
        for op in r.get(key) or {}:
            out[op].append(r["spec"])
    return out


def _same_counts(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return (a.get("params"), a.get("macs")) == (b.get("params"), b.get("macs"))


def render_coverage(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> str:
    """Unknown ops per op name (and the models they hit) in two runs of the same models."""
    names = {r["spec"] for r in after}
    before = [r for r in before if r["spec"] in names]
    earlier = {r["spec"]: r for r in before}
    old, new = _by_op(before, "unknown"), _by_op(after, "unknown")
    dd = _by_op(after, "data_dependent")
    groups = Counter(
        f"torchvision {r['group']}" if r["source"] == "torchvision" else "timm" for r in after
    )
    families = len({r["group"] for r in after if r["source"] == "timm"})
    lines = [
        COVERAGE,
        "",
        f"Generated by `benchmarks/zoo.py --coverage` on {dt.date.today().isoformat()}. "
        f"Machine: {machine()}. Both runs analyze the same {len(after)} models "
        "("
        + ", ".join(
            f"{g}: {n}" + (f" ({families} families)" if g == "timm" else "")
            for g, n in sorted(groups.items())
        )
        + "); 'before' is the "
        "code before the op table gained these formulas. Models with an unknown op: "
        f"{sum(bool(r.get('unknown')) for r in before)} before, "
        f"{sum(bool(r.get('unknown')) for r in after)} after; crashes after: "
        f"{sum(r['status'] != 'ok' for r in after)}. Params and MACs equal in both runs: "
        f"{sum(_same_counts(r, prev) for r in after if (prev := earlier.get(r['spec'])))} "
        f"of {len(after)} models (other-op FLOPs grow where the new formulas price work).",
    ]
    if len(after) <= 60:  # a subset: say which
        lines += ["", "Models: " + ", ".join(f"`{r['spec']}`" for r in after) + "."]
    lines += [
        "",
        "| op | models before | models after | which (before) |",
        "| --- | ---: | ---: | --- |",
    ]
    for op in sorted(set(old) | set(new)):
        which = ", ".join(f"`{m}`" for m in sorted(old.get(op, []))[:4])
        more = " …" if len(old.get(op, [])) > 4 else ""
        lines.append(
            f"| `{op}` | {len(old.get(op, []))} | {len(new.get(op, []))} | {which}{more} |"
        )
    if not old and not new:
        lines.append("| (none) | 0 | 0 | |")
    if dd:
        lines += [
            "",
            "Priced as data-dependent after (from the sizes each run produced, flagged in the "
            "JSON `data_dependent_ops`): "
            + ", ".join(f"`{op}` in {len(ms)} models" for op, ms in sorted(dd.items()))
            + ".",
        ]
    return "\n".join(lines) + "\n"


def _set_summary(sel: list[dict[str, Any]]) -> dict[str, Any]:
    ok = [r for r in sel if r["status"] == "ok"]
    verdicts = Counter(fcm_verdict(r) for r in sel)
    return {
        "models": len(sel),
        "ok": len(ok),
        "crash": len(sel) - len(ok),
        "meta": sum(r["mode"] == "meta" for r in ok),
        "cpu_fallback": sum(r["mode"] == "cpu" for r in ok),
        "with_unknown_ops": sum(bool(r["unknown"]) for r in ok),
        "fcm_agree": verdicts["agree"],
        "fcm_differ": verdicts["differ"],
        "fcm_na": verdicts["n/a"],
        "lint_failed": sum(1 for r in ok if not str(r.get("lint", "ok")).startswith(("ok", "n/a"))),
    }


def render_json(
    results: list[dict[str, Any]],
    elapsed: float,
    groups: Sequence[tuple[str, list[dict[str, Any]]]],
    limits: dict[str, Any],
) -> str:
    """Machine-readable results: summary per set, metadata agreement, one record per model."""
    checks = [(r, c) for r in results if r.get("source") == "torchvision" for c in tv_checks(r)]
    meta_summary: dict[str, dict[str, int]] = {}
    for r, c in checks:
        m = meta_summary.setdefault(
            r["group"], {"entries": 0, "params_equal": 0, "macs_compared": 0, "macs_equal": 0}
        )
        m["entries"] += 1
        m["params_equal"] += int(c["params_ok"])
        if c["macs_compared"] and c["ops"] is not None:
            m["macs_compared"] += 1
            m["macs_equal"] += int(c["macs_ok"])
    keep = (
        "source",
        "group",
        "name",
        "spec",
        "status",
        "error",
        "mode",
        "fallback_reason",
        "inputs",
        "params",
        "macs",
        "other_flops",
        "unknown",
        "fcm_flops",
        "fcm_error",
        "lint",
        "time_s",
        "rows_sum_ok",
        "tv_meta_error",
    )
    models = []
    for r in results:
        rec = {k: r[k] for k in keep if k in r}
        rec["fcm"] = fcm_verdict(r)
        tv = tv_checks(r)
        if tv:
            rec["tv_metadata"] = tv
        models.append(rec)
    doc = {
        "generated": dt.date.today().isoformat(),
        "machine": machine(),
        "elapsed_s": round(elapsed, 1),
        "limits": limits,
        "summary": {label.strip("*"): _set_summary(sel) for label, sel in groups},
        "torchvision_metadata": meta_summary,
        "models": models,
    }
    return json.dumps(doc, indent=1) + "\n"


# =========================================================================== main


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--only", choices=("all", "torchvision", "timm"), default="all")
    parser.add_argument("--models", help="comma-separated names to run (filter)")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per model")
    parser.add_argument(
        "--max-rss-gb",
        type=float,
        default=10.0,
        help="kill a worker above this RSS (the model counts as a crash)",
    )
    parser.add_argument(
        "--recycle-rss-gb",
        type=float,
        default=3.0,
        help="start a fresh worker before the next model above this RSS",
    )
    parser.add_argument("--raw", type=Path, default=RAW, help="raw JSON results file")
    parser.add_argument("--render", action="store_true", help="only re-render from --raw")
    parser.add_argument("--no-write", action="store_true", help="do not touch RESULTS.md")
    parser.add_argument(
        "--coverage",
        type=Path,
        help="raw results of an earlier run: write only the before/after unknown-ops section",
    )
    args = parser.parse_args(argv)
    if args.worker:
        return worker()
    if args.coverage and args.render:
        before = json.loads(args.coverage.read_text())["results"]
        section = render_coverage(before, json.loads(args.raw.read_text())["results"])
        if not args.no_write:
            write_section(section)
        print(section)
        return 0

    elapsed = 0.0
    if args.render:
        data = json.loads(args.raw.read_text())
        results, elapsed = data["results"], data["elapsed"]
        limits = data.get("limits", {"timeout": args.timeout, "max_rss_gb": args.max_rss_gb})
    else:
        tasks: list[dict[str, Any]] = []
        if args.only in ("all", "torchvision"):
            tasks += [
                {"source": "torchvision", "group": g, "name": n} for g, n in torchvision_models()
            ]
        if args.only in ("all", "timm"):
            tasks += [{"source": "timm", "group": g, "name": n} for g, n in timm_sample()]
        if args.models:
            wanted = set(args.models.split(","))
            tasks = [t for t in tasks if t["name"] in wanted]
        t0 = time.perf_counter()
        results = sweep(
            tasks,
            args.timeout,
            int(args.max_rss_gb * 2**30),
            int(args.recycle_rss_gb * 2**30),
            Path(tempfile.gettempdir()) / "convscope-zoo-workers.log",
        )
        elapsed = time.perf_counter() - t0
        limits = {"timeout": args.timeout, "max_rss_gb": args.max_rss_gb}
        args.raw.write_text(
            json.dumps({"results": results, "elapsed": elapsed, "limits": limits}, indent=1)
        )
    if args.coverage:
        section = render_coverage(json.loads(args.coverage.read_text())["results"], results)
        if not args.no_write:
            write_section(section)
        print(section)
        return 0
    section, json_text = render(results, elapsed, limits)
    if not args.no_write:
        write_section(section)
        write_atomic(JSON_OUT, json_text)
    print(section)
    crashes = sum(r["status"] != "ok" for r in results)
    return 1 if crashes else 0


if __name__ == "__main__":
    sys.exit(main())
