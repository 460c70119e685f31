"""Importing the Python code a MODEL spec names: a model file (as a fresh module, able to
import its siblings) or an installed module; failures name the file and the line.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import sys
import traceback
import types
import uuid
from collections.abc import Iterator
from pathlib import Path

from convscope.errors import ModelLoadError, describe
from convscope.model.guard import ModelCodeError, model_code
from convscope.model.usercode import download_message, is_download_error, user_code

__all__ = ["import_file", "import_module_path", "module_file"]


@contextlib.contextmanager
def _sys_path_entry(directory: str) -> Iterator[None]:
    """Let a model file import its siblings, without leaving sys.path changed."""
    sys.path.insert(0, directory)
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(directory)


def import_file(path: Path) -> types.ModuleType:
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
            user_code(),
            model_code("import", str(path)),
        ):
            spec.loader.exec_module(module)
    except ModelCodeError:
        sys.modules.pop(name, None)
        raise
    except Exception as exc:
        sys.modules.pop(name, None)
        if isinstance(exc, Exception) and is_download_error(exc):
            raise ModelLoadError(download_message(f"importing {path}", exc)) from exc
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


def import_module_path(modpath: str) -> types.ModuleType:
    try:
        with user_code(), model_code("import", modpath):
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


def module_file(module: types.ModuleType) -> Path | None:
    file = getattr(module, "__file__", None)
    return Path(file) if file else None
