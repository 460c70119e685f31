"""Trace export: a Chrome/Perfetto JSON trace, and a TensorBoard profile directory.

A few forward passes run under ``torch.profiler.profile`` (CPU activity, plus CUDA on a
GPU; ``record_shapes=True``) while global module hooks wrap every module's forward in
``torch.profiler.record_function(<module path>)``, so the trace shows one labelled span per
layer (``layer1.0.conv1``, root = ``(root)``) with the ATen ops and kernels inside it.

``on_trace_ready`` is :func:`torch.profiler.tensorboard_trace_handler` writing
``DIR/tb/convscope.<ns>.pt.trace.json``: the layout TensorBoard's PyTorch profiler plugin
(``torch-tb-profiler``, the ``tensorboard`` extra; deprecated upstream but it still reads
these files) expects — ``tensorboard --logdir DIR/tb``. The same file is copied to
``DIR/trace.json``, which opens directly in https://ui.perfetto.dev or ``chrome://tracing``
(kineto refuses to save one profile twice, so the copy is the way to get both).

The profiler's C++ side (kineto) prints status lines on stderr (``USDT: ... profiler_start``
and, on a machine without a GPU, ``gpuGetDeviceCount failed``); they are filtered out while
tracing unless ``quiet=False``; any other line is passed through, except kineto's
``ERROR: ... Failed to write`` which becomes the one-line error of the run.

Kineto writes ``NAME.tmp`` and renames it; on a full disk it leaves the ``.tmp`` behind. So
the profiler writes into a private staging folder inside ``DIR``, and the traces are moved
into place only once both are complete: a failure leaves no file (and no folder this run
created) behind.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch import profiler as torch_profiler

from convscope import _io
from convscope.errors import ConvscopeError
from convscope.model.modes import global_forward_hooks
from convscope.profiling.layers import module_paths

__all__ = ["TraceFiles", "capture", "layer_event_names", "tb_plugin_available"]

ROOT_LABEL = "(root)"
WORKER_NAME = "convscope"
_NOISE = ("USDT:", "gpuGetDeviceCount", "SyncActivityProfilerHandler", "ActivityProfilerController")


def tb_plugin_available() -> bool:
    """Whether ``torch_tb_profiler`` (TensorBoard's PyTorch profiler plugin) is installed."""
    return importlib.util.find_spec("torch_tb_profiler") is not None


@dataclass(frozen=True)
class TraceFiles:
    """Where the traces went and what they hold."""

    chrome: Path  # DIR/trace.json
    tensorboard_dir: Path  # DIR/tb
    tensorboard_file: Path
    events: int
    layer_events: int  # spans named after a module path
    iters: int
    tb_plugin: bool  # torch_tb_profiler importable

    def to_dict(self) -> dict[str, Any]:
        return {
            "chrome": str(self.chrome),
            "tensorboard_dir": str(self.tensorboard_dir),
            "tensorboard_file": str(self.tensorboard_file),
            "events": self.events,
            "layer_events": self.layer_events,
            "iters": self.iters,
            "torch_tb_profiler": self.tb_plugin,
        }


@contextlib.contextmanager
def _filtered_stderr(enabled: bool, errors: list[str] | None = None) -> Iterator[None]:
    """Send file descriptor 2 to a temporary file; replay lines that are not kineto noise.

    Kineto's ``ERROR:`` lines go to ``errors`` (when given) instead of stderr."""
    if not enabled:
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):
        yield
        return
    with tempfile.TemporaryFile(mode="w+b") as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            yield
        finally:
            with contextlib.suppress(OSError, ValueError):
                sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            text = tmp.read().decode("utf-8", "replace")
            kept = [ln for ln in text.splitlines() if ln and not any(n in ln for n in _NOISE)]
            if errors is not None:
                errors.extend(ln for ln in kept if ln.startswith("ERROR:"))
                kept = [ln for ln in kept if not ln.startswith("ERROR:")]
            if kept:
                sys.stderr.write("\n".join(kept) + "\n")


class _Labeller:
    """Global module hooks entering/leaving ``record_function(path)`` around forwards."""

    def __init__(self, model: nn.Module) -> None:
        self.paths = module_paths(model)
        self.stack: list[Any] = []

    def _pre(self, module: nn.Module, args: Any) -> None:
        path = self.paths.get(id(module))
        if path is None:
            return
        rf = torch.profiler.record_function(path or ROOT_LABEL)
        rf.__enter__()
        self.stack.append(rf)

    def _post(self, module: nn.Module, args: Any, output: Any) -> None:
        if id(module) in self.paths and self.stack:
            self.stack.pop().__exit__(None, None, None)

    @contextlib.contextmanager
    def hooks(self) -> Iterator[None]:
        try:
            with global_forward_hooks(self._pre, self._post):
                yield
        finally:
            while self.stack:  # an exception skipped post hooks
                self.stack.pop().__exit__(None, None, None)


def layer_event_names(trace: dict[str, Any]) -> set[str]:
    """Names of the ``user_annotation`` spans in a Chrome trace (the layer labels)."""
    return {
        str(e.get("name"))
        for e in trace.get("traceEvents", [])
        if isinstance(e, dict) and e.get("cat") in ("user_annotation", "gpu_user_annotation")
    }


def _record(
    fn: Callable[[], Any],
    labeller: _Labeller,
    staging: Path,
    *,
    device: torch.device,
    iters: int,
    quiet: bool,
) -> tuple[bytes, str]:
    """Profile ``fn`` with kineto writing into ``staging``; the trace's bytes and name."""

    activities = [torch_profiler.ProfilerActivity.CPU]
    if device.type == "cuda":
        activities.append(torch_profiler.ProfilerActivity.CUDA)
    errors: list[str] = []
    with (
        _filtered_stderr(quiet, errors),
        torch_profiler.profile(
            activities=activities,
            record_shapes=True,
            on_trace_ready=torch_profiler.tensorboard_trace_handler(
                str(staging), worker_name=WORKER_NAME
            ),
        ),
        labeller.hooks(),
    ):
        for _ in range(max(1, iters)):
            fn()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
    written = sorted(staging.glob("*.pt.trace.json"))
    partial = sorted(staging.glob("*.tmp"))
    if errors or partial or not written:
        folder = staging.parent
        if partial or any("write" in e.lower() for e in errors):
            free = shutil.disk_usage(folder).free
            raise ConvscopeError(
                f"cannot write the profiler trace into {folder}: writing it failed "
                f"(is the disk full? {free} bytes free)"
            )
        raise ConvscopeError(f"the profiler wrote no trace into {folder}")
    return written[-1].read_bytes(), written[-1].name


def capture(
    fn: Callable[[], Any],
    model: nn.Module,
    directory: str | Path,
    *,
    device: torch.device,
    iters: int = 2,
    quiet: bool = True,
) -> TraceFiles:
    """Run ``fn`` (one forward of ``model``) ``iters`` times under the profiler and write
    ``DIR/trace.json`` and ``DIR/tb/``. Call it after warm-up: first iterations are slow."""
    out = Path(directory)
    tb_dir = out / "tb"
    created = [d for d in (tb_dir, *tb_dir.parents) if not d.exists()]
    try:
        tb_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".convscope-trace.", dir=out))
    except OSError as exc:
        raise ConvscopeError(f"cannot create trace directory {tb_dir}: {exc.strerror}") from exc
    try:
        labeller = _Labeller(model)
        data, name = _record(fn, labeller, staging, device=device, iters=iters, quiet=quiet)
        try:
            doc = json.loads(data)
        except ValueError as exc:
            raise ConvscopeError(f"the profiler wrote an unreadable trace: {exc}") from exc
        chrome, tb_file = out / "trace.json", tb_dir / name
        _io.write_all([(chrome, data), (tb_file, data)])
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        for folder in created:  # only folders this run made, innermost first
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    labels = set(module_paths(model).values()) - {""} | {ROOT_LABEL}
    names = [str(e.get("name")) for e in doc.get("traceEvents", []) if isinstance(e, dict)]
    return TraceFiles(
        chrome=chrome,
        tensorboard_dir=tb_dir,
        tensorboard_file=tb_file,
        events=len(names),
        layer_events=sum(1 for n in names if n in labels),
        iters=max(1, iters),
        tb_plugin=tb_plugin_available(),
    )
