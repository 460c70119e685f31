"""``.pt2`` archives are data: no pickle in them runs unless ``trust_pickle``."""

from __future__ import annotations

import importlib.util
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from convscope.errors import ModelLoadError
from convscope.model.load import LoadedModel, load_model

_FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "pt2_archives.py"


def _archives() -> Any:
    # the payload's class must stay importable by name for the trusted (unpickling) case
    if "pt2_archives" not in sys.modules:
        spec = importlib.util.spec_from_file_location("pt2_archives", _FIXTURE)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["pt2_archives"] = module
        spec.loader.exec_module(module)
    return sys.modules["pt2_archives"]


ARCHIVES = _archives()


def test_a_plain_export_loads_without_trust(tmp_path: Path) -> None:
    path = ARCHIVES.good(tmp_path / "good.pt2")
    loaded = load_model(str(path))
    assert loaded.inputs.args[0].shape == (1, 3, 8, 8)  # the archive's own sample inputs


@pytest.mark.parametrize("kind", ARCHIVES.KINDS)
def test_code_in_an_archive_is_refused_and_never_runs(kind: str, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    path = ARCHIVES.malicious(tmp_path / f"{kind}.pt2", kind, marker)
    before = path.read_bytes()
    with pytest.raises(ModelLoadError) as info:
        load_model(str(path))
    message = str(info.value)
    assert "--trust-pickle" in message and str(path) in message
    assert "\n" not in message
    assert not marker.exists(), "the archive's payload ran"
    assert path.read_bytes() == before


def test_trust_pickle_lets_torch_unpickle(tmp_path: Path) -> None:
    """With the opt-in torch's own loader runs (and so does the payload)."""
    marker = tmp_path / "ran"
    path = ARCHIVES.malicious(tmp_path / "constants.pt2", "constants", marker)
    with pytest.raises(ModelLoadError):  # torch rejects the payload's value after running it
        load_model(str(path), trust_pickle=True)
    assert marker.exists()


def test_trusted_fallback_logs_nothing(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    """torch logs a (broken, 79-line) traceback when it falls back to unsafe unpickling of
    the sample inputs; the load reports one error and prints nothing itself."""
    path = ARCHIVES.malicious(tmp_path / "s.pt2", "sample_inputs", tmp_path / "ran")
    with pytest.raises(ModelLoadError, match="could not load exported program"):
        load_model(str(path), trust_pickle=True)  # the payload's value is no tuple of inputs
    captured = capfd.readouterr()
    assert captured.err == "" and captured.out == ""


def test_raw_tensor_bytes_that_look_like_a_pickle_are_not_refused(tmp_path: Path) -> None:
    """Weights stored raw (``use_pickle: false``) may start with the pickle opcode 0x80."""
    import struct

    import torch

    model = ARCHIVES.Small().eval()
    with torch.no_grad():
        model.conv.bias.fill_(struct.unpack("<f", b"\x80\x00\x80\x3f")[0])
    path = tmp_path / "raw.pt2"
    torch.export.save(torch.export.export(model, (torch.randn(1, 3, 8, 8),)), path)
    with zipfile.ZipFile(path) as archive:
        assert any(archive.read(n)[:1] == b"\x80" for n in archive.namelist())
    assert load_model(str(path)).module is not None


def test_the_legacy_layout_pickles_are_checked_too(tmp_path: Path) -> None:
    """torch.export.load falls back to the pre-2.8 layout, which unpickles top-level
    ``serialized_*.pt`` members."""
    import io

    import torch

    buffer = io.BytesIO()
    torch.save((ARCHIVES.Payload(tmp_path / "ran"),), buffer)
    path = tmp_path / "old.pt2"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("version", "8.0")
        archive.writestr("serialized_exported_program.json", "{}")
        archive.writestr("serialized_example_inputs.pt", buffer.getvalue())
    with pytest.raises(ModelLoadError, match=r"serialized_example_inputs\.pt.*--trust-pickle"):
        load_model(str(path))
    assert not (tmp_path / "ran").exists()


def shapes(loaded: LoadedModel) -> list[tuple[int, ...]]:
    return [tuple(t.shape) for t in loaded.inputs.args]


def test_exported_program(tmp_path: Path) -> None:
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU()).eval()
    example = (torch.randn(1, 3, 12, 12),)
    path = tmp_path / "tiny.pt2"
    torch.export.save(torch.export.export(model, example), path)
    loaded = load_model(str(path))
    assert loaded.input_source == "example_inputs"
    assert shapes(loaded) == [(1, 3, 12, 12)]
    assert not loaded.on_meta
    torch.testing.assert_close(loaded.module(*example), model(*example))
    assert shapes(load_model(str(path), input_shapes=[(1, 3, 20, 20)])) == [(1, 3, 20, 20)]
    with pytest.raises(ModelLoadError, match=r"model file not found"):
        load_model(str(tmp_path / "other.pt2"))


def test_corrupt_exported_program(tmp_path: Path) -> None:
    path = tmp_path / "broken.pt2"
    path.write_bytes(b"not a zip archive")
    with pytest.raises(ModelLoadError, match=r"could not load exported program"):
        load_model(str(path))


def test_garbage_export_is_one_error_and_torch_logs_nothing(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    garbage = tmp_path / "junk.pt2"
    garbage.write_bytes(b"not a zip archive at all")
    with pytest.raises(ModelLoadError, match=r"exported program .*junk\.pt2"):
        load_model(str(garbage))
    captured = capfd.readouterr()
    assert "Traceback" not in captured.err and "deserializing" not in captured.err
