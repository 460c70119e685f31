"""``convscope report``: analysis + receptive field + lint (+ ERF, rewrite plan, profile) of
one model in one document — a self-contained HTML page, Markdown for a pull request, or
the JSON those two are rendered from.

Registers itself on :data:`convscope.cli.app.main` when ``convscope.cli.app`` imports it. Exit
codes: 0 report written (findings do not fail a report; use ``convscope lint`` to gate);
2 usage, config, model-load or profiling error (one line on stderr, traceback with
``--debug``) — nothing is written then.
"""

from __future__ import annotations

from pathlib import Path

import click

from convscope.cli import options
from convscope.cli.app import emit, handle_errors, main, model_inputs, parse_inputs

FORMATS_REPORT = ("html", "markdown", "json")  # convscope.report.build.FORMATS (imports torch)
_SUFFIXES = {".html": "html", ".htm": "html", ".md": "markdown", ".json": "json"}


@main.command()
@click.argument("model")
@options.input_option()
@options.output_option()
@options.format_option(FORMATS_REPORT, None, default_text="from the -o suffix, else html")
@options.weights_options()
@options.config_option()
@options.target_option()
@click.option(
    "--profile",
    "profile_device",
    type=click.Choice(("cpu", "cuda")),
    help="Also measure latency on this device (per-layer times, roofline).",
)
@options.min_time_option()
@click.option(
    "--calibrate/--no-calibrate",
    default=None,
    help="With --profile: measure this machine's roofline [default: only when the target "
    "has no roofline figures].",
)
@options.calibrate_time_option(2.0)
@options.erf_option()
@click.option(
    "--rewrite",
    "with_rewrite",
    is_flag=True,
    help="Add the separable-rewrite plan (layers flagged by DW003, else every conv).",
)
@options.seed_option()
@options.timeout_option()
@options.depth_option()
@click.option(
    "--compare",
    metavar="HEAD",
    help="Compare MODEL (the base) with HEAD side by side; each is a model spec or a saved "
    "JSON report, as for `convscope diff`.",
)
@options.debug_option()
@handle_errors
def report(
    model: str,
    inputs: tuple[str, ...],
    output: str | None,
    fmt: str | None,
    weights: str | None,
    trust_pickle: bool,
    config: str | None,
    target: str | None,
    profile_device: str | None,
    min_time: float,
    calibrate: bool | None,
    calibrate_time: float,
    erf: bool,
    with_rewrite: bool,
    seed: int,
    depth: int | None,
    compare: str | None,
    debug: bool,
) -> None:
    """One report of MODEL: analysis, receptive field and lint, plus the ERF, a rewrite
    plan and measured latency when asked. HTML is self-contained and works offline.

    \b
    convscope report torchvision:resnet50 -o resnet50.html
    convscope report model.py --weights ckpt.pt --profile cpu -o r.html
    convscope report model.py --format markdown > comment.md
    convscope report main.json --compare model.py -o review.html
    """
    from convscope import _io

    if fmt is None:
        fmt = _SUFFIXES.get(Path(output).suffix.lower(), "html") if output else "html"
    if compare is not None:
        from convscope.cli import compare as compare_view

        compare_view.run(
            model,
            compare,
            inputs=inputs,
            output=output,
            fmt=fmt,
            trust_pickle=trust_pickle,
            config=config,
            target=target,
        )
        return
    sources = [*model_inputs(model, weights), ("config", config), ("target profile", target)]
    if output:
        _io.check_output_path(output, sources)
    shapes = parse_inputs(inputs)
    import sys

    from convscope.render.profile import text as progress_view

    # Up before torch is imported, so a long report shows what it is doing from the start.
    with progress_view.progress_bar(sys.stderr.isatty()) as progress:
        progress_view.stage(progress, "starting torch")
        from convscope import api

        result = api.build_report(
            model,
            input_shapes=shapes,
            weights=weights,
            trust_pickle=trust_pickle,
            config=config,
            target=target,
            profile_device=profile_device,
            min_time=min_time,
            erf=erf,
            rewrite=with_rewrite,
            seed=seed,
            calibrate=calibrate,
            calibrate_time=calibrate_time,
            progress=progress,
        )
    section = result.analysis.section(api.PROFILE)
    if section is not None:
        rel = section.reliability
        for line in ([rel.headline] if rel.headline else []) + list(rel.roofline_warnings):
            click.echo(f"warning: {line}", err=True)

    text = api.render_report(result, fmt, depth=depth)
    emit(text, output, sources)
