"""The TensorBoard profile directory is readable by torch-tb-profiler (the ``tensorboard``
extra, part of ``dev``), the plugin users open with ``tensorboard --logdir DIR/tb``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from torch import nn

from convscope.profiling.run import profile

tb_data = pytest.importorskip("torch_tb_profiler.profiler.data")
tb_consts = pytest.importorskip("torch_tb_profiler.consts")


def test_tb_profiler_parses_the_run_and_sees_the_convolutions(tmp_path: Path) -> None:
    net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 4, 1))
    result = profile(
        net, (1, 3, 32, 32), min_time=0.0, max_iters=3, trace_dir=str(tmp_path / "prof")
    )
    assert result.trace is not None
    files = sorted((tmp_path / "prof" / "tb").iterdir())
    assert len(files) == 1
    match = tb_consts.WORKER_PATTERN.match(files[0].name)
    assert match is not None, files[0].name  # the file name the plugin looks for
    run = tb_data.RunProfileData.parse(
        match.group(1), None, os.fspath(files[0]), os.fspath(tmp_path / "cache")
    )
    names = {op.name for op in run.op_list_groupby_name}
    assert "aten::conv2d" in names, sorted(names)
