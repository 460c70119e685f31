"""``convscope profile``: measured latency per batch size and per layer, memory, traces and
the roofline; ``convscope profile --calibrate`` measures this machine's roofline.

Registers itself on :data:`convscope.cli.app.main` when ``convscope.cli.app`` imports it. Exit
codes: 0 success; 2 usage, model-load, device (``--device cuda`` without CUDA) or target
error — one line on stderr, traceback with ``--debug``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from convscope.cli import options
from convscope.cli.app import (
    emit,
    handle_errors,
    main,
    model_inputs,
    parse_inputs,
    stdout_isatty,
    to_stdout,
)
from convscope.errors import ConvscopeError, InputError

if TYPE_CHECKING:  # annotations only: the CLI starts without torch
    from convscope import api

FORMATS_PROFILE = ("table", "json")


class ProfileUsageError(ConvscopeError):
    """Options that do not fit together."""


def parse_batch_sizes(text: str | None) -> tuple[int, ...] | None:
    """``"1,8,32"`` → ``(1, 8, 32)``; one clear error for anything else."""
    if text is None:
        return None
    parts = [p.strip() for p in text.split(",")]
    try:
        sizes = tuple(int(p) for p in parts)
    except ValueError:
        raise ProfileUsageError(
            f"bad --batch-sizes '{text}': expected positive integers like 1,8,32"
        ) from None
    if not sizes or any(s < 1 for s in sizes):
        raise ProfileUsageError(f"bad --batch-sizes '{text}': every batch size must be ≥ 1")
    return tuple(dict.fromkeys(sizes))


def load_roofline(prof: Any) -> Any:
    """The roofline figures of a resolved target profile (``api.resolve_target``, as ``lint``
    and ``report`` resolve it); a one-line error when the profile has no figures."""
    from convscope import api

    params = api.roofline_params(prof)
    if params is None:
        raise ProfileUsageError(
            f"target '{prof.name}' has no roofline figures (peak-flops / bandwidth are null); "
            "pass --calibrate to measure this machine, or a target such as gpu-fp16"
        )
    return params


def _analysis_inputs(inputs: api.ModelInputs, batch: int | None) -> api.ModelInputs:
    """Meta tensors of the profiled shapes (first batch size) for the static analysis."""
    import torch

    def meta(t: Any) -> Any:
        if not isinstance(t, torch.Tensor):
            return t
        shape = list(t.shape)
        if batch is not None and shape:
            shape[0] = batch
        return torch.empty(shape, dtype=t.dtype, device="meta")

    return inputs.map(meta)


@main.command()
@click.argument("model", required=False)
@options.input_option()
@click.option(
    "--device",
    default="cpu",
    show_default=True,
    metavar="cpu|cuda",
    help="Where to run (cuda:N picks a GPU).",
)
@click.option(
    "--batch-sizes",
    metavar="1,8,32",
    help="Batch sizes to time (dimension 0 of every input). Default: the input's.",
)
@click.option(
    "--threads",
    type=options.THREADS,
    help="CPU threads (torch.set_num_threads, restored after). Default: torch's.",
)
@click.option(
    "--channels-last",
    is_flag=True,
    help="Run a channels_last copy of the model on channels_last inputs.",
)
@click.option(
    "--warmup",
    type=options.ITERATIONS,
    default=3,
    show_default=True,
    help="Untimed iterations per batch size.",
)
@options.min_time_option()
@click.option(
    "--max-iters",
    type=options.POSITIVE_ITERATIONS,
    help="Stop after N timed iterations per batch size.",
)
@click.option(
    "--per-layer/--no-per-layer",
    default=True,
    show_default=True,
    help="Time every layer (first batch size, interleaved with the timed runs).",
)
@click.option(
    "--trace-dir",
    type=options.OUTPUT_DIR,
    help="Write DIR/trace.json (Perfetto/Chrome) and DIR/tb (TensorBoard).",
)
@options.target_option()
@click.option(
    "--roofline",
    "show_roofline",
    is_flag=True,
    help="Predicted lower-bound time, bound and achieved fraction per layer (roofline "
    "figures measured by --calibrate, else those of --target, else generic's).",
)
@click.option(
    "--calibrate",
    is_flag=True,
    help="Measure this machine's peak GEMM FLOP/s and bandwidth (alone: only that).",
)
@options.calibrate_time_option(3.0)
@click.option(
    "--kernels",
    is_flag=True,
    help="With --calibrate and no MODEL: also time the kernels CNNs run (conv, linear, "
    "norms, activations, pooling...) over shapes real models use, for a kernel model that "
    "`analyze --target FILE.yaml` predicts latency from. Write it with -o FILE.yaml.",
)
@click.option(
    "--budget",
    type=options.POSITIVE_SECONDS,
    default=240.0,
    show_default=True,
    help="Seconds a --kernels calibration takes in all (more: more samples, better fits).",
)
@click.option(
    "--append",
    "append",
    metavar="FILE.yaml",
    help="With --calibrate --kernels: add this session's samples to FILE.yaml's kernel "
    "model (same device, torch, --threads and --dtype), one model fitted on all; FILE.yaml "
    "is rewritten unless -o names another file. Sessions made at different times average "
    "a device's slow and fast spells (a shared host, thermal throttling).",
)
@click.option(
    "--speed-check",
    is_flag=True,
    help="With --target DEVICE.yaml (a kernel model): time fresh micro-benchmarks "
    "(a few seconds) and say how fast this device runs the model's kernels "
    "now against their calibrated time; with MODEL, beside the prediction (alone: only "
    "that).",
)
@click.option(
    "--dtype",
    type=click.Choice(("float32", "float16", "bfloat16")),
    default="float32",
    show_default=True,
    help="The dtype --calibrate measures in.",
)
@click.option(
    "--top",
    type=click.IntRange(min=0),
    default=20,
    show_default=True,
    help="Layers shown in the table (0: all).",
)
@options.format_option(FORMATS_PROFILE, "table")
@options.output_option("With --calibrate alone, FILE.yaml is a target profile.")
@options.weights_options()
@options.seed_option()
@options.timeout_option()
@options.debug_option()
@handle_errors
def profile(
    model: str | None,
    inputs: tuple[str, ...],
    device: str,
    batch_sizes: str | None,
    threads: int | None,
    channels_last: bool,
    warmup: int,
    min_time: float,
    max_iters: int | None,
    per_layer: bool,
    trace_dir: str | None,
    target: str | None,
    show_roofline: bool,
    calibrate: bool,
    calibrate_time: float,
    kernels: bool,
    budget: float,
    append: str | None,
    speed_check: bool,
    dtype: str,
    top: int,
    fmt: str,
    output: str | None,
    weights: str | None,
    trust_pickle: bool,
    seed: int,
    debug: bool,
) -> None:
    """Measure the latency of MODEL: end to end per batch size, per layer, memory, traces.

    \b
    convscope profile torchvision:mobilenet_v2 --batch-sizes 1,8,32
    convscope profile model.py --device cuda --channels-last --trace-dir runs/prof
    convscope profile model.py --target gpu-fp16 --roofline
    convscope profile --calibrate -o machine.yaml
    convscope profile --calibrate --kernels --threads 1 -o device.yaml
    convscope profile --calibrate --kernels --threads 1 --append device.yaml
    convscope profile model.py --threads 1 --target device.yaml --speed-check
    convscope profile --speed-check --target device.yaml
    """
    from convscope import _io

    if append is not None:
        if not kernels:
            raise ProfileUsageError("--append goes with --calibrate --kernels")
        if Path(append).suffix not in (".yaml", ".yml"):
            raise ProfileUsageError(
                "--append takes a target profile with a kernel model: FILE.yaml"
            )
        output = output or append
    sources = model_inputs(model, weights)
    if output:
        _io.check_output_path(output, sources)
    if trace_dir is not None:
        _io.check_output_dir(trace_dir)
    sizes = parse_batch_sizes(batch_sizes)
    shapes = parse_inputs(inputs)
    if kernels and (model is not None or not calibrate):
        raise ProfileUsageError("--kernels goes with --calibrate and no MODEL")
    if speed_check and (calibrate or target is None):
        raise ProfileUsageError(
            "--speed-check goes with --target DEVICE.yaml (a kernel model), without --calibrate"
        )
    if model is None and not calibrate and not speed_check:
        raise ProfileUsageError(
            "missing MODEL (or pass --calibrate to measure this machine only, or "
            "--speed-check --target DEVICE.yaml)"
        )
    if kernels and output is not None and Path(output).suffix not in (".yaml", ".yml"):
        raise ProfileUsageError("--calibrate --kernels writes a target profile: -o FILE.yaml")
    from convscope.render.profile import text as profile_report

    # The bar is up before torch is imported: the user sees work from the first second.
    with profile_report.progress_bar(sys.stderr.isatty()) as progress:
        profile_report.stage(progress, "starting torch")
        from convscope import api

        api.check_device(device)  # fail before loading anything
        # Resolved once: its roofline figures and its kernel model (a prediction to compare).
        target_prof = api.resolve_target(target) if target is not None else None
        kernel_model = target_prof.kernels if target_prof is not None else None
        if speed_check and kernel_model is None:
            raise ProfileUsageError(
                f"--speed-check: target '{target}' has no kernel model (make one with "
                "profile --calibrate --kernels -o DEVICE.yaml)"
            )
        if model is None and speed_check and kernel_model is not None:  # narrowed for mypy
            profile_report.stage(progress, "speed check")
            checked = api.speed_check(kernel_model)
        elif model is None and kernels:
            earlier = _kernels_of(api.load_profile(append)) if append is not None else None
            profile_report.stage(progress, "calibrating kernels")
            measured = api.calibrate_kernels(
                device,
                dtype=dtype,
                threads=threads,
                budget_s=budget,
                progress=progress,
                pool_with=earlier,
            )
            # Fresh shapes right after, against the model just fitted: a device whose speed
            # drifted during the calibration shows it here.
            profile_report.stage(progress, "speed check")
            after = api.speed_check(
                measured.model, budget_s=min(api.DEFAULT_SPEED_CHECK_S, budget / 20)
            )
        elif model is None:
            profile_report.stage(progress, "calibrating")
            alone = api.calibrate(
                device,
                dtype=_torch_dtype(dtype),
                threads=threads,
                budget_s=calibrate_time,
                progress=progress,
            )
    if model is None and speed_check:
        _emit_speed_check(checked, fmt, output)
        return
    if model is None and kernels:
        _emit_kernels(measured, output, after)
        return
    if model is None:
        _emit_calibration(alone, fmt, output)
        return
    with profile_report.progress_bar(sys.stderr.isatty()) as progress:
        profile_report.stage(progress, f"loading {model}")
        params = load_roofline(target_prof) if target_prof is not None and not calibrate else None
        if show_roofline and target is None and not calibrate:
            # fails with a hint unless generic has figures
            params = load_roofline(api.resolve_target("generic"))

        from convscope import api

        loaded = api.load_model(
            model,
            input_shapes=shapes,
            weights=weights,
            trust_pickle=trust_pickle,
            device="cpu",
            seed=seed,
        )
        module = loaded.module
        if loaded.on_meta and loaded.rebuild is not None:
            module = loaded.rebuild()
        first = sizes[0] if sizes else None
        profile_report.stage(progress, "analysing")
        analysis = api.with_receptive_field(
            api.analyze(
                module, _analysis_inputs(loaded.inputs, first), name=model, rebuild=loaded.rebuild
            )
        )
        api.check_memory(analysis, sizes or [None])  # before any real tensor of that size exists
        _warn_if_large(analysis, sizes, device)  # fits, but large enough to say so
        if kernel_model is not None:
            # The kernel model's prediction of the first batch size, beside its measurement.
            analysis = api.with_latency(analysis, target_prof)
        cal = None
        if calibrate:
            cal = api.calibrate(device, threads=threads, budget_s=calibrate_time, progress=progress)
            params = cal.params()
        result = api.profile(
            module,
            loaded.inputs,
            device=device,
            batch_sizes=sizes,
            threads=threads,
            channels_last=channels_last,
            min_time=min_time,
            max_iters=max_iters,
            warmup=warmup,
            trace_dir=trace_dir,
            per_layer=per_layer,
            name=model,
            progress=progress,
            quiet=not debug,
        )
        prediction = None
        if kernel_model is not None:
            predicted = analysis.need(api.LATENCY)
            speed = None
            if speed_check:  # right after the measurement: the device's speed of the moment
                profile_report.stage(progress, "speed check")
                speed = api.speed_check(kernel_model)
            prediction = api.PredictionCheck(
                target=predicted.target,
                predicted_ms=predicted.predicted_ms,
                batch=predicted.batch,
                device=kernel_model.provenance.device,
                threads=predicted.threads,
                speed=speed,
            )
    report = api.with_profile(analysis, result, params, calibration=cal, prediction=prediction)
    on_terminal = fmt != "json" and output is None and stdout_isatty()
    if not on_terminal:  # on the terminal the report itself says it, once
        warn_unreliable(report.need(api.PROFILE).reliability)
    if fmt == "json":
        from convscope.render.analysis import json as json_report

        emit(json_report.render(report), output, sources)
    elif on_terminal:
        with to_stdout():
            profile_report.print_rich(report, top=top)
    else:
        emit(profile_report.to_text(report, top=top), output, sources)


# Above this static estimate of peak activation memory a run is likely to swap or be killed
# on a laptop or a 16 GiB CI runner, while ordinary inputs stay far below it (an ImageNet
# ResNet-50 peaks near 10 MiB per image, so 4 GiB is hundreds of images or a huge input).
LARGE_RUN_BYTES = 4 * 2**30


def _warn_if_large(analysis: Any, sizes: tuple[int, ...] | None, device: str) -> None:
    """A warning on stderr, before anything is allocated, when the run will need a lot of
    memory (8192×8192 inputs, large batches); the static analysis priced it on meta."""
    from convscope import fmt

    first = sizes[0] if sizes else None
    scale = max(sizes) / first if sizes and first else 1.0
    peak = analysis.totals.peak_activation_bytes * scale
    if peak <= LARGE_RUN_BYTES:
        return
    shapes = ", ".join(fmt.shape(s) for s in analysis.input_shapes)
    batch = f" at batch {max(sizes)}" if sizes else ""
    click.echo(
        f"warning: inputs {shapes}{batch} need about {fmt.human(peak, 'B', 1024)} of "
        f"activations (static estimate), allocated for real on {device}; use a smaller -i "
        "or --batch-sizes if that is more than this machine has",
        err=True,
    )


def warn_unreliable(reliability: Any) -> None:
    """The verdict on stderr too, so a pipe or ``-o FILE`` run does not hide it."""
    lines = ([reliability.headline] if reliability.headline else []) + list(
        reliability.roofline_warnings
    )
    for line in lines:
        click.echo(f"warning: {line}", err=True)


def _torch_dtype(name: str) -> Any:
    import torch

    return getattr(torch, name)


def _emit_speed_check(checked: Any, fmt: str, output: str | None) -> None:
    if fmt == "json":
        emit(json.dumps({"speed_check": checked.to_dict()}, indent=2) + "\n", output)
    else:
        emit(f"speed check: {checked.text}\ncalibration: {checked.calibrated}\n", output)


def _kernels_of(prof: Any) -> Any:
    """The kernel model of the --append profile (an error when it has none)."""
    if prof.kernels is None:
        raise InputError(
            f"{prof.path or prof.name} has no kernel model to add to (make one with "
            "profile --calibrate --kernels -o FILE.yaml)"
        )
    return prof.kernels


def _emit_kernels(measured: Any, output: str | None, after: Any) -> None:
    """The target profile (to -o FILE.yaml or stdout), a line on what was measured, and
    a warning when the speed check right after it found the device's speed changed."""
    prov = measured.model.provenance
    if after.drifted:
        click.echo(
            f"warning: right after the calibration, {after.text}: this device's speed "
            "drifts (a shared host, throttling) and predictions will be off by as much; "
            "calibrate again when it is quiet, or add sessions made at other times with "
            "--append",
            err=True,
        )
    if prov.unstable:
        click.echo(
            f"warning: {prov.unstable} of {prov.samples} kernel samples never had two rounds "
            "agree within tolerance (kept, listed as unstable); a quieter machine or "
            "--threads 1 gives steadier figures",
            err=True,
        )
    emit(measured.to_profile_yaml(), output)
    click.echo(
        f"kernel model: {prov.text}; {len(measured.model.families)} families; speed check "
        f"right after: {after.ratio:.2f}×",
        err=True,
    )


def _emit_calibration(cal: Any, fmt: str, output: str | None) -> None:
    from convscope.render.profile import text as profile_report

    if not cal.stable:
        click.echo(
            "warning: calibration rounds never agreed within tolerance; the figures are "
            "unreliable — rerun on a quiet machine / with --threads 1",
            err=True,
        )
    if output is not None and Path(output).suffix in (".yaml", ".yml"):
        emit(cal.to_profile_yaml(), output)
        if fmt == "table":
            with to_stdout():
                click.echo(profile_report.calibration_text(cal), nl=False)
        return
    if fmt == "json":
        emit(json.dumps({"calibration": cal.to_dict()}, indent=2) + "\n", output)
    else:
        emit(profile_report.calibration_text(cal), output)
