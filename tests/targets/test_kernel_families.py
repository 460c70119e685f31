"""Kernel families: how a call beyond the samples is divided into pieces."""

from __future__ import annotations

import numpy as np

from convscope.targets.kernel_families import FAMILIES, split_rows


def test_a_large_call_is_cut_the_way_its_pieces_read_least_again() -> None:
    family = FAMILIES["linear"]
    rows = np.array([[1, 257, 5120, 1280, 1], [1, 257, 1280, 5120, 1], [192, 49, 32, 49, 0]])
    got = split_rows(family, rows.astype(float), np.array([4.0, 4.0, 2.0]))
    assert got.tolist() == [
        [1, 257, 1280, 1280, 1],  # k: the pieces rewrite the 257×1280 output only
        [1, 257, 1280, 1280, 1],  # n: they re-read the 257×1280 input only
        [96, 49, 32, 49, 0],  # the batch's matrices are independent
    ]
    conv = np.array(
        [
            [1, 16, 16, 1, 9, 1, 4096, 4096, 0],  # a large map, small weights: cut the map
            [1, 1024, 1024, 1, 9, 1, 196, 196, 0],  # a small map, large weights: cut cout
            [1, 2048, 2048, 8, 9, 1, 196, 196, 0],  # grouped: cut the groups
            [1, 512, 512, 2, 9, 1, 196, 196, 0],  # fewer groups than pieces: cut the map
        ],
        dtype=float,
    )
    assert split_rows(FAMILIES["conv.dense"], conv[:2], np.array([4.0, 4.0])).tolist() == [
        [1, 16, 16, 1, 9, 1, 1024, 1024, 0],
        [1, 1024, 256, 1, 9, 1, 196, 196, 0],
    ]
    assert split_rows(FAMILIES["conv.grouped"], conv[2:], np.array([4.0, 4.0])).tolist() == [
        [1, 512, 512, 2, 9, 1, 196, 196, 0],
        [1, 512, 512, 2, 9, 1, 49, 49, 0],
    ]
