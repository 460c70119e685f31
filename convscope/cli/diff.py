"""``convscope diff BASE HEAD``: compare two models or saved reports, gate on thresholds.

Registers itself on :data:`convscope.cli.app.main` when ``convscope.cli.app`` imports it. BASE and
HEAD are saved JSON reports (``*.json``, from ``convscope analyze --format json`` or
``convscope profile --format json``) or model specs, analyzed on the spot. Exit codes: 0
no threshold exceeded; 1 a ``--fail-on`` threshold exceeded (0 with ``--exit-zero``); 2
bad input — unreadable or non-report JSON, a model that does not load, a malformed or
unknown threshold (one line on stderr, traceback with ``--debug``; no output written).
"""

from __future__ import annotations

import json
import sys

import click

from convscope.cli import options
from convscope.cli.app import emit, handle_errors, main, parse_inputs, stdout_isatty, to_stdout
from convscope.errors import ConvscopeError

FORMATS_DIFF = ("text", "markdown", "json")

_METRICS_HELP = (
    "params, macs, flops, traffic_bytes, peak_activation_bytes, rf, latency, and the "
    "other counts and bytes of the JSON report's totals (trainable_params, bytes_read, ...)"
)


class DiffUsageError(ConvscopeError):
    """Options that do not fit the given BASE / HEAD."""


@main.command()
@click.argument("base")
@click.argument("head")
@click.option(
    "--fail-on",
    "fail_on",
    multiple=True,
    metavar="THRESHOLDS",
    help="Comma-separated METRIC:+N% (relative) or METRIC:+N (absolute; K/M/G, "
    f"KiB/MiB/GiB) increases that fail the diff (exit 1). Metrics: "
    f"{_METRICS_HELP}. latency:+N% compares head p10 with base p90. "
    "Repeatable.",
)
@options.exit_zero_option()
@options.input_option("Only for a BASE/HEAD that is a model spec.")
@options.format_option(FORMATS_DIFF, "text")
@options.output_option()
@options.trust_pickle_option()
@options.timeout_option()
@options.debug_option()
@handle_errors
def diff(
    base: str,
    head: str,
    fail_on: tuple[str, ...],
    exit_zero: bool,
    inputs: tuple[str, ...],
    fmt: str,
    output: str | None,
    trust_pickle: bool,
    debug: bool,
) -> None:
    """Compare BASE with HEAD: total and per-layer deltas of params, MACs, FLOPs, memory
    traffic, peak activation memory, receptive field and (from profile reports) latency.

    BASE and HEAD are saved JSON reports (*.json) or model specs. Exit 1 when a
    --fail-on threshold is exceeded.
    """
    from convscope import _io, api

    sources = [("BASE", base), ("HEAD", head)]
    if output:
        _io.check_output_path(output, sources)
    thresholds = api.parse_thresholds(fail_on)
    if inputs and all(api.is_report_path(x) for x in (base, head)):
        raise DiffUsageError(
            "-i/--input applies to model specs; BASE and HEAD are both saved reports"
        )
    shapes = parse_inputs(inputs)
    base_doc = api.load_diff_side(base, input_shapes=shapes, trust_pickle=trust_pickle)
    head_doc = api.load_diff_side(head, input_shapes=shapes, trust_pickle=trust_pickle)
    result = api.diff_reports(base_doc, head_doc, base_label=base, head_label=head)
    gates = api.check_diff(result, thresholds)

    text: str | None
    if fmt == "json":
        text = json.dumps(api.diff_document(result, gates), indent=2, ensure_ascii=False) + "\n"
    elif fmt == "markdown":
        from convscope.render.diff import markdown as diff_markdown

        text = diff_markdown.render(result, gates)
    else:
        from convscope.render.diff import text as diff_text

        if output is None and stdout_isatty():
            with to_stdout():
                diff_text.print_rich(result, gates)
            text = None
        else:
            text = diff_text.to_text(result, gates)
    emit(text, output, sources)
    if any(g.exceeded for g in gates) and not exit_zero:
        sys.exit(1)
