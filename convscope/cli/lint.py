"""The ``lint``, ``rule`` and ``config`` commands (registered on :data:`convscope.cli.app.main`).

``convscope rule`` and ``convscope config`` never import torch; ``convscope lint`` imports
it only once it has validated the configuration, the baseline and the output path, so
configuration mistakes fail fast with exit code 2.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Sequence
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

if TYPE_CHECKING:
    from pathlib import Path

    from convscope.api import LintResult, ModelEntry, Places, Registry, Settings, Severity

LINT_FORMATS = ("text", "json", "sarif", "github", "junit", "markdown")
# -i and --weights describe the MODELs given as arguments; config models carry their own.
_ON_THE_COMMAND_LINE = "Only for the MODELs given on the command line."


@main.command()
@click.argument("models", nargs=-1, metavar="[MODEL]...")
@options.config_option()
@options.target_option()
@click.option("--select", help="Comma-separated code prefixes to enable (replaces the config).")
@click.option("--ignore", help="Comma-separated code prefixes to disable (replaces the config).")
@click.option("--extend-select", help="Comma-separated code prefixes to add to the selection.")
@options.format_option(LINT_FORMATS, "text")
@options.output_option()
@click.option(
    "--fail-on",
    type=click.Choice(("info", "warning", "error")),
    help="Lowest severity that fails the run (default: warning, or the config).",
)
@options.exit_zero_option()
@click.option(
    "--baseline",
    type=click.Path(dir_okay=False),
    help="Suppress the findings recorded in this baseline file.",
)
@click.option(
    "--write-baseline",
    type=options.OUTPUT,
    help="Record the current findings in FILE and exit 0.",
)
@click.option(
    "--fail-on-stale",
    is_flag=True,
    help="With --baseline: also fail when baseline entries match no finding any more.",
)
@click.option(
    "--statistics",
    is_flag=True,
    help="Print how often each rule fired instead of the findings (JSON with --format json).",
)
@options.input_option(_ON_THE_COMMAND_LINE)
@options.weights_options(_ON_THE_COMMAND_LINE)
@options.calibration_option()
@options.trace_device_option()
@options.timeout_option()
@options.debug_option()
@handle_errors
def lint(
    models: tuple[str, ...],
    config: str | None,
    target: str | None,
    select: str | None,
    ignore: str | None,
    extend_select: str | None,
    fmt: str,
    output: str | None,
    fail_on: str | None,
    exit_zero: bool,
    baseline: str | None,
    write_baseline: str | None,
    fail_on_stale: bool,
    statistics: bool,
    inputs: tuple[str, ...],
    weights: str | None,
    calibration: str | None,
    trust_pickle: bool,
    device: str,
    debug: bool,
) -> None:
    """Lint MODELs (or every model listed in the config) against the rule catalog.

    Exit codes: 0 clean, 1 findings at or above --fail-on or a budget exceeded, 2 errors.
    """
    from convscope import _io, api

    registry = api.default_registry()
    settings = api.load_settings(registry, config).with_overrides(
        registry,
        select=select,
        ignore=ignore,
        extend_select=extend_select,
        target=target,
        fail_on=fail_on,
    )
    settings.resolve(registry)  # validates the target profile before any model is loaded
    if calibration not in (None, "random"):
        api.load_calibration_file(calibration)  # a bad file is a usage error, before any work
    if fail_on_stale and not baseline:
        raise click.UsageError("--fail-on-stale needs --baseline")
    if statistics and fmt not in ("text", "json"):
        raise click.UsageError("--statistics prints text or JSON (--format text|json)")
    if models:
        shapes = parse_inputs(inputs)
        entries = [
            api.ModelEntry(spec=m, load_spec=m, inputs=shapes, weights=weights) for m in models
        ]
    else:
        if inputs or weights or calibration:
            raise click.UsageError(
                "-i/--weights/--calibration apply to MODELs given on the command line"
            )
        entries = list(settings.models)
        if not entries:
            where = f" in {settings.path}" if settings.path else " (no config file found)"
            raise click.UsageError(
                f"no MODEL given and no `models` listed{where}: name one "
                "(`convscope lint model.py`, `convscope lint torchvision:resnet18`) or list "
                "them under `models:` in convscope.yaml (examples/convscope.yaml shows one)"
            )
    sources = _inputs(entries, settings, target, calibration)
    # the report must not replace the baseline it is filtered by; --write-baseline may
    # rewrite the baseline it read (that is how a baseline is updated)
    if output:
        _io.check_output_path(output, [*sources, ("baseline", baseline)])
    if write_baseline:
        _io.check_output_path(write_baseline, sources)
    accepted = api.load_baseline(baseline) if baseline else None

    root = api.baseline_root(settings.path)
    runs = [
        _lint_one(
            entry, settings.for_model(entry), registry, device, calibration, trust_pickle, root
        )
        for entry in entries
    ]
    results = [result for result, _ in runs]
    if write_baseline:
        text = api.render_baseline(results)
        _io.write_atomic(write_baseline, text, sources)
        n = text.count('"code"')
        click.echo(
            f"wrote {n} entr{'y' if n == 1 else 'ies'} to baseline {write_baseline}", err=True
        )
        return
    if accepted is not None:
        results = [api.apply_baseline(r, accepted) for r in results]
    places = None
    if fmt in ("sarif", "github", "junit"):
        from pathlib import Path

        places = api.report_places(
            [
                (e.spec, source, dict(e.budgets.items()) if e.budgets else None)
                for e, (_, source) in zip(entries, runs, strict=True)
            ],
            settings.path,
            Path.cwd(),
        )
    if statistics:
        _render_statistics(results, fmt, output)
    else:
        _render(
            results,
            fmt,
            output,
            settings.fail_on,
            registry,
            places,
            [*sources, ("baseline", baseline)],
        )
    failed = any(r.fails(settings.fail_on) for r in results)
    if fail_on_stale and any(r.stale_baseline for r in results):
        failed = True
    if not exit_zero and failed:
        sys.exit(1)


def _inputs(
    entries: Sequence[ModelEntry], settings: Settings, target: str | None, calibration: str | None
) -> list[tuple[str, str | None]]:
    """Every file this lint run reads (outputs may replace none of them)."""
    sources: list[tuple[str, str | None]] = [
        ("config", str(settings.path) if settings.path else None),
        ("target profile", target),
    ]
    for entry in entries:
        sources += model_inputs(entry.load_spec, entry.weights, calibration)
    return sources


def _lint_one(
    entry: ModelEntry,
    settings: Settings,
    registry: Registry,
    device: str,
    calibration: str | None = None,
    trust_pickle: bool = False,
    root: Path | None = None,
) -> tuple[LintResult, Path | None]:
    """The lint result and the model's source file (``None`` for package models)."""
    from convscope import api

    if calibration is not None:
        device = "cpu"  # calibration runs the model on real data
    loaded = api.load_model(
        entry.load_spec,
        input_shapes=entry.inputs,
        weights=entry.weights,
        trust_pickle=trust_pickle,
        device=device,
    )
    analysis = api.analyze(
        loaded.module, loaded.inputs, device=device, name=entry.spec, rebuild=loaded.rebuild
    )
    providers: dict[api.SectionKey[Any], Any] = {}
    if entry.weights:
        providers[api.WEIGHTS] = lambda _analysis: loaded.module
    if calibration is not None:
        providers[api.CALIBRATION] = _calibration_provider(loaded.module, calibration)
    result = api.lint(
        analysis,
        settings,
        module=loaded.module,
        source_file=loaded.source_file,
        receptive_field=api.with_receptive_field,
        providers=providers,
        registry=registry,
        budgets=entry.budgets,
        command_model=entry.load_spec if entry.load_spec != entry.spec else None,
    )
    identity = api.model_identity(entry.load_spec, root or api.baseline_root())
    return dataclasses.replace(result, identity=identity), loaded.source_file


def _calibration_provider(module: Any, calibration: str) -> Any:
    """Activation statistics for rules that require ``CALIBRATION`` (QF005)."""

    def provide(analysis: Any) -> Any:
        from convscope import api

        return api.with_quant(analysis, module, calibration)

    return provide


def _render(
    results: Sequence[LintResult],
    fmt: str,
    output: str | None,
    fail_on: Severity,
    registry: Registry,
    places: Places | None = None,
    sources: Any = (),
) -> None:
    text: str | None
    if fmt == "json":
        from convscope.render.lint import json as lint_json

        text = lint_json.render(results)
    elif fmt == "sarif":
        from convscope.render.lint import sarif

        text = sarif.render(results, registry, places)
    elif fmt == "github":
        from convscope.render.lint import github

        text = github.render(results, root=places.root if places else None)
    elif fmt == "junit":
        from convscope.render.lint import junit

        text = junit.render(
            results, fail_on, registry=registry, root_dir=places.root if places else None
        )
    elif fmt == "markdown":
        from convscope.render.lint import markdown

        text = markdown.render(results, fail_on)
    else:
        from convscope.render.lint import text as lint_text

        if output is None and stdout_isatty():
            with to_stdout():
                lint_text.print_rich(lint_text.render(results))
            return
        text = lint_text.to_text(results)
    emit(text, output, sources)


def _render_statistics(results: Sequence[LintResult], fmt: str, output: str | None) -> None:
    from convscope import api
    from convscope.render.lint import statistics as stats_render

    stats = api.lint_statistics(results)
    text = stats_render.to_json(stats) if fmt == "json" else stats_render.to_text(stats)
    emit(text, output)


@main.command()
@click.argument("code", required=False)
@click.option(
    "--raw",
    is_flag=True,
    help="Print the rule's Markdown as written, even on a terminal (piped output always is).",
)
@options.debug_option()
@handle_errors
def rule(code: str | None, raw: bool, debug: bool) -> None:
    """List the lint rules, or show the documentation of rule CODE (a code or a name)."""
    from convscope import api
    from convscope.render.lint import rule_doc

    registry = api.default_registry()
    with to_stdout():  # the command runs no model code: all of it is output
        if code is None:
            if stdout_isatty():
                # the table needs rich: imported only when there is a terminal to draw on
                from convscope.render.lint import text as lint_text

                lint_text.print_rich(lint_text.rules_table(registry))
            else:
                click.echo(rule_doc.rules_text(registry), nl=False)
            return
        found = registry.lookup(code)
        if found is None:
            raise api.ConfigError(api.unknown_code_message(code, registry))
        doc = api.rule_doc(found.code, found.name)
        if doc.is_file():
            text = doc.read_text(encoding="utf-8")
        else:
            text = (
                f"# {found.code} {found.name}\n\n{found.summary}\n\n"
                f"{(type(found).__doc__ or '').strip()}\n"
            )
        if stdout_isatty() and not raw:
            rule_doc.print_markdown(text)
        else:
            click.echo(text, nl=False)


@main.command("config")
@click.option("--show", is_flag=True, help="Print the resolved settings as YAML (the default).")
@click.option("--targets", is_flag=True, help="List the available target profiles.")
@options.config_option()
@options.target_option()
@options.debug_option()
@handle_errors
def config_cmd(
    show: bool, targets: bool, config: str | None, target: str | None, debug: bool
) -> None:
    """Show the configuration convscope lint would use (file, target, rules, options)."""
    from convscope import api

    registry = api.default_registry()
    with to_stdout():
        if targets:
            names = api.available_profiles()
            extra = [target] if target is not None and target not in names else []
            for name in [*names, *extra]:
                prof = api.load_profile(name, registry)
                click.echo(f"{name}: {prof.description}")
                if prof.kernels is not None:
                    click.echo(
                        f"  kernel model: {prof.kernels.provenance.text}; "
                        f"{len(prof.kernels.families)} kernel families (analyze --target "
                        "predicts latency)"
                    )
            return
        settings = api.load_settings(registry, config).with_overrides(registry, target=target)
        click.echo(settings.to_yaml(registry), nl=False)
