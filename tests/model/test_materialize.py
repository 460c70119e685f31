"""The one meta→real materializer: copies, never touches the original, seeds, keeps state."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from convscope.model.materialize import has_meta, materialize, materialize_lazy, real_inputs
from convscope.model.state import global_state


class _Scaled(nn.Module):
    """A parameter no ``reset_parameters`` knows about (a layer-scale gamma)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.bn = nn.BatchNorm2d(4)
        self.gamma = nn.Parameter(torch.ones(4, 1, 1))
        self.register_buffer("steps", torch.zeros((), dtype=torch.long))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.conv(x)) * self.gamma


def test_meta_copy_is_real_finite_and_the_original_stays_on_meta() -> None:
    model = _Scaled().to("meta")
    copied = materialize(model)
    assert copied.random and not has_meta(copied.module)
    assert has_meta(model) and all(p.is_meta for p in model.parameters())
    m = copied.module
    assert all(torch.isfinite(t).all() for t in (*m.parameters(), *m.buffers()))
    # torch's own init where a module has one: BatchNorm variance 1, weight 1, mean 0.
    assert torch.equal(m.bn.running_var, torch.ones(4))
    assert torch.equal(m.bn.weight, torch.ones(4))
    assert torch.equal(m.bn.running_mean, torch.zeros(4))
    # N(0, 0.02) where nothing resets it: small, non-zero, not the constructor's ones.
    assert 0 < m.gamma.abs().max() < 0.2


def test_same_seed_same_weights_other_seed_other_weights() -> None:
    model = _Scaled().to("meta")
    a, b = materialize(model, seed=3).module, materialize(model, seed=3).module
    c = materialize(model, seed=4).module
    assert all(
        torch.equal(x, y)
        for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True)
    )
    assert not torch.equal(a.conv.weight, c.conv.weight)
    assert not torch.equal(a.gamma, c.gamma)


def test_real_model_keeps_its_values_in_a_copy() -> None:
    model = _Scaled()
    copied = materialize(model)
    assert not copied.random and copied.module is not model
    assert torch.equal(copied.module.conv.weight, model.conv.weight)
    copied.module.conv.weight.data.zero_()
    assert model.conv.weight.abs().sum() > 0


def test_global_rng_is_left_alone() -> None:
    model = _Scaled().to("meta")  # building it draws from the global RNG; materializing must not
    before = global_state()
    materialize(model, seed=1)
    real_inputs([torch.empty(2, 3, device="meta")], seed=1)
    assert before.same(global_state()) == []


def test_real_inputs_seeded_nested_and_typed() -> None:
    meta = [
        torch.empty(1, 3, 4, 4, device="meta"),
        {"ids": torch.empty(5, dtype=torch.long, device="meta")},
        7,
    ]
    x1, d1, n1 = real_inputs(meta, seed=0)
    x2, _, _ = real_inputs(meta, seed=0)
    assert torch.equal(x1, x2) and x1.shape == (1, 3, 4, 4) and x1.std() > 0.1
    assert d1["ids"].dtype == torch.long and torch.equal(
        d1["ids"], torch.zeros(5, dtype=torch.long)
    )
    assert n1 == 7
    real = torch.ones(2)
    assert real_inputs([real])[0] is real


def test_lazy_modules_are_shaped_on_a_copy_by_one_forward() -> None:
    from torch.nn.parameter import is_lazy

    model = nn.Sequential(nn.LazyConv2d(4, 3), nn.LazyBatchNorm2d())
    before = global_state()
    copy = materialize_lazy(model, [torch.empty(1, 3, 8, 8, device="meta")])
    assert before.same(global_state()) == []
    assert is_lazy(model[0].weight)  # the user's model is still lazy
    assert copy is not model and copy[0].weight.shape == (4, 3, 3, 3)
    assert copy[1].running_var.shape == (4,)
    plain = nn.Conv2d(3, 4, 3)
    assert materialize_lazy(plain, [torch.empty(1, 3, 8, 8)]) is plain


def test_load_model_seed_makes_random_weights_reproducible_and_keeps_the_callers_rng(
    tmp_path: Path,
) -> None:
    from convscope.model.load import load_model

    path = tmp_path / "net.py"
    path.write_text(
        "from torch import nn\n\n\nclass Net(nn.Sequential):\n"
        "    def __init__(self):\n        super().__init__(nn.Conv2d(3, 4, 3))\n\n\n"
        "INPUT_SHAPE = (1, 3, 8, 8)\n"
    )
    before = global_state()
    a = load_model(str(path), device="cpu", seed=5)
    assert before.same(global_state()) == []
    b = load_model(str(path), device="cpu", seed=5)
    c = load_model(str(path), device="cpu", seed=6)
    assert torch.equal(a.module[0].weight, b.module[0].weight)
    assert not torch.equal(a.module[0].weight, c.module[0].weight)
    assert a.rebuild is not None and torch.equal(a.rebuild()[0].weight, a.module[0].weight)
