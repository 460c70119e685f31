"""``convscope report BASE --compare HEAD``: the side-by-side review page of two models or
two revisions (HTML, Markdown for a PR comment, or the JSON both are rendered from).

Not a command of its own: :mod:`convscope.cli.report` hands over here when ``--compare`` is
given. BASE and HEAD take every form ``convscope diff`` takes — a model spec, analyzed and
linted now, or a saved JSON report (how CI compares the base revision with the working
tree). Options of a one-model report that a comparison cannot honour are refused with one
``error:`` line (exit 2) before any work, never silently dropped.
"""

from __future__ import annotations

import sys

import click
from click.core import ParameterSource

from convscope.errors import ConvscopeError

#: report options that do not apply with --compare, and what to do instead.
NOT_WITH_COMPARE: tuple[tuple[str, str, str], ...] = (
    (
        "profile_device",
        "--profile",
        "latency is compared from profiled JSON reports: save each side with "
        "`convscope profile MODEL --format json -o SIDE.json`",
    ),
    ("min_time", "--min-time", "it only times --profile, which --compare does not run"),
    (
        "calibrate",
        "--calibrate/--no-calibrate",
        "it only serves --profile, which --compare does not run",
    ),
    (
        "calibrate_time",
        "--calibrate-time",
        "it only serves --profile, which --compare does not run",
    ),
    ("erf", "--erf", "the comparison has no ERF map; `convscope report MODEL --erf` shows one"),
    (
        "with_rewrite",
        "--rewrite",
        "the comparison has no rewrite plan; `convscope report MODEL --rewrite` shows one",
    ),
    ("seed", "--seed", "it seeds ERF and profile runs, which --compare does not make"),
    (
        "weights",
        "--weights",
        "one checkpoint cannot fit both sides: save each side with "
        "`convscope report MODEL --weights CKPT --format json -o SIDE.json` and compare the files",
    ),
    ("depth", "--depth", "layers are matched and shown as the reports list them"),
)


class CompareUsageError(ConvscopeError):
    """A ``convscope report`` option that does not fit ``--compare``."""


def check_options(ctx: click.Context) -> None:
    """Refuse the first option of :data:`NOT_WITH_COMPARE` that the user gave."""
    for param, flag, why in NOT_WITH_COMPARE:
        if ctx.get_parameter_source(param) not in (None, ParameterSource.DEFAULT):
            raise CompareUsageError(f"{flag} does not apply with --compare: {why}")


def run(
    base: str,
    head: str,
    *,
    inputs: tuple[str, ...],
    output: str | None,
    fmt: str,
    trust_pickle: bool,
    config: str | None,
    target: str | None,
) -> None:
    """Build and write the comparison (``fmt``: html, markdown or json)."""
    from convscope import _io
    from convscope.cli.app import emit, parse_inputs

    check_options(click.get_current_context())
    sources = [("BASE", base), ("HEAD", head), ("config", config), ("target profile", target)]
    if output:
        _io.check_output_path(output, sources)
    shapes = parse_inputs(inputs)
    from convscope.render.profile import text as progress_view

    with progress_view.progress_bar(sys.stderr.isatty()) as progress:
        progress_view.stage(progress, "starting torch")
        from convscope import api

        comparison = api.build_comparison(
            base,
            head,
            input_shapes=shapes,
            trust_pickle=trust_pickle,
            config=config,
            target=target,
            progress=progress,
        )
    emit(api.render_comparison(comparison, fmt), output, sources)
