"""Which object in an imported module is the model: ``NAME`` when the spec gives one, else
``model``/``MODEL``, a factory, or the one top-level network the file defines.
"""

from __future__ import annotations

import inspect
import types
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from torch import nn

from convscope.errors import ModelLoadError, describe
from convscope.model.building import WITHOUT_WEIGHTS, run_build
from convscope.model.guard import ModelCodeError, model_code
from convscope.model.target import Target
from convscope.model.usercode import download_message, is_download_error, type_name

__all__ = ["discover", "named"]


# Attributes that name the model outright, in the order they are looked up.
_MODEL_ATTRS = ("model", "MODEL")
_FACTORY_ATTRS = ("build_model", "create_model", "get_model")


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


def named(module: types.ModuleType, name: str, origin: str, source: Path | None) -> Target:
    """The object NAME in ``module``: an instance, a no-argument class, or a factory."""
    if not name:
        raise ModelLoadError(f"empty NAME in model spec '{origin}:'")
    obj = _lookup(module, name, origin)
    if isinstance(obj, nn.Module):
        return Target(name, origin, instance=obj, namespace=module, source_file=source)
    if callable(obj):
        missing = _required_params(obj)
        if missing:
            raise ModelLoadError(
                _constructor_hint(name, missing, origin, cls=isinstance(obj, type))
            )
        return Target(name, origin, build=obj, namespace=module, source_file=source)
    raise ModelLoadError(
        f"{name} in {origin} is a {type_name(obj)}, not an nn.Module, "
        "an nn.Module subclass or a function returning one"
    )


def discover(module: types.ModuleType, origin: str, source: Path | None) -> Target:
    """Auto-discovery for a spec without NAME: ``model``/``MODEL``, a factory, then the one
    top-level module instance or class the file defines."""
    ns = vars(module)
    for attr in _MODEL_ATTRS:
        if attr in ns and (isinstance(ns[attr], nn.Module) or callable(ns[attr])):
            return named(module, attr, origin, source)
    for attr in _FACTORY_ATTRS:
        value = ns.get(attr)
        if callable(value) and getattr(value, "__module__", None) == module.__name__:
            return named(module, attr, origin, source)

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
                probe = run_build(value, WITHOUT_WEIGHTS)
        except ModelCodeError:
            raise
        except Exception as exc:  # a class we cannot build is not a candidate
            if is_download_error(exc):
                raise ModelLoadError(download_message(f"building {attr} in {origin}", exc)) from exc
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
        return named(module, names[0], origin, source)
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
