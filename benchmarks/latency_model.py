"""Predicted vs measured latency: the kernel model on held-out models.

Steps:

1. Calibrate this machine's kernel model at a fixed thread count (``--threads``, default 1)
   with ``convscope.profiling.kernel_bench.calibrate_kernels`` (``--budget`` seconds), or
   reuse a calibration (``--calibration FILE.yaml``; the default file
   ``benchmarks/latency-calibration.yaml`` is reused when it exists, ``--recalibrate``
   replaces it). The calibration sees micro-benchmarks only, never the models below.
2. For every model (all torchvision classification models and the timm models of families
   torchvision lacks, built with random weights) at each batch size (default 1 and 8):
   predict with ``convscope.predict_latency`` (meta trace, no weights, no run), then
   measure with ``convscope.profile`` at the same thread count: its median end to end,
   and at batch 1 the per-layer self times. A forward predicted to be long gets fewer
   iterations: about ``--model-seconds`` of timed iterations per model and batch size, at
   least one (so huge models at batch 8 are one timed iteration after one warm-up; the
   results say how many ran). ``--timer-check N``: the first N models at batch 1 are also
   timed with ``torch.utils.benchmark.Timer`` as a cross-check of the profile median.
3. Report: share of models within ±10 % / ±20 % end to end per batch size, median
   absolute error end to end and per layer, the roofline lower bound beside it, the
   worst five models with the kernel families that dominate them, and a predicted-vs-
   measured scatter plot (``benchmarks/latency_model.png``). ``--output FILE`` replaces
   this benchmark's section of ``FILE`` (e.g. ``benchmarks/RESULTS.md``).

Every result is cached per model and batch size in ``benchmarks/latency-model-results.json``
(with ``os.getloadavg()`` before and after its measurement), keyed to the calibration, so
an interrupted run resumes where it stopped; ``--models a,b`` / ``--quick`` run a subset,
``--report-only`` only rewrites the report from the cache. Timings mean something only on
a quiet machine: the report shows the load averages the measurements ran under.

``python benchmarks/latency_model.py [--quick | --models torchvision:resnet18,timm:dla34]
[--batches 1,8] [--threads 1] [--budget 240] [--output benchmarks/RESULTS.md]``
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results_file import emit

from convscope._io import write_atomic

HERE = Path(__file__).resolve().parent
SECTION = "## latency model: predicted vs measured"
CACHE = HERE / "latency-model-results.json"
CALIBRATION = HERE / "latency-calibration.yaml"
PLOT = HERE / "latency_model.png"

#: timm models of families torchvision has no member of (built with pretrained=False).
TIMM = (
    "resnetv2_50",
    "cspresnet50",
    "cspdarknet53",
    "dla34",
    "dpn68",
    "hrnet_w18_small",
    "ghostnet_100",
    "ghostnetv2_100",
    "mobilevit_s",
    "mobilevitv2_050",
    "efficientformer_l1",
    "efficientformerv2_s0",
    "levit_128",
    "poolformer_s12",
    "rexnet_100",
    "res2net50_26w_4s",
    "resnest14d",
    "selecsls42b",
    "tresnet_m",
    "ese_vovnet19b_dw",
    "hardcorenas_a",
    "lcnet_050",
    "mixnet_s",
    "tinynet_a",
    "fbnetv3_b",
    "gernet_s",
    "repvgg_a0",
    "nf_resnet26",
    "coat_lite_tiny",
    "pit_ti_224",
    "xcit_nano_12_p16_224",
    "convit_tiny",
    "twins_svt_small",
    "inception_v4",
    "xception41",
    "edgenext_x_small",
    "mobileone_s0",
    "fastvit_t8",
    "efficientvit_b0",
    "repvit_m1",
    "hgnetv2_b0",
    "pvt_v2_b0",
    "visformer_tiny",
    "mobilenetv4_conv_small",
    "inception_next_tiny",
    "tiny_vit_5m_224",
    "starnet_s1",
    "skresnet18",
    "botnet26t_256",
    "halonet26t",
    "crossvit_tiny_240",
    "eca_resnet33ts",
)

#: ``--quick``: a spread of designs (dense, depthwise, grouped, attention, concat).
QUICK = (
    "torchvision:resnet18",
    "torchvision:mobilenet_v2",
    "torchvision:mobilenet_v3_small",
    "torchvision:efficientnet_b0",
    "torchvision:shufflenet_v2_x1_0",
    "torchvision:regnet_x_400mf",
    "torchvision:densenet121",
    "torchvision:squeezenet1_1",
    "torchvision:mnasnet0_5",
    "torchvision:googlenet",
    "timm:ghostnet_100",
    "timm:lcnet_050",
    "timm:dla34",
    "timm:mobilevit_s",
)


def all_models() -> list[str]:
    import torchvision

    names = torchvision.models.list_models(module=torchvision.models)
    return [f"torchvision:{n}" for n in names] + [f"timm:{n}" for n in TIMM]


def _load() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


# --------------------------------------------------------------------------- running


def write_cache(cache: dict[str, Any], path: Path) -> None:
    """The cache as JSON with one line per result, so that a rerun diffs per model."""
    sep = (",", ":")
    head = {k: v for k, v in cache.items() if k != "results"}
    lines = ["{"]
    lines += [f" {json.dumps(k)}: {json.dumps(v, separators=sep)}," for k, v in head.items()]
    lines.append(' "results": {')
    items = list(cache.get("results", {}).items())
    for i, (k, v) in enumerate(items):
        comma = "," if i < len(items) - 1 else ""
        lines.append(f"  {json.dumps(k)}: {json.dumps(v, separators=sep)}{comma}")
    lines += [" }", "}"]
    path.write_text("\n".join(lines) + "\n")


def api_profile(path: Path) -> Any:
    from convscope import api

    return api.load_profile(str(path))


def calibration(args: argparse.Namespace) -> tuple[Any, list[float]]:
    """The profile to predict with, and the gauges (:func:`probe_ms`) around its calibration
    when this run made it: one before, one after each attempt or session. With one session,
    a calibration during which the host's speed changed (the gauges around it differ by more
    than ``--host-tolerance``) is made again, once; with ``--sessions K`` this makes the
    first of K sessions of ``--budget / K`` seconds (:func:`add_session` the others)."""
    from convscope import api

    path = args.calibration
    gauges: list[float] = []
    if args.recalibrate or not path.exists():
        budget = args.budget / args.sessions
        for _ in range(2 if args.sessions == 1 else 1):
            gauges.append(probe_ms())
            print(
                f"calibrating kernels ({budget:.0f} s, {args.threads} thread(s))...",
                file=sys.stderr,
            )
            measured = api.calibrate_kernels("cpu", threads=args.threads, budget_s=budget)
            gauges.append(probe_ms())
            print(f"  {measured.model.provenance.text}; gauges {gauges[-2:]}", file=sys.stderr)
            if abs(gauges[-1] / gauges[-2] - 1) <= args.host_tolerance:
                break
        write_atomic(path, measured.to_profile_yaml())
    return api.load_profile(str(path)), gauges


def add_session(profile: Any, args: argparse.Namespace) -> tuple[Any, list[float]]:
    """One more calibration session pooled into the calibration file (what `convscope profile
    --calibrate --kernels --append FILE` does), with the gauges before and after it."""
    from convscope import api

    budget = args.budget / args.sessions
    gauges = [probe_ms()]
    print(f"calibration session ({budget:.0f} s)...", file=sys.stderr)
    measured = api.calibrate_kernels(
        "cpu", threads=args.threads, budget_s=budget, pool_with=profile.kernels
    )
    gauges.append(probe_ms())
    print(f"  {measured.model.provenance.text}; gauges {gauges}", file=sys.stderr)
    write_atomic(args.calibration, measured.to_profile_yaml())
    return api.load_profile(str(args.calibration)), gauges


def calibration_key(prov: Any) -> str:
    """What ties cached results to a calibration: its (first session's) date and threads
    (sessions pooled later keep both)."""
    return f"{prov.date}|{prov.threads}"


def await_host(reference: float, args: argparse.Namespace) -> tuple[float, float]:
    """Wait until the host runs at the speed it ran the calibration at: the gauge within
    ``--host-tolerance`` of ``reference``, polled every 15 s for at most ``--host-wait``
    seconds. Returns (seconds waited, last gauge ratio). A shared host has slow and fast
    spells of minutes (the gauge has read 0.74–1.66× its calibration value); a model
    measured in another spell than its calibration's is off by that much whatever the
    predictor. This only chooses when to measure; nothing is corrected."""
    started = time.monotonic()
    while True:
        ratio = probe_ms() / reference
        waited = time.monotonic() - started
        if abs(ratio - 1) <= args.host_tolerance or waited >= args.host_wait:
            return waited, ratio
        time.sleep(15)


def probe_ms() -> float:
    """A host speed gauge: the lower-quartile thread CPU time of a fixed block (3×3 conv 64→64 on a
    56² map, batch norm, ReLU, 3×3 max pool; one thread). Taken right after the calibration
    and before every measurement, it shows how much this shared host's speed drifts between
    the two (the prediction can be no closer than that). Not an input of any prediction."""
    import torch

    gen = torch.Generator().manual_seed(0)
    block = torch.nn.Sequential(
        torch.nn.Conv2d(64, 64, 3, padding=1, bias=False),
        torch.nn.BatchNorm2d(64),
        torch.nn.ReLU(inplace=True),
        torch.nn.MaxPool2d(3, 1, 1),
    ).eval()
    with torch.no_grad():
        for t in block.parameters():
            t.copy_(torch.rand(t.shape, generator=gen) - 0.5)
    x = torch.rand((1, 64, 56, 56), generator=gen)
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.inference_mode():
            for _ in range(3):
                block(x)
            times = []
            for _ in range(20):
                t0 = time.thread_time_ns()
                block(x)
                times.append((time.thread_time_ns() - t0) / 1e6)
    finally:
        torch.set_num_threads(old)
    return round(sorted(times)[len(times) // 4], 4)


def measure_one(
    spec: str, batch: int, profile: Any, args: argparse.Namespace, *, per_layer: bool = True
) -> dict[str, Any]:
    import torch

    from convscope import api

    loaded = api.load_model(spec, device="cpu", seed=0)
    module = loaded.rebuild() if loaded.on_meta and loaded.rebuild is not None else loaded.module
    # profile sets dimension 0 of every input to the batch size: the analysis does too.
    meta = tuple(torch.empty((batch, *t.shape[1:]), device="meta") for t in loaded.inputs.args)
    analysis = api.analyze(module, meta, name=spec, rebuild=loaded.rebuild)
    pred = api.predict_latency(analysis, profile)
    predicted_s = pred.predicted_ms / 1e3
    # About --model-seconds of timed iterations; at least one after one warm-up.
    iters = max(1, min(200, int(args.model_seconds / max(predicted_s, 1e-4))))
    warmup = 1 if predicted_s > 1.0 else 3
    load_before = _load()
    probe = probe_ms()
    # The device's speed right before the measurement, against the kernel model.
    speed = (
        api.speed_check(profile.kernels, budget_s=args.speed_check).ratio
        if args.speed_check > 0
        else None
    )
    started = time.monotonic()
    result = api.profile(
        module,
        loaded.inputs,
        batch_sizes=[batch],
        threads=args.threads,
        min_time=min(args.model_seconds, iters * predicted_s),
        max_iters=iters,
        warmup=warmup,
        per_layer=per_layer and batch == 1,
        name=spec,
    )
    cpu_median_ms, cpu_ms, cpu_layers = cpu_times(
        module, loaded.inputs.args, batch, stats_iters(result), warmup, per_layer=per_layer
    )
    wall = time.monotonic() - started
    stats = result.batches[0].stats
    # [path, type, predicted ms, thread-CPU ms, profile wall ms] per leaf layer (batch 1).
    layers: list[list[Any]] = []
    for row in analysis.rows:
        p = pred.layer_ms.get(row.path)
        measured = result.layers.get(row.path) if result.layers is not None else None
        if p is not None and row.path in cpu_layers:
            wall_ms = round(measured.time_s * 1e3, 5) if measured is not None else None
            layers.append(
                [row.path, row.type_name, round(p, 5), round(cpu_layers[row.path], 5), wall_ms]
            )
    return {
        "model": spec,
        "batch": batch,
        "params": analysis.totals.params,
        "macs": analysis.totals.macs,
        **prediction_fields(pred),
        "measured_ms": round(stats.median_s * 1e3, 4),
        "cpu_ms": round(cpu_ms, 4),
        "cpu_median_ms": round(cpu_median_ms, 4),
        "p10_ms": round(stats.p10_s * 1e3, 4),
        "p90_ms": round(stats.p90_s * 1e3, 4),
        "iters": stats.iters,
        "warmup": warmup,
        "wall_s": round(wall, 1),
        "load_before": load_before,
        "load_after": _load(),
        "probe_ms": probe,
        "speed_ratio": None if speed is None else round(speed, 4),
        "layers": layers,
    }


def prediction_fields(pred: Any) -> dict[str, Any]:
    """What a result keeps of a prediction (besides the per-layer times)."""
    top = sorted(pred.family_ms.items(), key=lambda kv: -kv[1])[:3]
    return {
        "predicted_ms": round(pred.predicted_ms, 4),
        "module_overhead_ms": round(pred.overhead_ms, 4),
        "roofline_ms": None if pred.roofline_ms is None else round(pred.roofline_ms, 4),
        "top_families": [[k, round(v, 3)] for k, v in top],
        "approximated_ops": sum(a.count for a in pred.approximated),
    }


#: What each pass keeps (the first pass keeps everything, per-layer times included).
PASS_KEYS = (
    "cpu_ms",
    "cpu_median_ms",
    "measured_ms",
    "p10_ms",
    "p90_ms",
    "iters",
    "load_before",
    "probe_ms",
    "speed_ratio",
)


def stats_iters(result: Any) -> int:
    return max(4, min(result.batches[0].stats.iters, 40))


def forward_times(module: Any, xs: Sequence[Any], iters: int) -> list[float]:
    """Thread CPU time (ms) of each of ``iters`` forwards, in call order (the caller warms
    up and sets the mode and thread count)."""
    totals = []
    for _ in range(iters):
        t0 = time.thread_time_ns()
        module(*xs)
        totals.append((time.thread_time_ns() - t0) / 1e6)
    return totals


def cpu_times(
    module: Any,
    inputs: Sequence[Any],
    batch: int,
    iters: int,
    warmup: int,
    *,
    per_layer: bool = True,
) -> tuple[float, float, dict[str, float]]:
    """Median and lower-quartile thread CPU time of a forward (ms) and, at batch 1, the CPU
    time of every leaf module (ms, from forward hooks on a few extra iterations). At one
    thread every kernel runs on the calling thread, so this is the quiet-machine wall time
    without the preemptions of a loaded machine."""
    import torch

    xs = tuple(torch.randn((batch, *t.shape[1:])) for t in inputs)
    leaves = {m: name for name, m in module.named_modules() if not any(m.children())}
    stamps: dict[str, list[float]] = {}
    start: dict[Any, int] = {}

    def pre(m: Any, args: Any) -> None:
        if m in leaves:
            start[m] = time.thread_time_ns()

    def post(m: Any, args: Any, out: Any) -> None:
        if m in start:
            took = (time.thread_time_ns() - start.pop(m)) / 1e6
            stamps.setdefault(leaves[m], []).append(took)

    old = torch.get_num_threads()
    torch.set_num_threads(1)
    was_training = module.training
    module.eval()
    layer_ms: dict[str, float] = {}
    try:
        with torch.inference_mode():
            for _ in range(warmup):
                module(*xs)
            totals = forward_times(module, xs, iters)
            if per_layer and batch == 1:
                hooks = torch.nn.modules.module
                h1 = hooks.register_module_forward_pre_hook(pre)
                h2 = hooks.register_module_forward_hook(post)
                runs = max(1, min(iters, 5))
                try:
                    for _ in range(runs):
                        module(*xs)
                finally:
                    h1.remove()
                    h2.remove()
                # Σ of a leaf's calls per forward (a shared leaf runs several times).
                layer_ms = {k: sum(v) / runs for k, v in stamps.items()}
    finally:
        torch.set_num_threads(old)
        module.train(was_training)
    totals.sort()
    return statistics.median(totals), totals[len(totals) // 4], layer_ms


def timer_check(spec: str, threads: int) -> float:
    """Median ms of one forward at batch 1 by ``torch.utils.benchmark.Timer``."""
    import torch
    from torch.utils import benchmark

    from convscope import api

    loaded = api.load_model(spec, device="cpu", seed=0)
    module = loaded.rebuild() if loaded.on_meta and loaded.rebuild is not None else loaded.module
    module.eval()
    xs = tuple(torch.randn(t.shape) for t in loaded.inputs.args)
    timer = benchmark.Timer(
        stmt="with torch.inference_mode(): m(*xs)",
        globals={"m": module, "xs": xs, "torch": torch},
        num_threads=threads,
    )
    return float(timer.blocked_autorange(min_run_time=2.0).median * 1e3)


def run(models: Sequence[str], args: argparse.Namespace) -> dict[str, Any]:
    profile, gauges = calibration(args)
    prov = profile.kernels.provenance
    key = calibration_key(prov)
    cache: dict[str, Any] = json.loads(args.cache.read_text()) if args.cache.exists() else {}
    if cache.get("calibration") != key:
        cache = {
            "calibration": key,
            "provenance": prov.to_dict(),
            "results": {},
            "timer": {},
            "sessions": args.sessions,
        }
        if gauges:
            cache["calibration_gauges"] = gauges
    if "probe_ms" not in cache:  # the host's speed right after the calibration
        cache["probe_ms"] = gauges[-1] if gauges else probe_ms()
        # Without a calibration in this run, the gauge's reference is the run's start.
        cache["probe_after_calibration"] = bool(gauges)
    cache["host_tolerance"] = args.host_tolerance
    cache["host_wait"] = max(cache.get("host_wait", 0.0), args.host_wait)
    cache["calibration_file"] = args.calibration.name
    # glibc's allocator settings change what a forward costs (benchmarks/page_faults.py):
    # one cache holds measurements made under one setting only.
    allocator = {k: v for k, v in sorted(os.environ.items()) if k.startswith("MALLOC_")}
    if cache.setdefault("allocator_env", allocator) != allocator:
        was = cache["allocator_env"] or "no MALLOC_ setting"
        raise SystemExit(
            f"error: {args.cache} was measured with {was}, this process has "
            f"{allocator or 'none'}: use another --cache"
        )
    results = cache["results"]
    # Sessions spread over the measurements: session j + 1 once j / K of them are done.
    planned = cache.get("sessions", 1)
    units = args.passes * len(models) * len(args.batches)
    done = sum(len(r.get("passes", ())) for r in results.values())
    missed = 0  # consecutive waits that ended without the host back at its speed
    for pass_ in range(args.passes):
        for i, spec in enumerate(models):
            for batch in args.batches:
                name = f"{spec}@{batch}"
                r = results.get(name)
                if r is not None and ("error" in r or len(r["passes"]) > pass_):
                    continue
                if profile.kernels.provenance.sessions < planned and done >= (
                    profile.kernels.provenance.sessions * units / planned
                ):
                    profile, around = add_session(profile, args)
                    cache["calibration_gauges"] = [*cache.get("calibration_gauges", []), *around]
                    cache["provenance"] = profile.kernels.provenance.to_dict()
                    # The reference speed: the median of the gauges after each session.
                    cache["probe_ms"] = statistics.median(cache["calibration_gauges"][1::2])
                    write_cache(cache, args.cache)
                print(
                    f"[pass {pass_ + 1}, {i + 1}/{len(models)}] {name} (load {_load()})",
                    file=sys.stderr,
                )
                waited, ratio = 0.0, 1.0
                if args.host_wait > 0 and missed < 3:
                    waited, ratio = await_host(cache["probe_ms"], args)
                    missed = 0 if abs(ratio - 1) <= args.host_tolerance else missed + 1
                    if missed == 3:
                        print(
                            "    the host stayed off its calibration speed for 3 waits in a "
                            "row: measuring without waiting from here",
                            file=sys.stderr,
                        )
                try:
                    got = measure_one(spec, batch, profile, args, per_layer=r is None)
                except Exception as exc:  # one model failing must not lose the others
                    results[name] = {
                        "model": spec,
                        "batch": batch,
                        "error": f"{type(exc).__name__}: {exc}"[:300],
                    }
                    write_cache(cache, args.cache)
                    continue
                done += 1
                one = {k: got[k] for k in PASS_KEYS} | {"host_wait_s": round(waited, 1)}
                if r is None:
                    r = results[name] = {**got, "passes": []}
                r["passes"].append(one)
                # The figures reported are the medians over the passes.
                for k in ("cpu_ms", "cpu_median_ms", "measured_ms", "probe_ms"):
                    r[k] = round(statistics.median(p[k] for p in r["passes"]), 4)
                err = r["predicted_ms"] / one["cpu_ms"] - 1
                print(
                    f"    predicted {r['predicted_ms']:.2f} ms, CPU {one['cpu_ms']:.2f} ms "
                    f"({err:+.1%}), profile {one['measured_ms']:.2f} ms, probe "
                    f"{one['probe_ms']:.3f} ms",
                    file=sys.stderr,
                )
                write_cache(cache, args.cache)
    if planned > 1:
        # Every prediction is the pooled model's: the sessions made after a model was
        # measured join in, and no prediction depends on when its model was measured.
        repredict(cache, profile)
    for spec in models[: args.timer_check]:
        if (
            spec not in cache["timer"]
            and f"{spec}@1" in results
            and "error" not in results[f"{spec}@1"]
        ):
            cache["timer"][spec] = {
                "ms": round(timer_check(spec, args.threads), 4),
                "load": _load(),
            }
            write_cache(cache, args.cache)
    return cache


def repredict(cache: dict[str, Any], profile: Any) -> None:
    """Replace every cached prediction (end to end, per family, per layer) by the current
    code's on the cached calibration, keeping the measurements: a change to the predictor
    is measured against the same measured times, without timing anything again."""
    import torch

    from convscope import api

    prov = profile.kernels.provenance
    key = calibration_key(prov)
    if cache.get("calibration") != key:
        # A newer calibration (same machine, same thread count) prices the measurements
        # as they were taken; the report says when each was made.
        if prov.threads != cache["provenance"]["threads"]:
            raise SystemExit("error: the calibration's thread count differs from the runs'")
        cache.setdefault("measured_after", cache["provenance"])
        cache["calibration"] = key
    cache["provenance"] = prov.to_dict()
    for name, r in cache["results"].items():
        if "error" in r:
            continue
        print(f"repredicting {name}", file=sys.stderr)
        loaded = api.load_model(r["model"], device="meta", seed=0)
        meta = tuple(
            torch.empty((r["batch"], *t.shape[1:]), device="meta") for t in loaded.inputs.args
        )
        analysis = api.analyze(loaded.module, meta, name=r["model"], rebuild=loaded.rebuild)
        pred = api.predict_latency(analysis, profile)
        r.update(prediction_fields(pred))  # the roofline too: it is the profile's
        for layer in r["layers"]:
            layer[2] = round(pred.layer_ms.get(layer[0], 0.0), 5)


# --------------------------------------------------------------------------- report


def _err(pred: float, meas: float) -> float:
    return pred / meas - 1.0


def _within(errs: Sequence[float], share: float) -> float:
    return sum(abs(e) <= share for e in errs) / len(errs) if errs else 0.0


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _cause(r: dict[str, Any]) -> str:
    err = _err(r["predicted_ms"], r["cpu_ms"])
    parts = [f"{'over' if err > 0 else 'under'}-predicted"]
    if r["layers"]:
        worst = max(r["layers"], key=lambda x: abs(x[2] - x[3]))
        parts.append(
            f"largest layer error `{worst[0]}` ({worst[1]}: {worst[2]:.2f} predicted vs "
            f"{worst[3]:.2f} ms measured)"
        )
    fams = ", ".join(f"{k} {v:.1f} ms" for k, v in r["top_families"])
    parts.append(f"predicted time mostly {fams}")
    if r["approximated_ops"]:
        parts.append(f"{r['approximated_ops']} ops priced by a stand-in family")
    if r["load_before"] and r["load_before"][0] > 1.3:
        parts.append(f"load {r['load_before'][0]} during the run")
    return "; ".join(parts)


def sessions_text(prov: dict[str, Any]) -> str:
    """How a calibration made in several sessions was made (nothing for one session)."""
    k = prov.get("sessions", 1)
    if k == 1:
        return ""
    return (
        f" It was made in {k} sessions of {prov['budget_s'] / k:.0f} s spread over the "
        f"measurements (the first before any model, each next one once another 1/{k} of the "
        f"measurements is done; `--sessions {k}`), pooled into one kernel model as "
        "`convscope profile --calibrate --kernels --append FILE.yaml` does: on this shared "
        "host the speed has slow and fast spells of minutes, and a calibration made in one "
        "spell prices every model in it. Every prediction below is the pooled model's, "
        "computed after the last session."
    )


def report(cache: dict[str, Any], models: Sequence[str] | None, title: str = SECTION) -> str:
    results = [
        r
        for r in cache["results"].values()
        if "error" not in r and (models is None or r["model"] in models)
    ]
    failed = [r for r in cache["results"].values() if "error" in r]
    prov = cache["provenance"]
    lines = [
        title,
        "",
        f"Generated by `benchmarks/latency_model.py` on {dt.date.today()}. Machine: "
        f"{prov['device_name']}, Python {platform.python_version()}, torch {prov['torch']}, "
        f"{prov['threads']} thread(s), {prov['dtype']}.",
        "",
        f"Calibration (`convscope profile --calibrate --kernels --threads {prov['threads']}`, "
        f"budget {prov['budget_s']:.0f} s): {prov['samples']} kernel samples in "
        f"{prov['runtime_s']:.0f} s ({prov['unstable']} unstable), load average "
        f"{' '.join(str(x) for x in prov.get('load', []))} when "
        + ("it started." if prov.get("sessions", 1) == 1 else "the last session started.")
        + sessions_text(prov)
        + (
            ""
            if cache.get("probe_after_calibration", True)
            else f" This run made no calibration of its own: it reused that one, made on "
            f"{prov['date'][:10]} for an earlier run "
            f"(`{cache.get('calibration_file', CALIBRATION.name)}`)."
        )
        + (
            " The measuring process ran with glibc's allocator told to keep its pages ("
            + ", ".join(f"`{k}={v}`" for k, v in cache["allocator_env"].items())
            + "; `benchmarks/page_faults.py` shows what that changes): a diagnostic of the "
            "kernels' prices, not the figure the goal is judged on."
            if cache.get("allocator_env")
            else ""
        )
        + " The calibration sees micro-benchmarks only; no model below, nor any family of "
        "them, entered it.",
        "",
        "Measured on the same model object at the same thread count (random weights, eval, "
        "`torch.inference_mode`, fp32): the `convscope profile` median end to end (wall "
        "clock), and the *thread CPU time* of every forward (at one thread torch runs every "
        "kernel on the calling thread, so this is the wall time of a quiet machine without "
        "the preemptions of a loaded one; per-layer CPU times from forward hooks at batch 1, "
        "which add a few µs to every layer). Its lower quartile over the forwards is the "
        "figure the calibration's samples estimate for each kernel (the lower-quartile call: "
        "on this shared host a neighbour slows some calls down, and the lower quartile "
        "repeats from run to run where the median drifts with the host), so the goal is "
        "judged on it; the medians are shown too. Each model is measured in separate passes "
        "over the list, and the figures are the medians over the passes. Predicted: "
        "`convscope analyze MODEL --target` (meta trace, no weights, no "
        "run). Error = predicted / measured − 1. The roofline column is the lower bound of "
        "the same profile (its `roofline:` figures), shown beside the prediction as what it "
        "is.",
        "",
        "| batch | measured by | models | within ±10 % | within ±20 % | median abs. error "
        "| median error | roofline bound: median error | per-layer median abs. error "
        "(layers ≥ 0.05 ms) |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    probe_cal = cache.get("probe_ms")
    for batch in sorted({r["batch"] for r in results}):
        rs = [r for r in results if r["batch"] == batch]
        for key, label, column in (
            ("cpu_ms", "thread CPU time, lower quartile", 3),
            ("cpu_median_ms", "thread CPU time, median", None),
            ("measured_ms", "profile (wall), median", 4),
        ):
            if not all(key in r for r in rs):
                continue
            else:
                errs = [_err(r["predicted_ms"], r[key]) for r in rs]
            roof = [_err(r["roofline_ms"], r["cpu_ms"]) for r in rs if r["roofline_ms"]]
            layer_errs = [
                abs(_err(x[2], x[column]))
                for r in rs
                for x in r["layers"]
                if column is not None and x[column] is not None and x[column] >= 0.05 and x[2] > 0
            ]
            per_layer = (
                f"{_pct(statistics.median(layer_errs))} ({len(layer_errs)} layers)"
                if layer_errs
                else "—"
            )
            lines.append(
                f"| {batch} | {label} | {len(rs)} "
                f"| {_pct(sum(abs(e) <= 0.1 for e in errs) / len(rs))} "
                f"| {_pct(sum(abs(e) <= 0.2 for e in errs) / len(rs))} "
                f"| {_pct(statistics.median(abs(e) for e in errs))} "
                f"| {_pct(statistics.median(errs))} "
                f"| {_pct(statistics.median(roof)) if roof else '—'} | {per_layer} |"
            )
    everything = all_models()
    measured = {r["model"] for r in results}
    if not measured >= set(everything):
        lines += [
            "",
            f"A subset: {len(measured)} of the {len(everything)} models of a full run "
            f"({sum(m.startswith('timm:') for m in measured)} from timm). The full run, on a "
            "quiet machine: `python benchmarks/latency_model.py --recalibrate --output "
            "benchmarks/RESULTS.md` (resumable; hours at one thread).",
        ]
    spreads = [
        max(p["cpu_ms"] for p in r["passes"]) / min(p["cpu_ms"] for p in r["passes"]) - 1
        for r in results
        if len(r.get("passes", [])) >= 2
    ]
    probes = [p["probe_ms"] for r in results for p in r.get("passes", []) if p.get("probe_ms")]
    if spreads and probe_cal and probes:
        ratios = sorted(x / probe_cal for x in probes)
        lines += [
            "",
            "How steady the measurements themselves are (the bound on any prediction's "
            f"accuracy here): over {len(spreads)} models measured in separate passes, a "
            "model's thread CPU time varies between passes by "
            f"{_pct(statistics.median(spreads))} (median; "
            f"90th percentile {_pct(sorted(spreads)[int(0.9 * (len(spreads) - 1))])}). The "
            "host speed gauge (a fixed conv + norm + ReLU + pool block, timed "
            + (
                "right after the run's calibration step"
                if cache.get("probe_after_calibration", True)
                else "at the run's start (this run made no calibration)"
            )
            + " and before each measurement) ran at "
            f"{ratios[0]:.2f}–{ratios[-1]:.2f}× its duration then (median "
            f"{statistics.median(ratios):.2f}×). The gauge is small (its data stays in the "
            "core's cache), so it misses the drift of memory-bound work: the passes show it. "
            "Nothing here corrects a measurement or a prediction.",
        ]
        passes = [p for r in results for p in r.get("passes", [])]
        tol = cache.get("host_tolerance", 0.08)
        off = [p for p in passes if abs(p["probe_ms"] / probe_cal - 1) > tol]
        waited = [p["host_wait_s"] for p in passes if p.get("host_wait_s")]
        around = cache.get("calibration_gauges", [])
        if cache.get("host_wait"):
            when = (
                "Before each pass the run waited for the gauge to be within "
                f"±{tol:.0%} of its value after the calibration (polled every 15 s, for at "
                "most `--host-wait` seconds; after three waits in a row ran out, it stopped "
                "waiting): this chooses when to measure and corrects nothing. "
                f"{len(waited)} of {len(passes)} passes waited ({sum(waited) / 60:.0f} min "
                f"in all); {len(off)} were measured with the gauge still off by more than that."
            )
        else:
            when = (
                "The models were measured without waiting for the host's speed (`--host-wait "
                f"0`): {len(off)} of {len(passes)} passes ran with the gauge off its value "
                f"after the calibration by more than ±{tol:.0%}."
            )
        if around:
            when += (
                " The gauge read "
                + ", ".join(f"{g:.2f}" for g in around)
                + (
                    " ms before and after each calibration session (its value after the "
                    "calibration is their median after the sessions)."
                    if prov.get("sessions", 1) > 1
                    else " ms before and after each calibration attempt (a second attempt is "
                    "made when the first's two differ by more than that)."
                )
            )
        lines += ["", when]
        fastest = [
            _err(r["predicted_ms"], min(p["cpu_ms"] for p in r["passes"]))
            for r in results
            if r["batch"] == 1 and len(r.get("passes", [])) >= 2
        ]
        lines += [
            "",
            "A diagnostic, not a figure the goal is judged on: against each model's fastest "
            f"pass instead of the median of its passes, {_pct(_within(fastest, 0.1))} of the "
            f"models at batch 1 are within ±10 % and {_pct(_within(fastest, 0.2))} within "
            f"±20 % (median error {_pct(statistics.median(fastest))}): that much of the error "
            "is the host's drift between the calibration and the measurements.",
        ]
        scaled = {
            batch: [
                # Each pass against the prediction scaled by how fast the host ran then (the
                # gauge's time at that pass over its time after the calibration).
                statistics.median(
                    _err(r["predicted_ms"] * p["probe_ms"] / probe_cal, p["cpu_ms"])
                    for p in r["passes"]
                )
                for r in results
                if r["batch"] == batch and r.get("passes")
            ]
            for batch in (1, 8)
        }
        figures = [
            f"at batch {b}, {_pct(_within(es, 0.1))} within ±10 % and "
            f"{_pct(_within(es, 0.2))} within ±20 % (median absolute error "
            f"{_pct(statistics.median(abs(e) for e in es))})"
            for b, es in scaled.items()
            if es
        ]
        lines += (
            []
            if not cache.get("probe_after_calibration", True)
            else [
                "",
                "Another diagnostic, not a figure the goal is judged on: the host's speed taken "
                "into account. With each prediction scaled by the gauge's time at a pass over its "
                "time after the calibration (the host ran that much slower or faster) and "
                f"compared with that pass: {'; '.join(figures)}. The gauge is one compute-bound "
                "block whose data stays in cache, so this only estimates what a device of its own "
                "would show; it corrects no figure above.",
            ]
        )
    checked = {
        batch: [
            # Each pass against the prediction at the speed the speed check measured then.
            statistics.median(
                _err(r["predicted_ms"] * p["speed_ratio"], p["cpu_ms"])
                for p in r["passes"]
                if p.get("speed_ratio")
            )
            for r in results
            if r["batch"] == batch and any(p.get("speed_ratio") for p in r.get("passes", ()))
        ]
        for batch in (1, 8)
    }
    ratios = [
        p["speed_ratio"] for r in results for p in r.get("passes", ()) if p.get("speed_ratio")
    ]
    if ratios:
        figures = [
            f"at batch {b}, {_pct(_within(es, 0.1))} of {len(es)} models within ±10 % and "
            f"{_pct(_within(es, 0.2))} within ±20 % (median error "
            f"{_pct(statistics.median(es))}, median absolute error "
            f"{_pct(statistics.median(abs(e) for e in es))})"
            for b, es in checked.items()
            if es
        ]
        lines += [
            "",
            "Speed-checked, a diagnostic, not a figure the goal is judged on: the device's speed "
            "measured the way `convscope profile --speed-check` measures it (fresh "
            "micro-benchmarks of the kernel model's families, timed right before each "
            "measurement and compared with the model's predictions for them; never a model). "
            f"The checks read {min(ratios):.2f}–{max(ratios):.2f}× (median "
            f"{statistics.median(ratios):.2f}×) the calibrated time. With each prediction "
            f"priced at the speed of its check: {'; '.join(figures)}.",
        ]
    if cache.get("repredicted"):
        first = cache.get("measured_after")
        calibrated = (
            f"a calibration made on {prov['date']}, after the measurements (which followed "
            f"a calibration of {first['date']}: the calibration step of this run)"
            if first
            else "the same calibration"
        )
        lines += [
            "",
            f"The predictions were recomputed on {cache['repredicted']} with "
            "`python benchmarks/latency_model.py --repredict` (the predictor of this "
            f"commit, {calibrated}; the measurements as they were taken).",
        ]
    loads = [r["load_before"][0] for r in results if r["load_before"]]
    if loads:
        lines += [
            "",
            "1-minute load average before the measurements: median "
            f"{statistics.median(loads):.2f}, max {max(loads):.2f} (2 cores; above about 1.3 "
            "other processes share the core the measurement runs on, which inflates the wall "
            "times of `profile`, not the thread CPU times).",
        ]
    worst = sorted(
        (r for r in results if r["batch"] == 1),
        key=lambda r: -abs(_err(r["predicted_ms"], r["cpu_ms"])),
    )[:5]
    if worst:
        lines += [
            "",
            "Worst five at batch 1 (against thread CPU time):",
            "",
            "| model | predicted ms | CPU ms | error | profile ms | roofline ms | cause |",
            "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
        ]
        for r in worst:
            lines.append(
                f"| {r['model']} | {r['predicted_ms']:.2f} | {r['cpu_ms']:.2f} "
                f"| {_err(r['predicted_ms'], r['cpu_ms']):+.1%} | {r['measured_ms']:.2f} "
                f"| {r['roofline_ms'] or 0:.2f} | {_cause(r)} |"
            )
    timer = cache.get("timer", {})
    if timer:
        lines += [
            "",
            "Cross-check of the profile median against `torch.utils.benchmark.Timer` (batch 1):",
            "",
        ]
        for spec, t in timer.items():
            r = cache["results"].get(f"{spec}@1")
            if r and "error" not in r:
                lines.append(
                    f"- {spec}: profile {r['measured_ms']:.2f} ms, Timer {t['ms']:.2f} ms "
                    f"({_err(r['measured_ms'], t['ms']):+.1%})"
                )
    lines += [
        "",
        "<details><summary>Every model</summary>",
        "",
        "| model | batch | predicted ms | CPU ms | error | profile ms (p10–p90) | error "
        "| roofline ms | iters | load |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in sorted(results, key=lambda r: (r["model"], r["batch"])):
        load = r["load_before"][0] if r["load_before"] else "—"
        lines.append(
            f"| {r['model']} | {r['batch']} | {r['predicted_ms']:.2f} | {r['cpu_ms']:.2f} "
            f"| {_err(r['predicted_ms'], r['cpu_ms']):+.1%} | {r['measured_ms']:.2f} "
            f"({r['p10_ms']:.2f}–{r['p90_ms']:.2f}) "
            f"| {_err(r['predicted_ms'], r['measured_ms']):+.1%} "
            f"| {r['roofline_ms'] or 0:.2f} | {r['iters']} | {load} |"
        )
    lines += ["", "</details>"]
    if failed:
        lines += [
            "",
            "Not measured: "
            + "; ".join(f"{r['model']}@{r['batch']}: {r['error'][:80]}" for r in failed),
        ]
    if results and title == SECTION:  # the scatter plot is the main run's
        plot(results)
        lines += ["", f"![predicted vs measured]({PLOT.name})"]
    return "\n".join(lines) + "\n"


def plot(results: Sequence[dict[str, Any]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 6))
    for batch, colour in ((1, "tab:blue"), (8, "tab:orange")):
        rs = [r for r in results if r["batch"] == batch]
        if not rs:
            continue
        ax.scatter(
            [r["cpu_ms"] for r in rs],
            [r["predicted_ms"] for r in rs],
            s=14,
            c=colour,
            label=f"kernel model, batch {batch}",
        )
        ax.scatter(
            [r["cpu_ms"] for r in rs if r["roofline_ms"]],
            [r["roofline_ms"] for r in rs if r["roofline_ms"]],
            s=10,
            marker="x",
            c=colour,
            alpha=0.4,
            label=f"roofline lower bound, batch {batch}",
        )
    lo = min(min(r["cpu_ms"], r["predicted_ms"]) for r in results) / 1.5
    hi = max(max(r["cpu_ms"], r["predicted_ms"]) for r in results) * 1.5
    xs = [lo, hi]
    ax.plot(xs, xs, "k-", lw=0.8)
    ax.plot(xs, [x * 1.1 for x in xs], "k--", lw=0.5)
    ax.plot(xs, [x * 0.9 for x in xs], "k--", lw=0.5, label="±10 %")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("measured ms (median thread CPU time of a forward, 1 thread)")
    ax.set_ylabel("predicted ms")
    ax.set_title("Latency: predicted vs measured")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(PLOT, dpi=110)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--models", help="comma-separated MODEL specs (default: every model)")
    ap.add_argument("--quick", action="store_true", help="a representative subset")
    ap.add_argument("--batches", default="1,8")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--budget", type=float, default=240.0, help="kernel calibration seconds")
    ap.add_argument("--calibration", type=Path, default=CALIBRATION)
    ap.add_argument("--recalibrate", action="store_true")
    ap.add_argument(
        "--model-seconds", type=float, default=3.0, help="timed seconds per model and batch"
    )
    ap.add_argument("--timer-check", type=int, default=3)
    ap.add_argument(
        "--passes",
        type=int,
        default=2,
        help="measure every model this many times, in separate passes (medians reported)",
    )
    ap.add_argument(
        "--host-tolerance",
        type=float,
        default=0.08,
        help="how far the host speed gauge may be from its calibration value at a measurement",
    )
    ap.add_argument(
        "--host-wait",
        type=float,
        default=0.0,
        help="seconds to wait at most for the gauge to come back before measuring (0: never)",
    )
    ap.add_argument(
        "--sessions",
        type=int,
        default=1,
        help="calibrate in this many sessions of --budget / K seconds spread over the "
        "measurements (the first before any model, the next once another 1/K of them is "
        "done), pooled into one kernel model as `profile --calibrate --kernels --append` does",
    )
    ap.add_argument(
        "--speed-check",
        type=float,
        default=0.0,
        help="seconds of `profile --speed-check` before each measurement (0: none): the "
        "device's speed then, against the kernel model, for a diagnostic beside the gauge's",
    )
    ap.add_argument(
        "--cache", type=Path, default=CACHE, help="the measurements' cache (JSON) to use"
    )
    ap.add_argument("--report-only", action="store_true")
    ap.add_argument(
        "--repredict",
        action="store_true",
        help="recompute the cached predictions with the current code, keep the measurements",
    )
    ap.add_argument("--output", type=Path)
    ap.add_argument(
        "--section",
        default=SECTION,
        help="the RESULTS.md section (its '## ' title line) this run writes",
    )
    args = ap.parse_args()
    args.batches = [int(b) for b in args.batches.split(",")]
    if args.models:
        models = [m.strip() for m in args.models.split(",")]
    elif args.quick:
        models = list(QUICK)
    else:
        models = all_models()
    if args.repredict:
        cache = json.loads(args.cache.read_text())
        repredict(cache, api_profile(args.calibration))
        cache["repredicted"] = str(dt.date.today())
        args.report_only = True
    else:
        cache = json.loads(args.cache.read_text()) if args.report_only else run(models, args)
    write_cache(cache, args.cache)
    text = report(cache, None if args.report_only else models, args.section)
    emit(text, args.output)


if __name__ == "__main__":
    main()
