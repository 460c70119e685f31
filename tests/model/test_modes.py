"""convscope.model.modes: eval mode without Module.eval(), which exported modules refuse."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from convscope.model.modes import eval_mode, kept_attributes, set_eval


def _exported() -> nn.Module:
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Dropout(0.5))
    net.eval()
    return torch.export.export(net, (torch.randn(1, 3, 8, 8),)).module()


def test_exported_modules_refuse_eval_but_eval_mode_works() -> None:
    mod = _exported()
    with pytest.raises(NotImplementedError):
        mod.eval()
    before = {name: m.training for name, m in mod.named_modules()}
    with eval_mode(mod):
        assert not any(m.training for m in mod.modules())
    assert {name: m.training for name, m in mod.named_modules()} == before


def test_flags_are_restored_per_module_even_on_error() -> None:
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Dropout(0.5))
    net[1].eval()  # a mixed state must come back exactly
    with pytest.raises(RuntimeError, match="boom"), eval_mode(net):
        assert not net.training and not net[0].training
        raise RuntimeError("boom")
    assert net.training and net[0].training and not net[1].training


def test_set_eval_returns_the_module() -> None:
    net = nn.Sequential(nn.Dropout(0.5))
    assert set_eval(net) is net and not net[0].training


def test_kept_attributes_undoes_what_a_forward_assigns() -> None:
    inner = nn.Linear(2, 2)
    model = nn.Sequential(inner)
    inner.cache = "before"  # type: ignore[assignment]
    weight = inner.weight
    with pytest.raises(RuntimeError), kept_attributes(model):
        inner.cache = torch.empty(1, device="meta")  # type: ignore[assignment]
        inner.added = 1  # type: ignore[assignment]
        model.add_module("extra", nn.ReLU())  # module bookkeeping is not an attribute
        raise RuntimeError("forward failed")
    assert inner.cache == "before" and not hasattr(inner, "added")
    assert inner.weight is weight and hasattr(model, "extra")
