"""One resolution path for ``--target``: names, ``.yaml`` paths and resolved profiles."""

from __future__ import annotations

from pathlib import Path

import pytest

from convscope.linting.profiles import resolve_target
from convscope.targets.profiles import Profile, roofline_params
from convscope.validate import ConfigError

MACHINE = """\
description: measured box
device: cpu
roofline:
  peak-flops: 1.0e+11
  bandwidth: 2.0e+10
  source: a test
"""


def test_a_yaml_file_resolves_by_path_and_keeps_its_figures(tmp_path: Path) -> None:
    path = tmp_path / "machine_t1.yaml"
    path.write_text(MACHINE)
    prof = resolve_target(str(path))
    assert prof.name == "machine_t1" and prof.path == path and prof.device == "cpu"
    params = roofline_params(prof)
    assert params is not None
    assert (params.peak_flops, params.bandwidth, params.device) == (1e11, 2e10, "cpu")
    assert params.name == "machine_t1" and params.source == "a test"
    # a resolved profile passes through: callers never re-resolve by name
    assert resolve_target(prof) is prof
    # the bare stem of a file is not a shipped target
    with pytest.raises(ConfigError, match="unknown target 'machine_t1'"):
        resolve_target("machine_t1")


def test_shipped_targets_and_the_default() -> None:
    assert resolve_target(None).name == "generic"
    assert roofline_params(resolve_target("generic")) is None  # no hardware, no roof
    gpu = roofline_params(resolve_target("gpu-fp16"))
    assert gpu is not None and gpu.device == "cuda"


def test_device_must_be_a_known_kind(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(MACHINE.replace("device: cpu", "device: tpu"))
    with pytest.raises(ConfigError, match=r"device.*expected one of cpu, cuda"):
        resolve_target(str(path))


def test_profile_type_is_exported() -> None:
    assert isinstance(resolve_target("edge-int8"), Profile)
