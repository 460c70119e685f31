"""MODEL spec → module + example inputs.

Every command accepts the same MODEL specs (``model.py``, ``model.py:NAME``,
``pkg.module:NAME``, ``torchvision:NAME``, ``timm:NAME``, ``program.pt2``). This module is
the one place that turns them into a :class:`LoadedModel`, and the one place where loading
can fail: every failure becomes a :class:`ModelLoadError` or :class:`InputError` with a
single line naming the file, the name and the cause, so the CLI can exit 2 without a
traceback.

Models are built under ``torch.device("meta")`` unless weights are requested, so even a
billion-parameter model costs no memory to analyze; ``LoadedModel.rebuild`` gives the tracer
a real CPU copy for the rare model that cannot run on meta.
"""

from __future__ import annotations

import contextlib
import difflib
import importlib
import importlib.util
import inspect
import keyword
import sys
import traceback
import types
import uuid
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeGuard

import torch
from torch import nn
from torch.nn.modules import module as module_mod

from convscope.errors import InputError, ModelLoadError, describe
from convscope.model import pt2
from convscope.model.guard import ModelCodeError, check_module_tree, model_code
from convscope.model.materialize import materialize
from convscope.model.state import seeded

__all__ = ["LoadedModel", "load_model", "load_state_dict", "parse_input_shapes"]

DEFAULT_INPUT_SHAPE: tuple[int, ...] = (1, 3, 224, 224)
# Attributes that name the model outright, in the order they are looked up.
_MODEL_ATTRS = ("model", "MODEL")
_FACTORY_ATTRS = ("build_model", "create_model", "get_model")
# Wrapper keys under which training scripts commonly store the state dict.
_CHECKPOINT_KEYS = ("state_dict", "model", "model_state_dict")
# Prefixes added by DataParallel/DistributedDataParallel and torch.compile.
_WRAPPER_PREFIXES = ("module.", "_orig_mod.")
_SHAPE_SEPARATORS = ("x", "X", "×")


@dataclass(frozen=True, eq=False)
class LoadedModel:
    """A model ready for tracing. ``eq=False``: comparing tensors field-wise is meaningless."""

    module: torch.nn.Module
    inputs: tuple[torch.Tensor, ...]
    spec: str
    source_file: Path | None
    on_meta: bool
    rebuild: Callable[[], torch.nn.Module] | None
    input_source: str


@dataclass(frozen=True)
class _Target:
    """What a spec names, before anything is built.

    Exactly one of ``build`` (a fresh construction, run under the chosen device) and
    ``instance`` (an already-built module we must not modify) is set.
    """

    name: str
    origin: str
    build: Callable[[], Any] | None = None
    instance: nn.Module | None = None
    namespace: types.ModuleType | None = None
    source_file: Path | None = None
    natural_inputs: Callable[[nn.Module], tuple[tuple[int, ...], ...]] | None = None
    example_inputs: tuple[torch.Tensor, ...] | None = None


# --------------------------------------------------------------------------- input shapes


def parse_input_shapes(texts: Sequence[str]) -> tuple[tuple[int, ...], ...]:
    """Parse ``-i`` values such as ``1,3,224,224`` or ``1x3x224x224``, one shape per text."""
    return tuple(_parse_shape(text) for text in texts)


def _parse_shape(text: str) -> tuple[int, ...]:
    normalized = text.strip()
    for sep in _SHAPE_SEPARATORS:
        normalized = normalized.replace(sep, ",")
    parts = [p.strip() for p in normalized.split(",")]
    if not normalized or any(p == "" for p in parts):
        raise InputError(f"bad input shape '{text}': expected integers like 1,3,224,224")
    dims: list[int] = []
    for part in parts:
        try:
            dims.append(int(part))
        except ValueError:
            raise InputError(f"bad input shape '{text}': '{part}' is not an integer") from None
    if any(d <= 0 for d in dims):
        raise InputError(f"bad input shape '{text}': every dimension must be positive")
    _check_size(dims, f"'{text}'")
    return tuple(dims)


# torch sizes are signed 64-bit: a larger dimension, or element count, cannot exist.
_MAX_ELEMENTS = 2**63 - 1


def _check_size(dims: Sequence[int], shown: str) -> None:
    """Reject a shape no tensor can have, naming the offending dimension."""
    for d in dims:
        if d > _MAX_ELEMENTS:
            raise InputError(
                f"bad input shape {shown}: dimension {d} is too large "
                f"(a tensor dimension must be below 2**63)"
            )
    numel = 1
    for d in dims:
        numel *= d
    if numel > _MAX_ELEMENTS:
        raise InputError(
            f"bad input shape {shown}: {numel} elements in all, more than a "
            "tensor can hold (2**63 - 1)"
        )


def _is_shape(value: Any) -> TypeGuard[Sequence[int]]:
    return (
        isinstance(value, (tuple, list))
        and len(value) > 0
        and all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in value)
    )


def _validate_shapes(shapes: Sequence[Sequence[int]], where: str) -> tuple[tuple[int, ...], ...]:
    out = []
    for shape in shapes:
        if not _is_shape(shape):
            raise InputError(
                f"bad input shape {shape!r} {where}: every dimension must be a positive integer"
            )
        _check_size(shape, repr(tuple(shape)))
        out.append(tuple(int(d) for d in shape))
    if not out:
        raise InputError(f"no input shape given {where}")
    return tuple(out)


def _meta_inputs(shapes: Sequence[tuple[int, ...]]) -> tuple[torch.Tensor, ...]:
    return tuple(torch.empty(shape, device="meta") for shape in shapes)


# --------------------------------------------------------------------------- small helpers


# Exception types that mean "tried to reach the network" (urllib, requests/urllib3,
# huggingface_hub, socket), matched by name so none of those packages must be installed.
_NETWORK_ERRORS = frozenset(
    {
        "URLError",
        "HTTPError",
        "ConnectionError",
        "ConnectTimeout",
        "ReadTimeout",
        "MaxRetryError",
        "NewConnectionError",
        "LocalEntryNotFoundError",
        "gaierror",
    }
)
_DOWNLOAD_HINT = (
    "convscope cannot download weights; pass a local checkpoint with --weights FILE, or "
    "build the model without pretrained weights (e.g. pretrained=False or weights=None)"
)


def _is_download_error(exc: BaseException) -> bool:
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if any(c.__name__ in _NETWORK_ERRORS for c in type(cur).__mro__):
            return True
        cur = cur.__cause__ or cur.__context__
    return False


def _download_message(what: str, exc: BaseException) -> str:
    return f"{what} tries to download weights ({describe(exc)}): {_DOWNLOAD_HINT}"


@contextlib.contextmanager
def _user_code() -> Iterator[None]:
    """Run model-file code with its prints ("Downloading...") on stderr, so stdout holds
    only the report (JSON, markdown) even when the model talks."""
    with contextlib.redirect_stdout(sys.stderr):
        yield


def _type_name(obj: Any) -> str:
    cls = type(obj)
    if cls.__module__ == "builtins":
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


def _tensors(module: nn.Module) -> list[torch.Tensor]:
    return [*module.parameters(), *module.buffers()]


def _all_meta(module: nn.Module) -> bool:
    tensors = _tensors(module)
    return bool(tensors) and all(t.is_meta for t in tensors)


def _required_params(fn: Callable[..., Any]) -> list[str] | None:
    """Names of parameters a no-argument call would miss; None if the signature is unknown."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    kinds = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    return [
        p.name
        for p in sig.parameters.values()
        if p.default is inspect.Parameter.empty and p.kind not in kinds
    ]


def _is_module_class(obj: Any) -> bool:
    return isinstance(obj, type) and issubclass(obj, nn.Module)


@contextlib.contextmanager
def _sys_path_entry(directory: str) -> Iterator[None]:
    """Let a model file import its siblings, without leaving sys.path changed."""
    sys.path.insert(0, directory)
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(directory)


# --------------------------------------------------------------------------- importing


def _import_file(path: Path) -> types.ModuleType:
    """Import a model file as a fresh module under a unique name.

    The module stays in ``sys.modules`` (under its unique name) because ``inspect`` needs it
    there to find the source lines that lint findings point at.
    """
    name = f"convscope_model_{uuid.uuid4().hex[:12]}_{_identifier(path.stem)}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ModelLoadError(f"could not import {path}: not a Python source file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        with (
            _sys_path_entry(str(path.parent.resolve())),
            _user_code(),
            model_code("import", str(path)),
        ):
            spec.loader.exec_module(module)
    except ModelCodeError:
        sys.modules.pop(name, None)
        raise
    except Exception as exc:
        sys.modules.pop(name, None)
        if isinstance(exc, Exception) and _is_download_error(exc):
            raise ModelLoadError(_download_message(f"importing {path}", exc)) from exc
        raise ModelLoadError(
            f"could not import {path}: {describe(exc)}{_line_in(exc, path)}"
        ) from exc
    return module


def _elsewhere(exc: BaseException, path: Path) -> str:
    """`` in OTHER`` when a syntax error sits in a module the model file imports."""
    filename = getattr(exc, "filename", None) if isinstance(exc, SyntaxError) else None
    if filename and Path(filename).resolve() != path.resolve():
        return f" in {filename}"
    return ""


def _identifier(text: str) -> str:
    cleaned = "".join(c if c.isalnum() or c == "_" else "_" for c in text)
    return cleaned or "model"


def _line_in(exc: BaseException, path: Path) -> str:
    """`` (line N)`` of the innermost frame inside the model file, to point at the culprit."""
    if isinstance(exc, SyntaxError):
        return _elsewhere(exc, path)
    target = str(path.resolve())
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        with contextlib.suppress(OSError):
            if str(Path(frame.filename).resolve()) == target:
                line = frame.lineno
    return f" (line {line})" if line else ""


def _import_module_path(modpath: str) -> types.ModuleType:
    try:
        with _user_code(), model_code("import", modpath):
            return importlib.import_module(modpath)
    except ModuleNotFoundError as exc:
        if exc.name and (modpath == exc.name or modpath.startswith(exc.name + ".")):
            raise ModelLoadError(
                f"cannot import module '{modpath}': no module named "
                f"'{exc.name}' (is it installed or on PYTHONPATH?)"
            ) from exc
        raise ModelLoadError(f"could not import {modpath}: {describe(exc)}") from exc
    except ModelCodeError:
        raise
    except Exception as exc:
        raise ModelLoadError(f"could not import {modpath}: {describe(exc)}") from exc


def _module_file(module: types.ModuleType) -> Path | None:
    file = getattr(module, "__file__", None)
    return Path(file) if file else None


# --------------------------------------------------------------------------- spec resolution


def _resolve(spec: str, trust_pickle: bool = False) -> _Target:
    """Parse the spec and find what it names, without building the model."""
    text = spec.strip()
    if not text:
        raise ModelLoadError("empty model spec")
    if text.endswith(".pt2"):
        return _resolve_pt2(Path(text).expanduser(), trust_pickle)
    if text.endswith(".py"):
        path = _existing_file(text)
        module = _import_file(path)
        return _discover(module, str(path), path)
    left, sep, right = text.rpartition(":")
    if sep and left == "torchvision":
        return _resolve_torchvision(right)
    if sep and left == "timm":
        return _resolve_timm(right)
    if sep and left.endswith(".py"):
        path = _existing_file(left)
        module = _import_file(path)
        return _named(module, right, str(path), path)
    if sep and _is_dotted_name(left):
        try:
            module = _import_module_path(left)
        except ModelLoadError as exc:
            cause = exc.__cause__
            if isinstance(cause, ModuleNotFoundError) and cause.name == left:
                raise ModelLoadError(_unknown_prefix(left, right)) from cause
            raise
        return _named(module, right, left, _module_file(module))
    if not sep and _is_dotted_name(text) and not Path(text).exists():
        try:
            module = _import_module_path(text)
        except ModelLoadError as exc:
            raise ModelLoadError(
                f"{exc} (MODEL is a .py or .pt2 file, pkg.module:NAME, "
                "torchvision:NAME or timm:NAME)"
            ) from exc.__cause__
        return _discover(module, text, _module_file(module))
    path = Path(text).expanduser()
    if path.suffix in (".pt", ".pth", ".ckpt", ".bin", ".safetensors"):
        raise ModelLoadError(
            f"'{text}' looks like a checkpoint, not a model: give the model "
            "spec and pass the checkpoint with --weights"
        )
    if path.exists():
        raise ModelLoadError(
            f"unsupported model file '{text}': expected a .py file, a .pt2 "
            "export, pkg.module:NAME, torchvision:NAME or timm:NAME"
        )
    raise ModelLoadError(f"model file not found: {text}")


_ZOOS = ("torchvision", "timm")


def _unknown_prefix(left: str, right: str) -> str:
    """For ``torchvison:NAME`` or ``hf:NAME``: no such module, so name the zoo prefixes."""
    close = difflib.get_close_matches(left, _ZOOS, n=1, cutoff=0.6)
    guess = f"did you mean {close[0]}:{right}? " if close else ""
    return (
        f"unknown model prefix '{left}:' (no module named '{left}'); {guess}MODEL is "
        "torchvision:NAME, timm:NAME, pkg.module:NAME, file.py[:NAME] or program.pt2"
    )


def _is_dotted_name(text: str) -> bool:
    parts = text.split(".")
    return all(p.isidentifier() and not keyword.iskeyword(p) for p in parts)


def _existing_file(text: str) -> Path:
    path = Path(text).expanduser()
    if path.is_dir():
        raise ModelLoadError(f"model file {text} is a directory, not a Python file")
    if not path.is_file():
        raise ModelLoadError(f"model file not found: {text}")
    return path


def _lookup(module: types.ModuleType, name: str, origin: str) -> Any:
    """``getattr`` along a dotted NAME; a missing name lists what is there instead."""
    obj: Any = module
    for part in name.split("."):
        if not part or not hasattr(obj, part):
            available = ", ".join(_available_names(module)) or "none"
            raise ModelLoadError(
                f"{origin} has no attribute '{name}' (available models and factories: {available})"
            )
        obj = getattr(obj, part)
    return obj


def _available_names(module: types.ModuleType) -> list[str]:
    names = []
    for attr, value in vars(module).items():
        if attr.startswith("_"):
            continue
        if isinstance(value, nn.Module) or _is_module_class(value):
            if isinstance(value, nn.Module) or value.__module__ == module.__name__:
                names.append(attr)
        elif inspect.isfunction(value) and value.__module__ == module.__name__:
            names.append(attr)
    return sorted(names)[:20]


def _named(module: types.ModuleType, name: str, origin: str, source: Path | None) -> _Target:
    """The object NAME in ``module``: an instance, a no-argument class, or a factory."""
    if not name:
        raise ModelLoadError(f"empty NAME in model spec '{origin}:'")
    obj = _lookup(module, name, origin)
    if isinstance(obj, nn.Module):
        return _Target(name, origin, instance=obj, namespace=module, source_file=source)
    if callable(obj):
        missing = _required_params(obj)
        if missing:
            raise ModelLoadError(
                _constructor_hint(name, missing, origin, cls=isinstance(obj, type))
            )
        return _Target(name, origin, build=obj, namespace=module, source_file=source)
    raise ModelLoadError(
        f"{name} in {origin} is a {_type_name(obj)}, not an nn.Module, "
        "an nn.Module subclass or a function returning one"
    )


def _discover(module: types.ModuleType, origin: str, source: Path | None) -> _Target:
    """Auto-discovery for a spec without NAME: ``model``/``MODEL``, a factory, then the one
    top-level module instance or class the file defines."""
    ns = vars(module)
    for attr in _MODEL_ATTRS:
        if attr in ns and (isinstance(ns[attr], nn.Module) or callable(ns[attr])):
            return _named(module, attr, origin, source)
    for attr in _FACTORY_ATTRS:
        value = ns.get(attr)
        if callable(value) and getattr(value, "__module__", None) == module.__name__:
            return _named(module, attr, origin, source)

    # Candidates: public module-level instances, then classes defined in this file.
    candidates: dict[int, tuple[str, nn.Module]] = {}
    for attr, value in ns.items():
        if not attr.startswith("_") and isinstance(value, nn.Module):
            candidates.setdefault(id(value), (attr, value))
    instance_types = {type(v) for _, v in candidates.values()}
    built = list(candidates.values())
    failures: list[str] = []
    needs_args: list[tuple[str, list[str]]] = []
    for attr, value in ns.items():
        if (
            attr.startswith("_")
            or not _is_module_class(value)
            or value.__module__ != module.__name__
            or value in instance_types
            or inspect.isabstract(value)
        ):
            continue
        missing = _required_params(value)
        if missing:
            needs_args.append((attr, missing))
            continue
        try:
            with model_code("build", f"{attr} from {origin}"):
                probe = _build(value, _WITHOUT_WEIGHTS)
        except ModelCodeError:
            raise
        except Exception as exc:  # a class we cannot build is not a candidate
            if _is_download_error(exc):
                raise ModelLoadError(
                    _download_message(f"building {attr} in {origin}", exc)
                ) from exc
            failures.append(f"{attr} ({describe(exc)})")
            continue
        built.append((attr, probe))

    top = [
        (attr, mod)
        for attr, mod in built
        if not _is_inside_another(mod, [m for a, m in built if a != attr], module.__name__)
    ]
    # A training script's `criterion = nn.CrossEntropyLoss()` or `act = nn.ReLU()` is not the
    # model: when some top-level candidates have parameters, parameter-free ones drop out.
    with_params = [(attr, mod) for attr, mod in top if any(True for _ in mod.parameters())]
    names = [attr for attr, _ in (with_params or top)]
    if len(names) == 1:
        return _named(module, names[0], origin, source)
    if not names and needs_args and not failures:
        # Files define the parts before the model, so the last such class is the likely one.
        attr, missing = needs_args[-1]
        raise ModelLoadError(_constructor_hint(attr, missing, origin))
    if not names:
        hint = f"; could not build: {'; '.join(failures)}" if failures else ""
        raise ModelLoadError(
            f"no model found in {origin} (define `model`, or a single "
            f"nn.Module subclass, or use {origin}:NAME){hint}"
        )
    raise ModelLoadError(
        f"several models found in {origin}: {', '.join(names)}; pick one "
        f"with {origin}:NAME (e.g. {origin}:{names[0]})"
    )


def _constructor_hint(name: str, missing: Sequence[str], origin: str, cls: bool = True) -> str:
    args = ", ".join(f"{m}=..." for m in missing)
    what = "constructor arguments" if cls else "arguments"
    return (
        f"{name} in {origin} needs {what} ({', '.join(missing)}): add "
        f"`model = {name}({args})` to the model file, or a factory taking no arguments "
        f"(`def build_model(): return {name}(...)`)"
    )


def _is_inside_another(candidate: nn.Module, others: Sequence[nn.Module], file_module: str) -> bool:
    """True when ``candidate`` appears as a submodule of another candidate.

    Classes defined in the file match by type (a probe instance is never the same object as
    the submodules of another probe); library types such as ``nn.Sequential`` only by
    identity, or every ``Sequential`` would count as a part of every network.
    """
    by_type = type(candidate).__module__ == file_module
    for other in others:
        for sub in list(other.modules())[1:]:
            if sub is candidate or (by_type and type(sub) is type(candidate)):
                return True
    return False


def _resolve_torchvision(name: str) -> _Target:
    try:
        import torchvision.models as tvm  # optional dependency (the vision extra)
    except ImportError as exc:
        raise ModelLoadError(
            "torchvision is not installed: install it with `pip install convscope[vision]`"
        ) from exc
    known = tvm.list_models()
    key = name.lower()
    if key not in known:
        close = difflib.get_close_matches(key, known, n=3, cutoff=0.6)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise ModelLoadError(f"unknown torchvision model '{name}'{hint}")

    # Detection/segmentation builders fetch backbone weights unless told not to.
    extra: dict[str, Any] = {}
    with contextlib.suppress(TypeError, ValueError):
        if "weights_backbone" in inspect.signature(tvm.get_model_builder(key)).parameters:
            extra["weights_backbone"] = None

    def build() -> nn.Module:
        with warnings.catch_warnings():
            # GoogLeNet/Inception warn about a future change of their default init: noise
            # for an analysis that never looks at the weights' values.
            warnings.filterwarnings(
                "ignore", message=".*default weight initialization", category=FutureWarning
            )
            return tvm.get_model(key, weights=None, **extra)

    def natural(_: nn.Module) -> tuple[tuple[int, ...], ...]:
        return _torchvision_input(key)

    return _Target(f"torchvision:{key}", "torchvision", build=build, natural_inputs=natural)


def _torchvision_input(name: str) -> tuple[tuple[int, ...], ...]:
    """The input a torchvision model is made for: clips for video, image pairs for flow."""
    import torchvision.models as tvm  # optional dependency, present: the name resolved

    builder_module = tvm.get_model_builder(name).__module__
    if builder_module.startswith("torchvision.models.video"):
        crop: Sequence[int] = (112, 112)
        frames = 16
        with contextlib.suppress(Exception):
            weights = tvm.get_model_weights(name).DEFAULT
            crop = weights.transforms.keywords.get("crop_size", crop)
            frames = max(frames, int(weights.meta.get("min_temporal_size", frames)))
        return ((1, 3, frames, int(crop[0]), int(crop[-1])),)
    if builder_module.startswith("torchvision.models.optical_flow"):
        return (DEFAULT_INPUT_SHAPE, DEFAULT_INPUT_SHAPE)
    return (DEFAULT_INPUT_SHAPE,)


def _resolve_timm(name: str) -> _Target:
    try:
        import timm  # optional dependency (the timm extra)
    except ImportError as exc:
        raise ModelLoadError(
            "timm is not installed: install it with `pip install convscope[timm]`"
        ) from exc
    if not timm.is_model(name):
        close = difflib.get_close_matches(name, timm.list_models(), n=3, cutoff=0.6)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise ModelLoadError(f"unknown timm model '{name}'{hint}")

    def build() -> nn.Module:
        model: nn.Module = timm.create_model(name, pretrained=False)
        return model

    return _Target(f"timm:{name}", "timm", build=build, natural_inputs=_timm_input)


def _timm_input(module: nn.Module) -> tuple[tuple[int, ...], ...]:
    cfg = getattr(module, "pretrained_cfg", None) or getattr(module, "default_cfg", None)
    size = cfg.get("input_size") if isinstance(cfg, Mapping) else None
    if _is_shape(size):
        return ((1, *(int(d) for d in size)),)
    return (DEFAULT_INPUT_SHAPE,)


def _resolve_pt2(path: Path, trust_pickle: bool) -> _Target:
    """A saved ``torch.export`` program: its module is already built (real CPU weights).

    The archive is data: it is checked for pickled code before torch loads it (see
    :mod:`convscope.model.pt2`)."""
    if not path.is_file():
        raise ModelLoadError(f"model file not found: {path}")
    program = _load_program(path, pt2.read_archive(path, trust_pickle=trust_pickle))
    try:
        module = program.module()
    except Exception as exc:  # a program we cannot unlift is unusable
        raise ModelLoadError(f"could not load exported program {path}: {describe(exc)}") from exc
    return _Target(path.name, str(path), instance=module, example_inputs=_program_inputs(program))


def _load_program(path: Path, archive: Any) -> Any:
    # torch.export.load logs its own traceback (a warning on the ``torch.export`` logger)
    # before trying an older format, and the serializer logs one when it falls back to
    # unrestricted unpickling; the failure is reported once, as our one line, with the
    # first cause torch logged.
    with (
        _captured_log("torch.export") as logged,
        _captured_log("torch._export.serde.serialize"),
        _captured_log("torch.export.pt2_archive._package"),
    ):
        try:
            return torch.export.load(archive)
        except Exception as exc:  # any failure means "not a usable export"
            cause = f" ({logged[0]})" if logged else ""
            raise ModelLoadError(
                f"could not load exported program {path}: {describe(exc)}{cause}"
            ) from exc


@contextlib.contextmanager
def _captured_log(name: str) -> Iterator[list[str]]:
    """Keep a library logger's records out of stderr; yield their one-line causes."""
    import logging

    logger = logging.getLogger(name)
    causes: list[str] = []

    def swallow(record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is not None:  # its first sentence: torch appends paragraphs of advice
            causes.append(describe(exc).split(". ", 1)[0][:160])
        return False

    logger.addFilter(swallow)
    try:
        yield causes
    finally:
        logger.removeFilter(swallow)


def _program_inputs(program: Any) -> tuple[torch.Tensor, ...] | None:
    example = getattr(program, "example_inputs", None)
    if not example:
        return None
    args = example[0] if isinstance(example, tuple) and len(example) == 2 else example
    if args and all(isinstance(a, torch.Tensor) for a in args):
        return tuple(args)
    return None


# --------------------------------------------------------------------------- construction


# Ways to run a constructor, cheapest first (see _build).
_WITHOUT_WEIGHTS = ("meta", "registration")
_ANY_WAY = ("meta", "registration", "cpu")
_REAL = ("cpu",)


def _build(build: Callable[[], Any], modes: Sequence[str]) -> Any:
    """Call ``build`` in the first mode that works; re-raise the last mode's error.

    - ``meta``: under ``torch.device("meta")`` every tensor, even config math, is meta.
    - ``registration``: constructors that compute on tensors (RegNet's ``.tolist()`` of
      widths) fail on meta, so run on CPU and move each parameter/buffer to meta as it is
      registered; only one uninitialized (never touched) ``torch.empty`` exists at a time.
    - ``cpu``: a real model, the last resort.
    """
    error: Exception | None = None
    for mode in modes:
        hooks = _meta_registration() if mode == "registration" else contextlib.nullcontext()
        try:
            with torch.device("meta" if mode == "meta" else "cpu"), hooks, _user_code():
                return build()
        except Exception as exc:  # user code; the caller reports it as one line
            if _is_download_error(exc):
                raise  # another mode would only try (and print "Downloading...") again
            error = exc
    assert error is not None
    raise error


def _construct(target: _Target, modes: Sequence[str]) -> nn.Module:
    """Build the target and check it is a module; failures become one-line errors."""
    assert target.build is not None
    try:
        with model_code("build", f"{target.name} from {target.origin}"):
            result = _build(target.build, modes)
    except ModelCodeError:
        raise
    except Exception as exc:
        if _is_download_error(exc):
            raise ModelLoadError(
                _download_message(f"building {target.name} from {target.origin}", exc)
            ) from exc
        raise ModelLoadError(
            f"building {target.name} from {target.origin} failed: {describe(exc)}"
        ) from exc
    if not isinstance(result, nn.Module):
        raise ModelLoadError(
            f"{target.name} from {target.origin} returned a "
            f"{_type_name(result)}, not a torch.nn.Module"
        )
    return result


@contextlib.contextmanager
def _meta_registration() -> Iterator[None]:
    """While active, parameters and buffers move to meta the moment a module registers them."""

    def on_param(_: nn.Module, __: str, param: nn.Parameter | None) -> nn.Parameter | None:
        if param is None or param.is_meta:
            return None
        return nn.Parameter(param.to("meta"), requires_grad=param.requires_grad)

    def on_buffer(_: nn.Module, __: str, buffer: torch.Tensor | None) -> torch.Tensor | None:
        if buffer is None or buffer.is_meta:
            return None
        return buffer.to("meta")

    # torch annotates the hooks as returning None, but documents the replacement return.
    param_hook: Callable[..., Any] = on_param
    buffer_hook: Callable[..., Any] = on_buffer
    handles = [
        module_mod.register_module_parameter_registration_hook(param_hook),
        module_mod.register_module_buffer_registration_hook(buffer_hook),
    ]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


def _check_device(device: str) -> None:
    try:
        torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise InputError(f"unknown device '{device}' (use meta, cpu or cuda)") from None


# --------------------------------------------------------------------------- checkpoints


def load_state_dict(path: str | Path, *, trust_pickle: bool = False) -> dict[str, torch.Tensor]:
    """Read a checkpoint into a plain state dict on CPU.

    Uses ``weights_only`` unpickling unless ``trust_pickle``: a checkpoint is untrusted input
    and full unpickling runs arbitrary code. Accepts a raw state dict, one wrapped under
    ``state_dict``/``model``, or (trusted only) a pickled module; strips DataParallel's
    ``module.`` prefix.
    """
    ckpt = Path(path).expanduser()
    if not ckpt.is_file():
        raise ModelLoadError(f"checkpoint not found: {ckpt}")
    if ckpt.suffix == ".safetensors":
        raw: Any = _load_safetensors(ckpt)
    else:
        raw = _torch_load(ckpt, trust_pickle)
    state = _unwrap_state_dict(raw, ckpt)
    return _strip_prefixes(state)


def _torch_load(ckpt: Path, trust_pickle: bool) -> Any:
    try:
        return torch.load(ckpt, map_location="cpu", weights_only=not trust_pickle)
    except Exception as exc:  # a corrupt pickle can raise nearly anything (even KeyError)
        message = str(exc)
        if not trust_pickle and "weights only load failed" in message.lower():
            raise ModelLoadError(
                f"checkpoint {ckpt} holds Python objects that safe (weights_only) loading "
                "refuses; pass --trust-pickle only if you trust where the file came from"
            ) from exc
        raise ModelLoadError(
            f"could not read checkpoint {ckpt}: not a PyTorch checkpoint ({describe(exc)})"
        ) from exc


def _load_safetensors(ckpt: Path) -> dict[str, torch.Tensor]:
    try:
        from safetensors.torch import load_file  # optional dependency
    except ImportError as exc:
        raise ModelLoadError(
            f"reading {ckpt} needs the safetensors package (`pip install safetensors`)"
        ) from exc
    try:
        return dict(load_file(str(ckpt), device="cpu"))
    except Exception as exc:  # any failure means "not a readable file"
        raise ModelLoadError(f"could not read checkpoint {ckpt}: {describe(exc)}") from exc


def _is_tensor_dict(value: Any) -> TypeGuard[Mapping[str, torch.Tensor]]:
    return (
        isinstance(value, Mapping)
        and len(value) > 0
        and all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in value.items())
    )


def _unwrap_state_dict(raw: Any, ckpt: Path) -> dict[str, torch.Tensor]:
    if isinstance(raw, nn.Module):
        return dict(raw.state_dict())
    if _is_tensor_dict(raw):
        return dict(raw)
    if isinstance(raw, Mapping):
        for key in _CHECKPOINT_KEYS:
            inner = raw.get(key)
            if isinstance(inner, nn.Module):
                return dict(inner.state_dict())
            if _is_tensor_dict(inner):
                return dict(inner)
    raise ModelLoadError(
        f"checkpoint {ckpt} holds a {_type_name(raw)}, not a state dict (expected a dict of "
        f"tensors, or one under {' / '.join(repr(k) for k in _CHECKPOINT_KEYS[:2])})"
    )


def _strip_prefixes(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Remove a prefix every key shares (``module.`` from DataParallel, torch.compile's)."""
    changed = True
    while changed:
        changed = False
        for prefix in _WRAPPER_PREFIXES:
            if state and all(k.startswith(prefix) for k in state):
                state = {k[len(prefix) :]: v for k, v in state.items()}
                changed = True
    return state


def _first(names: Sequence[str], n: int = 3) -> str:
    return ", ".join(names[:n])


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 'es' if word.endswith('h') else 's'}"


def _apply_state_dict(
    module: nn.Module, state: Mapping[str, torch.Tensor], ckpt: Path, model_name: str
) -> None:
    """Strict load with a one-line summary of every kind of mismatch."""
    own = module.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    shapes = [
        f"{k} ckpt {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
        for k in own
        if k in state and tuple(state[k].shape) != tuple(own[k].shape)
    ]
    problems = []
    if missing:
        problems.append(f"{_plural(len(missing), 'missing key')} (first: {_first(missing)})")
    if unexpected:
        problems.append(
            f"{_plural(len(unexpected), 'unexpected key')} (first: {_first(unexpected)})"
        )
    if shapes:
        problems.append(f"{_plural(len(shapes), 'shape mismatch')} (first: {shapes[0]})")
    if problems:
        raise ModelLoadError(
            f"checkpoint {ckpt} does not match {model_name}: " + ", ".join(problems)
        )
    meta = any(t.is_meta for t in _tensors(module))
    try:
        module.load_state_dict(state, strict=True, assign=meta)
    except Exception as exc:  # e.g. dtype casts a module refuses
        raise ModelLoadError(
            f"loading checkpoint {ckpt} into {model_name} failed: {describe(exc)}"
        ) from exc


# --------------------------------------------------------------------------- inputs


def _file_inputs(target: _Target) -> tuple[tuple[torch.Tensor, ...], str] | None:
    """Inputs the model file declares: ``example_inputs()`` first, then ``INPUT_SHAPE``."""
    ns = vars(target.namespace) if target.namespace is not None else {}
    where = f"in {target.origin}"
    if "example_inputs" in ns:
        provider = ns["example_inputs"]
        try:
            with model_code("example_inputs()", target.origin):
                value = provider() if callable(provider) else provider
        except ModelCodeError:
            raise
        except Exception as exc:  # user code; reported as one line
            raise InputError(f"example_inputs() {where} failed: {describe(exc)}") from exc
        return _as_tensors(value, where), "example_inputs"
    if "INPUT_SHAPE" in ns:
        declared = ns["INPUT_SHAPE"]
        shapes: Sequence[Any] = (declared,) if _is_shape(declared) else declared
        if not isinstance(shapes, (tuple, list)) or not all(_is_shape(s) for s in shapes):
            raise InputError(
                f"INPUT_SHAPE {where} must be a tuple of positive ints or a list "
                f"of such tuples, got {declared!r}"
            )
        return _meta_inputs(_validate_shapes(shapes, where)), "INPUT_SHAPE"
    return None


def _as_tensors(value: Any, where: str) -> tuple[torch.Tensor, ...]:
    items = (value,) if isinstance(value, torch.Tensor) else value
    if (
        not isinstance(items, (tuple, list))
        or not items
        or not all(isinstance(t, torch.Tensor) for t in items)
    ):
        raise InputError(
            f"example_inputs() {where} must return a tensor or a tuple of "
            f"tensors, got {_type_name(value)}"
        )
    return tuple(items)


def _choose_inputs(
    target: _Target, module: nn.Module, input_shapes: Sequence[tuple[int, ...]] | None
) -> tuple[tuple[torch.Tensor, ...], str]:
    if input_shapes:
        return _meta_inputs(_validate_shapes(input_shapes, "from the command line")), "cli"
    declared = _file_inputs(target)
    if declared is not None:
        return declared
    if target.example_inputs is not None:
        return target.example_inputs, "example_inputs"
    if target.natural_inputs is not None:
        return _meta_inputs(target.natural_inputs(module)), "default"
    return _meta_inputs((DEFAULT_INPUT_SHAPE,)), "default"


def _check_input_count(module: nn.Module, inputs: Sequence[torch.Tensor], source: str) -> None:
    """Fail before tracing when ``forward`` needs more inputs than were given, saying how
    to give them; a traced ``missing 1 required positional argument`` says neither."""
    try:
        params = inspect.signature(module.forward).parameters.values()
    except (TypeError, ValueError):
        return
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    needed = [p.name for p in params if p.kind in positional and p.default is p.empty]
    if len(needed) <= len(inputs):
        return
    where = {"cli": "from -i", "default": "the default shape"}.get(source, source)
    shown = " ".join(f"-i {','.join(map(str, t.shape))}" for t in inputs)
    more = " -i SHAPE" * (len(needed) - len(inputs))
    raise InputError(
        f"{type(module).__name__}.forward takes {len(needed)} inputs ({', '.join(needed)}) "
        f"but got {len(inputs)} ({where}): repeat -i once per input, in forward's order "
        f"({shown}{more}), or define example_inputs() in the model file"
    )


# --------------------------------------------------------------------------- entry point


def load_model(
    spec: str,
    *,
    input_shapes: Sequence[tuple[int, ...]] | None = None,
    weights: str | Path | None = None,
    trust_pickle: bool = False,
    device: str = "meta",
    seed: int | None = None,
) -> LoadedModel:
    """Turn a MODEL spec into a module and example inputs.

    Without ``weights`` and with ``device="meta"`` the model is built on the meta device
    (nothing allocated). Any other device, or weights, builds a real model on CPU — moving
    it to an accelerator is the caller's job (profiling moves its own copy). Raises
    :class:`ModelLoadError` / :class:`InputError` with a one-line message.

    ``seed``: the model file's import, its build and every ``rebuild()`` run with torch's
    RNG seeded so (random weights are the same each time), the caller's RNG left as it was.
    """
    with seeded(seed):
        return _load(spec, input_shapes, weights, trust_pickle, device, seed)


def _load(
    spec: str,
    input_shapes: Sequence[tuple[int, ...]] | None,
    weights: str | Path | None,
    trust_pickle: bool,
    device: str,
    seed: int | None,
) -> LoadedModel:
    _check_device(device)
    if input_shapes:
        _validate_shapes(input_shapes, "from the command line")
    target = _resolve(spec, trust_pickle)
    ckpt = Path(weights).expanduser() if weights is not None else None

    def apply_weights(
        module: nn.Module, state: Mapping[str, torch.Tensor] | None = None
    ) -> nn.Module:
        # rebuild() re-reads the checkpoint rather than keeping a second copy of the weights
        # alive for the lifetime of the LoadedModel.
        if ckpt is not None:
            if state is None:
                state = load_state_dict(ckpt, trust_pickle=trust_pickle)
            _apply_state_dict(module, state, ckpt, spec)
        return module

    instance = target.instance
    if instance is not None:
        # Weights go into a copy: the user's (possibly shared) instance is never modified.
        copy_seed = 0 if seed is None else seed
        if ckpt is not None:
            module = apply_weights(materialize(instance, seed=copy_seed).module)
        else:
            module = instance

        def rebuild() -> nn.Module:
            return apply_weights(materialize(instance, seed=copy_seed).module)
    else:
        if ckpt is None and device == "meta":
            module = _construct(target, _ANY_WAY)
        else:
            # Read the checkpoint first: a bad file should fail before a slow build.
            state = load_state_dict(ckpt, trust_pickle=trust_pickle) if ckpt else None
            module = apply_weights(_construct(target, _REAL), state)
            del state

        def rebuild() -> nn.Module:
            with seeded(seed):
                return apply_weights(_construct(target, _REAL))

    check_module_tree(module, spec)  # before anything walks the tree recursively
    inputs, source = _choose_inputs(target, module, input_shapes)
    _check_input_count(module, inputs, source)
    return LoadedModel(
        module=module,
        inputs=inputs,
        spec=spec,
        source_file=target.source_file,
        on_meta=_all_meta(module),
        rebuild=rebuild,
        input_source=source,
    )
