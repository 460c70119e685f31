"""``convscope rewrite``: plan, build, verify and (with ``--apply``) save a rewrite.

Registers itself on :data:`convscope.cli.app.main` when ``convscope.cli.app`` imports it. Exit
codes: 0 success; 2 usage, model-load, selection, export or verification error (one line
on stderr, traceback with ``--debug``).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import click

from convscope.cli import options
from convscope.cli.app import (
    handle_errors,
    main,
    model_inputs,
    parse_inputs,
    stdout_isatty,
    to_stdout,
)
from convscope.errors import ConvscopeError

FORMATS_REWRITE = ("table", "json", "markdown")


class RewriteUsageError(ConvscopeError):
    """Options that do not fit together (``--apply`` without ``-o`` ...)."""


def _check_output(do_apply: bool, output: str | None, sources: Any) -> Path | None:
    if output is not None and not do_apply:
        raise RewriteUsageError(
            "-o/--output names the program written by --apply; "
            "add --apply (the plan is printed to stdout)"
        )
    if not do_apply:
        return None
    if output is None:
        raise RewriteUsageError("--apply needs -o OUT.pt2 (where to save the rewritten model)")
    out = Path(output)
    if out.suffix != ".pt2":
        raise RewriteUsageError(
            f"-o must name a .pt2 file (a torch.export program), got '{output}'"
        )
    from convscope import _io
    from convscope.api import state_dict_path

    for path in (out, state_dict_path(out)):  # the program and the state dict beside it
        _io.check_output_path(path, sources)
    return out


@main.command()
@click.argument("model")
@options.input_option()
@click.option(
    "--only",
    multiple=True,
    metavar="GLOB",
    help="Rewrite only layers whose module path matches (fnmatch; repeatable, "
    "comma-separated; a container selects the convs inside it).",
)
@click.option(
    "--min-savings",
    type=options.FRACTION,
    default=0.0,
    show_default=True,
    help="Separable: skip layers saving less than this fraction of their MACs.",
)
@click.option(
    "--from-lint",
    is_flag=True,
    help="Select the layers that rule DW003 (separable-candidate) reports.",
)
@click.option(
    "--mode",
    type=click.Choice(("separable", "spatialize")),
    default="separable",
    show_default=True,
    help="separable: dense k×k → depthwise + pointwise; spatialize: identity "
    "depthwise 3×3 in front of early 1×1 convs.",
)
@click.option(
    "--multiplier",
    type=options.MULTIPLIER,
    default=1,
    show_default=True,
    help="Depth multiplier m of the depthwise conv (separable).",
)
@click.option(
    "--frozen-spatial",
    is_flag=True,
    help="Random, frozen depthwise filters, drawn with --seed (the 'channels-only' recipe).",
)
@click.option(
    "--apply", "do_apply", is_flag=True, help="Save the rewritten model (needs -o OUT.pt2)."
)
@click.option(
    "-o",
    "--output",
    type=options.OUTPUT,
    metavar="OUT.pt2",
    help="torch.export program to write with --apply (+ OUT.state_dict.pt).",
)
@options.target_option(
    "With a kernel model (`convscope profile --calibrate --kernels`), the plan states "
    "predicted times before → after and leaves out separable layers predicted no faster."
)
@click.option(
    "--allow-slower",
    is_flag=True,
    help="Plan separable layers the target's kernel model predicts no faster, too.",
)
@options.format_option(FORMATS_REWRITE, "table")
@options.weights_options()
@options.seed_option()
@options.timeout_option()
@options.debug_option()
@handle_errors
def rewrite(
    model: str,
    inputs: tuple[str, ...],
    only: tuple[str, ...],
    min_savings: float,
    from_lint: bool,
    mode: str,
    multiplier: int,
    frozen_spatial: bool,
    do_apply: bool,
    output: str | None,
    target: str | None,
    allow_slower: bool,
    fmt: str,
    weights: str | None,
    trust_pickle: bool,
    seed: int,
    debug: bool,
) -> None:
    """Plan a depthwise-separable (or spatialize) rewrite of MODEL; --apply saves it.

    The plan shows, per layer, params and MACs before → after, the MAC savings, and the
    relative Frobenius error of the separable weight approximation (or the receptive-field
    gain for spatialize); with a --target that has a kernel model, the predicted time
    before → after per layer and for the model, and separable layers predicted no faster
    are left out with the reason (--allow-slower plans them). The rewritten model is always
    built and verified: it must trace, keep its output shapes, and measure exactly the
    predicted params and MACs.
    """
    sources = [*model_inputs(model, weights), ("target profile", target)]
    out = _check_output(do_apply, output, sources)
    shapes = parse_inputs(inputs)
    from convscope import api

    profile = api.resolve_target(target) if target is not None else None  # fail early

    loaded = api.load_model(  # seeded: random weights (no --weights) are reproducible
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
    if weights:
        label = f"trained ({weights})"
    elif model.endswith(".pt2"):
        label = "from the program"
    else:
        label = "random init (no --weights)"

    result = api.rewrite(
        module,
        loaded.inputs,
        only=only or None,
        mode=mode,
        multiplier=multiplier,
        min_savings=min_savings,
        frozen_spatial=frozen_spatial,
        from_lint=from_lint,
        name=model,
        seed=seed,
        target=profile,
        allow_slower=allow_slower,
    )
    result = dataclasses.replace(result, weights=label)
    written: list[str] = []
    if out is not None:
        program, state = api.export_program(result.model, result.inputs, out, inputs_read=sources)
        written = [str(program), str(state)]

    from convscope.render.rewrite import text as rewrite_report

    with to_stdout():
        if fmt == "json":
            click.echo(
                json.dumps(
                    rewrite_report.as_json_ready(result, written), indent=2, ensure_ascii=False
                )
            )
        elif fmt == "markdown":
            click.echo(rewrite_report.to_markdown(result, written), nl=False)
        elif stdout_isatty():
            rewrite_report.print_rich(result, written)
        else:
            click.echo(rewrite_report.to_text(result, written), nl=False)
    if not stdout_isatty():  # on the terminal the report's own "Wrote" lines said it
        for path in written:
            click.echo(f"wrote {path}", err=True)
