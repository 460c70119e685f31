"""The tracer: what it records, and that it never changes the user's model."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from convscope.errors import TraceError
from convscope.ir import graph as ir
from convscope.trace.recorder import trace


class Functional(nn.Module):
    """Functional calls that forward hooks cannot see."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.randn(8, 3, 3, 3))
        self.proj = nn.Parameter(torch.randn(8, 4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.conv2d(x, self.w, padding=1)
        y = y + y.relu()
        return y.mean((2, 3)) @ self.proj


class SharedParent(nn.Module):
    """One conv module used by two parents (and twice in total)."""

    def __init__(self) -> None:
        super().__init__()
        shared = nn.Conv2d(4, 4, 3, padding=1)
        self.a = nn.Sequential(shared, nn.ReLU())
        self.b = nn.Sequential(shared, nn.ReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.b(self.a(x))


class Tied(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.enc = nn.Linear(16, 16, bias=False)
        self.dec = nn.Linear(16, 16, bias=False)
        self.dec.weight = self.enc.weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dec(self.enc(x))


class DataDependent(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        if y.sum().item() > 1e30:  # needs real data
            return y * 2
        return y


def test_functional_ops_are_recorded_and_owned_by_root() -> None:
    g = trace(Functional(), (torch.empty(1, 3, 8, 8),))
    kinds = [n.kind for n in g.nodes]
    assert ir.OpKind.CONV in kinds and ir.OpKind.LINEAR in kinds
    conv = next(n for n in g.nodes if n.kind is ir.OpKind.CONV)
    assert conv.module == "" and conv.params == ("w",)
    assert isinstance(conv.attrs, ir.ConvAttrs) and conv.attrs.padding == (1, 1)
    mm = next(n for n in g.nodes if n.kind is ir.OpKind.LINEAR)
    assert mm.params == ("proj",)
    assert isinstance(mm.attrs, ir.LinearAttrs) and mm.attrs.weight


def test_dataflow_edges_link_producers_and_consumers() -> None:
    g = trace(nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU()), (torch.empty(1, 3, 8, 8),))
    conv = next(n for n in g.nodes if n.kind is ir.OpKind.CONV)
    relu = next(n for n in g.nodes if n.kind is ir.OpKind.ACTIVATION)
    assert conv.inputs == (g.inputs[0].id,)
    assert relu.inputs == (conv.outputs[0].id,)
    assert list(g.predecessors(relu)) == [conv]
    assert list(g.successors(conv)) == [relu]
    assert g.outputs == (relu.outputs[0].id,)
    assert conv.module == "0" and relu.module == "1"


def test_shared_module_counted_once_but_run_twice() -> None:
    m = SharedParent()
    g = trace(m, (torch.empty(1, 4, 8, 8),))
    convs = [n for n in g.nodes if n.kind is ir.OpKind.CONV]
    assert len(convs) == 2
    # each run is named where it happens: under the parent that called it
    assert [n.module for n in convs] == ["a.0", "b.0"]
    weights = [p for p in g.params if not p.is_buffer]
    assert sorted(p.name for p in weights) == ["a.0.bias", "a.0.weight"]  # counted once
    assert g.module["a.0"].calls == 1 and g.module["b.0"].calls == 1


class OneActivation(nn.Module):
    """One ReLU instance registered in every block, and two names for it in one block."""

    def __init__(self) -> None:
        super().__init__()
        act = nn.ReLU()
        self.blocks = nn.ModuleList(nn.Sequential(nn.Conv2d(4, 4, 1), act) for _ in range(3))
        self.first, self.second = act, act  # two names under the root

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = block(x)
        return self.second(self.first(x) + 1)


def test_shared_activation_is_named_where_it_runs() -> None:
    g = trace(OneActivation(), (torch.empty(1, 4, 8, 8),))
    acts = [n.module for n in g.nodes if n.kind is ir.OpKind.ACTIVATION]
    # the caller's own name for it; two names under one caller are taken in call order
    assert acts == ["blocks.0.1", "blocks.1.1", "blocks.2.1", "first", "second"]
    assert all(g.module[p].calls == 1 for p in acts)


def test_tied_weights_are_one_owner_with_alias() -> None:
    g = trace(Tied(), (torch.empty(2, 16),))
    assert len(g.params) == 1
    assert g.params[0].name == "enc.weight" and g.params[0].aliases == ("dec.weight",)
    assert g.param["dec.weight"] is g.params[0]


def test_model_is_not_modified() -> None:
    m = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Dropout(0.5))
    m.train()
    m[1].eval()  # a mixed train/eval state must come back exactly
    before_state = copy.deepcopy(m.state_dict())
    before_attrs = {name: sorted(vars(mod)) for name, mod in m.named_modules()}
    trace(m, (torch.randn(1, 3, 8, 8),))
    assert [mod.training for mod in m.modules()] == [True, True, False, True]
    assert all(p.device.type == "cpu" and not p.is_meta for p in m.parameters())
    for k, v in m.state_dict().items():
        assert torch.equal(v, before_state[k]), k
    assert {name: sorted(vars(mod)) for name, mod in m.named_modules()} == before_attrs
    assert not m._forward_hooks and not m._forward_pre_hooks
    assert not torch.nn.modules.module._global_forward_hooks
    assert not torch.nn.modules.module._global_forward_pre_hooks


def test_meta_trace_runs_real_model_without_touching_weights() -> None:
    m = nn.Conv2d(3, 8, 3)
    g = trace(m, (torch.randn(1, 3, 16, 16),))
    assert g.mode == "meta" and g.fallback_reason is None
    assert not m.weight.is_meta


def test_fallback_to_cpu_is_reported() -> None:
    g = trace(DataDependent(), (torch.empty(1, 3, 8, 8, device="meta"),))
    assert g.mode == "cpu"
    assert g.fallback_reason is not None and "meta" in g.fallback_reason


def test_meta_model_without_rebuild_cannot_fall_back() -> None:
    with torch.device("meta"):
        m = DataDependent()
    with pytest.raises(TraceError, match="no real copy"):
        trace(m, (torch.empty(1, 3, 8, 8),))


def test_meta_model_falls_back_through_rebuild() -> None:
    with torch.device("meta"):
        m = DataDependent()
    g = trace(m, (torch.empty(1, 3, 8, 8),), rebuild=DataDependent)
    assert g.mode == "cpu"


def test_wrong_input_shape_names_the_layer() -> None:
    m = nn.Sequential(nn.Conv2d(3, 8, 3), nn.Conv2d(4, 8, 3))
    with pytest.raises(TraceError, match=r"layer '1' \(Conv2d\)"):
        trace(m, (torch.randn(1, 3, 16, 16),))


def test_views_alias_storage_and_inplace_ops_too() -> None:
    class M(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = x.relu()
            y.add_(1)
            return y.flatten(1)

    g = trace(M(), (torch.empty(1, 2, 4, 4),))
    relu, add, view = (n for n in g.nodes if n.kind is not ir.OpKind.CREATE)
    assert add.outputs[0].storage == relu.outputs[0].id
    assert view.kind is ir.OpKind.VIEW and view.outputs[0].storage == relu.outputs[0].id
    assert isinstance(view.attrs, ir.ViewAttrs) and view.attrs.flattens_spatial


def test_multiple_inputs_and_dict_outputs() -> None:
    class Two(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = nn.Linear(4, 4)

        def forward(self, x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
            return {"sum": self.a(x) + y, "x": x}

    g = trace(Two(), (torch.empty(2, 4), torch.empty(2, 4)))
    assert len(g.inputs) == 2
    assert len(g.outputs) == 2


# --------------------------------------------------------------------------- robustness
# Patterns found by the zoo sweep (benchmarks/zoo.py), each reproduced by a small module.


class ListOfImages(nn.Module):
    """Takes a list of differently sized images, as torchvision's detection models do."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, images: list[torch.Tensor]) -> list[torch.Tensor]:
        return [self.conv(img.unsqueeze(0)) for img in images]


class ListThenNonzero(ListOfImages):
    """List input and a data-dependent op (``nonzero``, as in NMS): meta cannot run it."""

    def forward(self, images: list[torch.Tensor]) -> list[torch.Tensor]:
        outs = super().forward(images)
        return [o[o.flatten(1).sum(1).nonzero()[:, 0]] for o in outs]


class HalfMeta(nn.Module):
    """A model whose parameters are on meta but a buffer is real (partly built on meta)."""

    def __init__(self) -> None:
        super().__init__()
        with torch.device("meta"):
            self.conv = nn.Conv2d(3, 4, 3)
        self.register_buffer("scale", torch.ones(4, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x) * self.scale
        if y.sum().item() > 1e30:  # needs real data
            return y * 2
        return y


def test_list_of_tensors_input_is_registered_on_meta() -> None:
    images = [torch.empty(3, 8, 8), torch.empty(3, 10, 12)]
    g = trace(ListOfImages(), (images,))
    assert g.mode == "meta"
    assert [t.shape for t in g.inputs] == [(3, 8, 8), (3, 10, 12)]
    convs = [n for n in g.nodes if n.kind is ir.OpKind.CONV]
    assert len(convs) == 2
    # the convs read the registered inputs (through unsqueeze views)
    unsqueezes = [n for n in g.nodes if n.kind is ir.OpKind.VIEW]
    assert sorted(i for n in unsqueezes for i in n.inputs) == sorted(t.id for t in g.inputs)


def test_nested_inputs_in_dicts_and_tuples_are_registered() -> None:
    class Nested(nn.Module):
        def forward(self, batch: dict[str, tuple[torch.Tensor, torch.Tensor]]) -> torch.Tensor:
            a, b = batch["pair"]
            return a + b

    g = trace(Nested(), ({"pair": (torch.empty(2, 3), torch.empty(2, 3))},))
    assert len(g.inputs) == 2
    add = next(n for n in g.nodes if n.kind is ir.OpKind.ELEMENTWISE)
    assert set(add.inputs) == {t.id for t in g.inputs}


def test_cpu_fallback_makes_nested_meta_inputs_real() -> None:
    """Meta images inside a list must become real tensors for the CPU run (they used to
    stay on meta and fail with a device mismatch)."""
    images = [torch.empty(3, 8, 8, device="meta"), torch.empty(3, 9, 9, device="meta")]
    g = trace(ListThenNonzero(), (images,))
    assert g.mode == "cpu"
    assert [t.shape for t in g.inputs] == [(3, 8, 8), (3, 9, 9)]
    assert g.fallback_reason is not None
    assert g.fallback_reason.startswith("meta tracing failed")
    assert "nonzero" in g.fallback_reason


def test_fallback_reason_names_the_failing_layer_and_error() -> None:
    class Inner(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x[x > 0]  # boolean mask: data-dependent size

    m = nn.Sequential(nn.Conv2d(3, 4, 3), Inner())
    g = trace(m, (torch.empty(1, 3, 8, 8),))
    assert g.mode == "cpu"
    assert g.fallback_reason is not None
    assert "layer '1' (Inner)" in g.fallback_reason
    assert "Error" in g.fallback_reason  # the exception type is stated


def test_partly_meta_model_falls_back_through_rebuild_not_meta_weights() -> None:
    g = trace(HalfMeta(), (torch.empty(1, 3, 8, 8),), rebuild=_real_half_meta)
    assert g.mode == "cpu" and g.fallback_reason is not None
    with pytest.raises(TraceError, match="no real copy"):
        trace(HalfMeta(), (torch.empty(1, 3, 8, 8),))


def _real_half_meta() -> nn.Module:
    m = HalfMeta()
    m.conv = nn.Conv2d(3, 4, 3)
    return m


def test_failing_rebuild_is_one_clear_error() -> None:
    def broken() -> nn.Module:
        raise RuntimeError("checkpoint vanished")

    with torch.device("meta"):
        m = DataDependent()
    with pytest.raises(TraceError, match=r"building a real CPU copy.*checkpoint vanished"):
        trace(m, (torch.empty(1, 3, 8, 8),), rebuild=broken)


def test_rebuild_that_returns_meta_is_refused() -> None:
    def still_meta() -> nn.Module:
        with torch.device("meta"):
            return DataDependent()

    with torch.device("meta"):
        m = DataDependent()
    with pytest.raises(TraceError, match="still has meta"):
        trace(m, (torch.empty(1, 3, 8, 8),), rebuild=still_meta)


def _lazy() -> nn.Module:
    return nn.Sequential(nn.LazyConv2d(8, 3), nn.LazyBatchNorm2d(), nn.Flatten(), nn.LazyLinear(10))


def test_lazy_modules_are_materialized_on_a_copy() -> None:
    model = _lazy()
    rng = torch.get_rng_state()
    grad = torch.is_grad_enabled()
    g = trace(model, (torch.empty(2, 3, 16, 16, device="meta"),))
    shapes = {p.name: p.shape for p in g.params}
    assert shapes["0.weight"] == (8, 3, 3, 3) and shapes["3.weight"] == (10, 8 * 14 * 14)
    assert shapes["1.running_mean"] == (8,)
    # the user's model is still lazy; torch's RNG and grad mode are untouched
    assert isinstance(model[0].weight, nn.parameter.UninitializedParameter)
    assert isinstance(model[1].running_mean, nn.parameter.UninitializedBuffer)
    assert torch.equal(torch.get_rng_state(), rng) and torch.is_grad_enabled() == grad
    assert model.training


def test_lazy_module_whose_forward_fails_is_refused_clearly() -> None:
    model = nn.Sequential(nn.LazyConv2d(4, 3), nn.Linear(5, 2))  # 14 features reach Linear(5)
    with pytest.raises(TraceError, match=r"lazy module '0' \(LazyConv2d\) has uninitialized"):
        trace(model, (torch.empty(1, 3, 16, 16),))
    assert isinstance(model[0].weight, nn.parameter.UninitializedParameter)
