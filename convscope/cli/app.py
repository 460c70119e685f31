"""The ``convscope`` command line: parse → library API → reporter → exit code.

Exit codes (every command): 0 success / clean, 1 findings or budget exceeded, 2 usage,
config or model-load error — printed as one line on stderr; ``--debug`` adds the
traceback. Heavy imports (torch, rich) happen inside commands so ``convscope --help``
stays fast.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import sys
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from convscope._version import __version__
from convscope.cli import options
from convscope.errors import describe, first_line

if TYPE_CHECKING:  # annotations only: the CLI starts without torch
    from convscope import api

F = TypeVar("F", bound=Callable[..., Any])

FORMATS_ANALYZE = ("table", "json", "markdown", "html")


def _fail(message: str, debug: bool) -> None:
    if debug:
        traceback.print_exc()
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


# The real stdout of each running command: model code runs with stdout sent to stderr, so
# a model's print() can never mix into a report on stdout; the report goes here.
_STDOUT: list[Any] = []
_PACKAGE_CLI = Path(__file__).resolve().parent


@contextlib.contextmanager
def to_stdout() -> Iterator[None]:
    """Write the command's own output: restores the real stdout while active."""
    with contextlib.redirect_stdout(_STDOUT[-1]) if _STDOUT else contextlib.nullcontext():
        yield


def stdout_isatty() -> bool:
    """Whether the command's real stdout is a terminal (``sys.stdout`` is stderr here)."""
    stream = _STDOUT[-1] if _STDOUT else sys.stdout
    return bool(stream.isatty())


def _raised_by_cli(exc: BaseException) -> bool:
    """True when the innermost frame of ``exc`` is in convscope's own CLI code."""
    tb = exc.__traceback__
    if tb is None:
        return True
    while tb.tb_next is not None:
        tb = tb.tb_next
    with contextlib.suppress(OSError, ValueError):
        return Path(tb.tb_frame.f_code.co_filename).resolve().is_relative_to(_PACKAGE_CLI)
    return False


def _model_raised(exc: BaseException) -> str:
    from convscope import api

    return f"model code raised {api.describe(exc)}{api.culprit(exc)}"


def _run_guarded(fn: Callable[..., Any], args: Any, kwargs: dict[str, Any]) -> Any:
    timeout = kwargs.pop("timeout", None)
    limit: contextlib.AbstractContextManager[Any] = contextlib.nullcontext()
    if timeout is not None:
        from convscope import api

        limit = api.time_limit(timeout)
    # A caller that imported torch (CliRunner, a notebook) keeps its global settings; a
    # fresh process has none to protect and need not import torch for `convscope rule`.
    state: contextlib.AbstractContextManager[Any] = contextlib.nullcontext()
    if "torch" in sys.modules:
        from convscope import api

        state = api.preserved_global_state()
    _STDOUT.append(sys.stdout)
    try:
        with contextlib.redirect_stdout(sys.stderr), limit, state:
            return fn(*args, **kwargs)
    finally:
        _STDOUT.pop()


# The file system refusing a path (a name too long, no permission, read-only, full) is a
# problem of the input or the machine, not a bug: say which file, without "internal".
_ENVIRONMENT_ERRNOS = frozenset(
    getattr(errno, name)
    for name in (
        "ENAMETOOLONG",
        "ENOSPC",
        "EROFS",
        "EACCES",
        "EPERM",
        "EDQUOT",
        "EFBIG",
        "ENOENT",
        "ENOTDIR",
        "EISDIR",
        "ELOOP",
    )
    if hasattr(errno, name)
)


def handle_errors(fn: F) -> F:
    """Turn every failure into one line on stderr and exit code 2 (traceback with --debug)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        debug = bool(kwargs.get("debug")) or bool(
            click.get_current_context().find_root().params.get("debug")
        )
        try:
            return _run_guarded(fn, args, kwargs)
        except click.exceptions.Exit:
            raise
        except click.ClickException:
            raise
        except SystemExit as exc:
            if _raised_by_cli(exc):
                raise
            _fail(_model_raised(exc), debug)  # model code outside a guarded phase
        except KeyboardInterrupt:
            from convscope import api

            where = api.interrupted_in() if "torch" in sys.modules else None
            _fail(f"interrupted during {where[0]} of {where[1]}" if where else "interrupted", debug)
        except Exception as exc:
            from convscope.errors import ConvscopeError

            if isinstance(exc, ConvscopeError):
                _fail(first_line(exc), debug)
            if isinstance(exc, OSError) and exc.errno in _ENVIRONMENT_ERRNOS:
                name = f"{exc.filename}: " if exc.filename else ""
                _fail(f"{name}{exc.strerror or first_line(exc)}", debug)
            _fail(
                f"internal error: {describe(exc)} (rerun with --debug for the traceback)",
                debug,
            )
        except BaseException as exc:  # GeneratorExit or a custom BaseException
            _fail(_model_raised(exc), debug)

    return wrapper  # type: ignore[return-value]


class _Group(click.Group):
    """Usage errors are one line on stderr and exit 2, like every other error."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["standalone_mode"] = False
        try:
            rv = super().main(*args, **kwargs)
        except click.exceptions.NoArgsIsHelpError as exc:
            click.echo(exc.ctx.get_help() if exc.ctx else str(exc))
            sys.exit(2)
        except click.ClickException as exc:
            click.echo(f"error: {exc.format_message()}", err=True)
            sys.exit(exc.exit_code)
        except click.exceptions.Abort:
            click.echo("error: aborted", err=True)
            sys.exit(2)
        if isinstance(rv, int):
            sys.exit(rv)
        return rv


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(version=__version__, prog_name="convscope")
@options.debug_option()
def main(debug: bool) -> None:
    """Static analysis and profiling for PyTorch CNN architectures.

    MODEL specs: path/to/model.py, path/to/model.py:NAME, pkg.module:NAME,
    torchvision:NAME, timm:NAME, or a saved torch.export program (.pt2).
    """


def parse_inputs(texts: tuple[str, ...]) -> api.ModelInputs | None:
    """``-i`` values as inputs (``SHAPE`` positional, ``NAME=SHAPE`` keyword); None without."""
    if not texts:
        return None
    from convscope import api

    return api.parse_inputs(texts)


@main.command()
@click.argument("model")
@options.input_option()
@options.format_option(FORMATS_ANALYZE, "table")
@options.output_option()
@options.depth_option()
@options.trace_device_option()
@options.weights_options()
@click.option(
    "--dtype",
    type=click.Choice(("float32", "float16", "bfloat16", "int8")),
    help="Re-price bytes at this dtype.",
)
@click.option("--strict", is_flag=True, help="Fail (exit 2) when an op has no cost formula.")
@click.option("--rf", "show_rf", is_flag=True, help="Show receptive-field columns.")
@click.option(
    "--verify-rf",
    is_flag=True,
    help="Check the analytic receptive fields against gradients (exit 1 on disagreement).",
)
@options.erf_option()
@click.option(
    "--quant",
    is_flag=True,
    help="Quantization fragility per layer (needs --weights; --calibration adds the "
    "activation checks).",
)
@options.calibration_option()
@click.option(
    "--crosscheck", is_flag=True, help="Reconcile counts with fvcore and FlopCounterMode."
)
@options.target_option(
    "A profile with a kernel model (`profile --calibrate --kernels -o FILE.yaml`) adds "
    "predicted latency per layer and end to end, its roofline lower bound beside it."
)
@options.timeout_option()
@options.debug_option()
@handle_errors
def analyze(
    model: str,
    inputs: tuple[str, ...],
    fmt: str,
    output: str | None,
    depth: int | None,
    device: str,
    weights: str | None,
    trust_pickle: bool,
    dtype: str | None,
    strict: bool,
    show_rf: bool,
    verify_rf: bool,
    erf: bool,
    quant: bool,
    calibration: str | None,
    crosscheck: bool,
    target: str | None,
    debug: bool,
) -> None:
    """Per-layer parameters, MACs, memory traffic, receptive fields and mixing profile of
    MODEL; predicted latency with --target DEVICE.yaml. Exit 1 when --verify-rf finds a
    disagreement.

    \b
    convscope analyze torchvision:resnet50
    convscope analyze model.py -i 1,3,512,512 --depth 2
    convscope analyze model.py:Net -i 1,3,224,224 -i 1,1,224,224   (two inputs)
    convscope analyze model.py --weights ckpt.pt --rf --format json -o resnet.json
    convscope analyze timm:resnet50 --dtype float16 --format markdown
    convscope analyze torchvision:resnet50 --target dev.yaml   (predicted latency)
    """
    from convscope import _io

    sources = [*model_inputs(model, weights, calibration), ("target profile", target)]
    if output:
        _io.check_output_path(output, sources)
    if calibration is not None and not quant:
        raise click.UsageError("--calibration needs --quant")
    shapes = parse_inputs(inputs)
    from convscope import api

    profile = api.resolve_target(target) if target is not None else None  # fail early

    if calibration is not None:
        device = "cpu"  # calibration runs the model on real data
    loaded = api.load_model(
        model, input_shapes=shapes, weights=weights, trust_pickle=trust_pickle, device=device
    )
    result = api.analyze_loaded(loaded, device=device, dtype=dtype, strict=strict)
    result = api.with_receptive_field(result)
    if quant:
        result = api.with_quant(result, loaded.module, calibration)
    verified = None
    if verify_rf:
        # the gradients take seconds to minutes: a bar on a terminal, nothing in a pipe
        from convscope.render.profile import text as progress_view

        with progress_view.progress_bar(sys.stderr.isatty()) as progress:
            verified = api.verify_rf(loaded.module, loaded.inputs, result, progress=progress)
        result = api.with_extra(result, api.RF_VERIFY, verified)
    if erf:
        result = api.with_extra(
            result, api.ERF, api.effective_rf(loaded.module, loaded.inputs, analysis=result)
        )
    if profile is not None:
        result = api.with_latency(result, profile)
    if crosscheck:
        checked = api.crosscheck(
            model, shapes, weights=weights, trust_pickle=trust_pickle, analysis=result
        )
        result = api.with_extra(result, api.CROSSCHECK, checked)
    text = _render_analysis(result, fmt, depth, show_rf, output)
    if fmt in ("table", "markdown"):
        text = _append_sections(text, result)
    emit(text, output, sources)
    if verified is not None and not verified.all_agree:
        sys.exit(1)


def _append_sections(text: str | None, result: Any) -> str | None:
    """Plain-text sections (quantization, RF verification, ERF, cross-check) after the
    table; printed directly when the table went to the terminal (``text`` is None)."""
    from convscope import api

    parts: list[str] = []
    quant = result.section(api.QUANT)
    if quant is not None:
        from convscope.render.quant import text as quant_report

        parts.append(quant_report.to_text(quant))
    for key in (api.RF_VERIFY, api.ERF):
        section = result.section(key)
        if section is not None:
            parts.append(section.render())
    checked = result.section(api.CROSSCHECK)
    if checked is not None:
        from convscope.render.analysis import crosscheck as crosscheck_text

        parts.append(crosscheck_text.render(checked))
    if not parts:
        return text
    extra = "\n\n".join(p.rstrip("\n") for p in parts) + "\n"
    if text is None:
        with to_stdout():
            click.echo("\n" + extra, nl=False)
        return None
    return text.rstrip("\n") + "\n\n" + extra


def _render_analysis(
    result: Any, fmt: str, depth: int | None, show_rf: bool, output: str | None
) -> str | None:
    """The report as text, or None when it was printed to the terminal in colour."""
    if fmt == "json":
        from convscope.render.analysis import json as json_report

        return json_report.render(result)
    if fmt == "markdown":
        from convscope.render.analysis import markdown

        return markdown.render(result, depth=depth)
    if fmt == "html":
        from convscope import api
        from convscope.render.report import html as html_report

        folded = api.folded(result, depth) if depth is not None else result
        return html_report.render(api.analysis_document(folded))
    from convscope.render.analysis import table as terminal

    if output is None and stdout_isatty():
        from rich.console import Console

        with to_stdout():
            Console().print(terminal.render(result, depth=depth, show_rf=show_rf))
        return None
    return terminal.to_text(result, depth=depth, show_rf=show_rf)


def model_inputs(
    model: str | None, weights: str | None = None, calibration: str | None = None
) -> list[tuple[str, str | None]]:
    """The files a MODEL run reads, which no output may replace (see ``convscope._io``)."""
    return [
        ("model file", model),
        ("checkpoint", weights),
        ("calibration data", None if calibration == "random" else calibration),
    ]


def emit(text: str | None, output: str | None, inputs: Any = ()) -> None:
    """Write ``text`` atomically to ``output`` (never one of ``inputs``), or to stdout."""
    if text is None:
        return
    if output:
        from convscope import _io

        _io.write_atomic(output, text, inputs)
        click.echo(f"wrote {output}", err=True)
    else:
        with to_stdout():
            click.echo(text, nl=False)


def _register_subcommands() -> None:
    """Commands that live in their own modules attach themselves to ``main``."""
    import importlib

    for name in (
        "convscope.cli.lint",
        "convscope.cli.rewrite",
        "convscope.cli.profile",
        "convscope.cli.diff",
        "convscope.cli.report",
    ):
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise


_register_subcommands()
