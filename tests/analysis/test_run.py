"""The library entry point with keyword inputs: ``analyze(model, kwargs=...)``, a dict of
keyword inputs, ``ModelInputs`` and keyword-only ``forward`` arguments all trace the same
work as the positional call, and missing arguments are named."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import convscope
from convscope.analysis.run import as_inputs
from convscope.errors import InputError
from convscope.model.arguments import ModelInputs

# conv 3→8 3×3 on 16×16 (8·256·27) + head 8→4 1×1 (4·256·8)
MACS = 8 * 16 * 16 * 3 * 9 + 4 * 16 * 16 * 8
IMAGE = (1, 3, 16, 16)


class Positional(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.head = nn.Conv2d(8, 4, 1)

    def forward(self, pixel_values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.head(torch.relu(self.conv(pixel_values)) * mask)


class KeywordOnly(Positional):
    def forward(self, pixel_values: torch.Tensor, *, mask: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return super().forward(pixel_values, mask)


def test_keyword_inputs_count_what_the_positional_call_counts() -> None:
    positional = convscope.analyze(Positional(), [IMAGE, (1, 1, 16, 16)])
    assert positional.totals.macs == MACS
    ways = [
        convscope.analyze(Positional(), kwargs={"pixel_values": IMAGE, "mask": (1, 1, 16, 16)}),
        convscope.analyze(Positional(), {"pixel_values": IMAGE, "mask": (1, 1, 16, 16)}),
        convscope.analyze(KeywordOnly(), [IMAGE], kwargs={"mask": torch.ones(1, 1, 16, 16)}),
        convscope.analyze(
            KeywordOnly(), ModelInputs((torch.zeros(IMAGE),), {"mask": torch.ones(1, 1, 16, 16)})
        ),
    ]
    for a in ways:
        assert a.totals.macs == MACS and a.totals.params == positional.totals.params
        assert [r.macs for r in a.rows] == [r.macs for r in positional.rows]
        assert a.input_shapes == ((1, 3, 16, 16), (1, 1, 16, 16))


def test_keyword_inputs_on_the_cpu_fallback() -> None:
    class DataDependent(KeywordOnly):
        def forward(self, pixel_values: torch.Tensor, *, mask: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
            out = super().forward(pixel_values, mask=mask)
            return out[:, :, : int(mask.sum().item()) % 4 + 1]  # .item() cannot run on meta

    a = convscope.analyze(DataDependent(), [IMAGE], kwargs={"mask": (1, 1, 16, 16)})
    assert a.graph.mode == "cpu" and a.totals.macs == MACS


def test_missing_keyword_only_argument_is_named() -> None:
    with pytest.raises(InputError, match=r"KeywordOnly.forward needs mask .*\{'mask': tensor\}"):
        convscope.analyze(KeywordOnly(), [IMAGE])


def test_as_inputs_forms() -> None:
    assert tuple(as_inputs().args[0].shape) == (1, 3, 224, 224)
    only_kw = as_inputs(kwargs={"x": (1, 2)})
    assert only_kw.args == () and only_kw.kwargs["x"].is_meta  # no default positional input
    with pytest.raises(InputError, match="'x' is given twice"):
        as_inputs({"x": (1, 2)}, kwargs={"x": (1, 2)})
    with pytest.raises(InputError, match="dict of keyword inputs"):
        as_inputs(3)
