"""Importing model files: a fresh module per load, import failures named by file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from convscope.errors import ModelLoadError
from convscope.model.load import load_model

MODELS = Path(__file__).resolve().parents[1] / "fixtures" / "models"


def spec(name: str, attr: str | None = None) -> str:
    path = str(MODELS / name)
    return f"{path}:{attr}" if attr else path


def test_each_load_imports_a_fresh_module() -> None:
    first = load_model(spec("single_class.py")).module
    second = load_model(spec("single_class.py")).module
    assert type(first) is not type(second)
    assert type(first).__module__ != type(second).__module__


def test_syntax_error_is_one_line_with_line_number(tmp_path: Path) -> None:
    bad = tmp_path / "broken.py"
    bad.write_text("import torch\n\ndef f(:\n    pass\n")
    with pytest.raises(ModelLoadError) as info:
        load_model(str(bad))
    message = str(info.value)
    assert message.startswith(f"could not import {bad}: SyntaxError: ")
    assert "(line 3)" in message and "\n" not in message


def test_exception_at_import_names_file_and_line() -> None:
    with pytest.raises(ModelLoadError) as info:
        load_model(spec("import_error.py"))
    message = str(info.value)
    assert "could not import" in message and "ModuleNotFoundError" in message
    assert "convscope_no_such_dependency" in message and "(line 3)" in message
