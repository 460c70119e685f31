"""The ``check`` fixture: a NodeRF's size, stride, padding (and min_size) against hand counts.

Conventions: per spatial axis, size r, effective stride S and effective padding P; output
pixel i sees input pixels [i·S − P, i·S − P + r − 1]; centre offset of pixel 0 =
(r − 1)/2 − P.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest

from convscope.passes.receptive.result import NodeRF


def _check(
    r: NodeRF,
    size: Sequence[float],
    stride: Sequence[float],
    padding: Sequence[float],
    min_size: Sequence[float] | None = None,
) -> None:
    assert r.size == pytest.approx(tuple(size))
    assert r.stride == pytest.approx(tuple(stride))
    assert r.padding == pytest.approx(tuple(padding))
    if min_size is not None:
        assert r.min_size == pytest.approx(tuple(min_size))


@pytest.fixture
def check() -> Callable[..., None]:
    return _check
