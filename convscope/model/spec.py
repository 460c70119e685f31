"""MODEL spec text → :class:`Target`: which form the spec takes (``model.py[:NAME]``,
``pkg.module[:NAME]``, ``torchvision:NAME``, ``timm:NAME``, ``program.pt2``), and a
one-line error naming the forms when it takes none of them.
"""

from __future__ import annotations

import difflib
import keyword
from pathlib import Path

from convscope.errors import ModelLoadError
from convscope.model import pt2
from convscope.model.discovery import discover, named
from convscope.model.importing import import_file, import_module_path, module_file
from convscope.model.target import Target
from convscope.model.zoo import resolve_timm, resolve_torchvision

__all__ = ["resolve"]


def resolve(spec: str, trust_pickle: bool = False) -> Target:
    """Parse the spec and find what it names, without building the model."""
    text = spec.strip()
    if not text:
        raise ModelLoadError("empty model spec")
    if text.endswith(".pt2"):
        return _resolve_pt2(Path(text).expanduser(), trust_pickle)
    if text.endswith(".py"):
        path = _existing_file(text)
        module = import_file(path)
        return discover(module, str(path), path)
    left, sep, right = text.rpartition(":")
    if sep and left == "torchvision":
        return resolve_torchvision(right)
    if sep and left == "timm":
        return resolve_timm(right)
    if sep and left.endswith(".py"):
        path = _existing_file(left)
        module = import_file(path)
        return named(module, right, str(path), path)
    if sep and _is_dotted_name(left):
        try:
            module = import_module_path(left)
        except ModelLoadError as exc:
            cause = exc.__cause__
            if isinstance(cause, ModuleNotFoundError) and cause.name == left:
                raise ModelLoadError(_unknown_prefix(left, right)) from cause
            raise
        return named(module, right, left, module_file(module))
    if not sep and _is_dotted_name(text) and not Path(text).exists():
        try:
            module = import_module_path(text)
        except ModelLoadError as exc:
            raise ModelLoadError(
                f"{exc} (MODEL is a .py or .pt2 file, pkg.module:NAME, "
                "torchvision:NAME or timm:NAME)"
            ) from exc.__cause__
        return discover(module, text, module_file(module))
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


def _resolve_pt2(path: Path, trust_pickle: bool) -> Target:
    """A saved ``torch.export`` program: its module is already built (real CPU weights)."""
    if not path.is_file():
        raise ModelLoadError(f"model file not found: {path}")
    module, example_inputs = pt2.load_program(path, trust_pickle=trust_pickle)
    return Target(path.name, str(path), instance=module, example_inputs=example_inputs)
