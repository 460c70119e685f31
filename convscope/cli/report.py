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
from convscope.cli.options import timeout_option

FORMATS_REPORT = ("html", "markdown", "json")  # convscope.report.build.FORMATS (imports torch)
_SUFFIXES = {".html": "html", ".htm": "html", ".md": "markdown", ".json": "json"}


@main.command()
@click.argument("model")
@click.option(
    "-i",
    "--input",
    "inputs",
    multiple=True,
    metavar="SHAPE",
    help="Input shape such as 1,3,224,224; repeat for several inputs.",
)
@click.option(
    "-o",
    "--output",
    type=options.OUTPUT,
    help="Write to FILE (the format follows its suffix unless --format is given); default stdout.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS_REPORT),
    help="Output format [default: from the -o suffix, else html].",
)
@options.weights_options
@click.option(
    "--config",
    "config",
    type=click.Path(dir_okay=False),
    help="Lint config file (default: discovered as by `convscope lint`).",
)
@click.option(
    "--target",
    metavar="PROFILE",
    help="Target profile (generic, gpu-fp16, edge-int8 or a .yaml), as for lint and profile: "
    "lint settings and, with --profile, the roofline figures.",
)
@click.option(
    "--profile",
    "profile_device",
    type=click.Choice(("cpu", "cuda")),
    help="Also measure latency on this device (per-layer times, roofline).",
)
@click.option(
    "--min-time",
    type=options.SECONDS,
    default=1.0,
    show_default=True,
    help="Seconds of timed iterations for --profile.",
)
@click.option(
    "--calibrate/--no-calibrate",
    default=None,
    help="With --profile: measure this machine's roofline [default: only when the target "
    "has no roofline figures].",
)
@click.option(
    "--calibrate-time",
    type=click.FloatRange(min=0.0),
    default=2.0,
    show_default=True,
    help="Seconds per pair of --calibrate rounds (repeated until stable, at most twice).",
)
@click.option("--erf", is_flag=True, help="Add the effective receptive field heat-map.")
@click.option(
    "--rewrite",
    "with_rewrite",
    is_flag=True,
    help="Add the separable-rewrite plan (layers flagged by DW003, else every conv).",
)
@click.option(
    "--seed",
    type=options.SEED,
    default=0,
    show_default=True,
    help="Seed for random weights and inputs (ERF, profile).",
)
@timeout_option
@click.option(
    "--depth",
    type=click.IntRange(min=0),
    help="Fold layer rows deeper than N into their parent (table and charts; HTML, Markdown).",
)
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
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
    debug: bool,
) -> None:
    """One report of MODEL: analysis, receptive field and lint, plus the ERF, a rewrite
    plan and measured latency when asked. HTML is self-contained and works offline.

    \b
    convscope report torchvision:resnet50 -o resnet50.html
    convscope report model.py --weights ckpt.pt --profile cpu -o r.html
    convscope report model.py --format markdown > comment.md
    """
    from convscope import _io

    if fmt is None:
        fmt = _SUFFIXES.get(Path(output).suffix.lower(), "html") if output else "html"
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
