"""Layouts through views against hand-written dimension maps (pure, no graph)."""

from __future__ import annotations

from convscope.passes.receptive import layout as lay
from convscope.passes.receptive.layout import MERGED, OTHER

NCHW = (((OTHER, 1),), ((OTHER, 3),), ((0, 8),), ((1, 9),))
NHWC = (((OTHER, 1),), ((0, 8),), ((1, 9),), ((OTHER, 3),))


def test_standard_layout_puts_axes_after_batch_and_channels() -> None:
    assert lay.standard((1, 3, 8, 9), 2) == NCHW
    assert lay.layout_dims(NCHW, 2) == (2, 3)
    assert lay.layout_dims(NHWC, 2) == (1, 2)


def test_dim_axis() -> None:
    assert lay.dim_axis(((0, 8),)) == 0
    assert lay.dim_axis(((OTHER, 1), (1, 9))) == 1  # unit atoms do not count
    assert lay.dim_axis(((0, 1),)) == 0  # a spatial axis squeezed to one pixel
    assert lay.dim_axis(((0, 8), (1, 9))) == MERGED
    assert lay.dim_axis(((OTHER, 3),)) is None


def test_permute_by_sizes() -> None:
    assert lay.permute(NCHW, (1, 3, 8, 9), (1, 8, 9, 3)) == NHWC
    assert lay.permute(NCHW, (1, 3, 8, 9), (1, 8, 9, 4)) is None


def test_reshape_merges_and_splits_but_never_cuts_a_spatial_axis() -> None:
    # the [N·H·W, C] view nn.Linear uses: H and W merged into one dim
    flat = lay.reshape(NHWC, (72, 3))
    assert flat == (((OTHER, 1), (0, 8), (1, 9)), ((OTHER, 3),))
    assert flat is not None and lay.dim_axis(flat[0]) == MERGED
    assert lay.reshape(flat, (1, 8, 9, 3)) == (
        ((OTHER, 1),),
        ((0, 8),),
        ((1, 9),),
        ((OTHER, 3),),
    )
    # channels split freely
    split = lay.reshape(NCHW, (1, 3, 1, 8, 9))
    assert split is not None and split[:2] == (((OTHER, 1),), ((OTHER, 3),))
    # window partition cuts H = 8 into 2 × 4: lost
    assert lay.reshape(NCHW, (1, 3, 2, 4, 9)) is None


def test_subsequence_views() -> None:
    # selecting the batch index keeps the axes; selecting a row of H loses them
    assert lay.subsequence(NCHW, (1, 3, 8, 9), (3, 8, 9)) == NCHW[1:]
    assert lay.subsequence(NCHW, (1, 3, 8, 9), (1, 3, 9)) is None
    # expand adds a leading dim
    assert lay.subsequence(NCHW, (1, 3, 8, 9), (2, 1, 3, 8, 9)) == (((OTHER, 2),), *NCHW)


def test_broadcast_of_a_gate_keeps_the_map_layout() -> None:
    gate = (((OTHER, 1),), ((OTHER, 3),), ((0, 1),), ((1, 1),))
    out, changed = lay.broadcast([NCHW, gate], [(1, 3, 8, 9), (1, 3, 1, 1)], (1, 3, 8, 9))
    assert out == NCHW and not changed
    assert lay.broadcast([None, None], [(1,), (1,)], (1,)) == (None, False)


def test_bmm_takes_rows_then_columns() -> None:
    a = (((OTHER, 1),), ((0, 8),), ((OTHER, 4),))
    b = (((OTHER, 1),), ((OTHER, 4),), ((1, 9),))
    assert lay.bmm(a, b, (1, 8, 9)) == (((OTHER, 1),), ((0, 8),), ((1, 9),))
    assert lay.bmm(a, None, (1, 8, 9)) is None
